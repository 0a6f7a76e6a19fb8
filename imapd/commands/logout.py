from imapd import args


def handle(server, command):
    args.count(command.args, 0)
    server.untagged("BYE pillarbox logging out")
    server.state = "logout"
