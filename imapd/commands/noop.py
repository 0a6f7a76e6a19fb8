"""NOOP and CHECK: nothing to do but report what changed (done by the server after every command)."""

from imapd import args


def handle(server, command):
    args.count(command.args, 0)
