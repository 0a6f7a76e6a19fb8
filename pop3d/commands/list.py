"""LIST [msg]: the exact size in octets (as RETR sends it, before byte-stuffing)."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 1, "LIST [message]")
    maildrop = server.maildrop
    if command.args:
        message = args.message(server, command.args[0])
        return protocol.ok(f"{message.number} {message.size}")
    count, octets = maildrop.stat()
    return protocol.multiline(f"{count} messages ({octets} octets)",
                              (f"{m.number} {m.size}" for m in maildrop.present()))
