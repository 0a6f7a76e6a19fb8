"""STAT: "+OK count octets" of the messages not marked deleted."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 0, "STAT")
    count, octets = server.maildrop.stat()
    return protocol.ok(f"{count} {octets}")
