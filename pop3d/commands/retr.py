"""RETR msg: the whole message, dot-stuffed, in one write."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 1, 1, "RETR message")
    message = args.message(server, command.args[0])
    data = server.maildrop.read(message)
    message.retrieved = True
    server.counts["retr"] += 1
    return protocol.message_response(f"{message.size} octets", data)
