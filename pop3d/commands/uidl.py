"""UIDL [msg]: the unique-id listing; ids stay the same across sessions (see pop3d.maildrop)."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 1, "UIDL [message]")
    maildrop = server.maildrop
    if command.args:
        message = args.message(server, command.args[0])
        return protocol.ok(f"{message.number} {maildrop.uidl(message)}")
    return protocol.multiline("unique-id listing follows",
                              (f"{m.number} {maildrop.uidl(m)}" for m in maildrop.present()))
