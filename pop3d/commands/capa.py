"""CAPA (RFC 2449 section 5): the capabilities of the current state."""

from pop3d import capabilities, protocol
from pop3d.commands import args


def handle(server, command):
    args.count(command, 0, 0, "CAPA")
    return protocol.multiline("capability list follows", capabilities.listing(server))
