"""DELE msg: mark for deletion at QUIT; nothing changes in the store before then."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 1, 1, "DELE message")
    message = args.message(server, command.args[0])
    server.maildrop.delete(message)
    server.counts["dele"] += 1
    return protocol.ok(f"message {message.number} deleted")
