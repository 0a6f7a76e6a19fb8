from imapd import args
from imapd.capabilities import listing


def handle(server, command):
    args.count(command.args, 0)
    server.untagged("CAPABILITY " + listing(server))
