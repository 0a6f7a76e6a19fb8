"""RSET: unmark every message marked deleted in this session."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 0, "RSET")
    server.maildrop.reset()
    count, octets = server.maildrop.stat()
    return protocol.ok(f"maildrop has {count} message{'' if count == 1 else 's'} ({octets} octets)")
