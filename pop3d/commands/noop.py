"""NOOP."""

from pop3d import protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 0, "NOOP")
    return protocol.ok()
