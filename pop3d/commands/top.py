"""TOP msg n: the header, the blank line, and the first n lines of the body."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 2, 2, "TOP message lines")
    message = args.message(server, command.args[0])
    lines = args.number(command.args[1], "line count")
    data = server.maildrop.read(message)
    server.counts["top"] += 1
    return protocol.message_response("top of message follows", protocol.top(data, lines))
