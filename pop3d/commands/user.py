"""USER name (RFC 1939 section 7): the first half of a plaintext login.

Any name is accepted here (whether it exists shows only after PASS, so the
server cannot be probed for user names). Refused before TLS unless
plaintext is allowed (RFC 2595 section 4; allowplaintext)."""

from pop3d import protocol
from pop3d.capabilities import plaintext_allowed
from pop3d.commands import args
from pop3d.errors import AUTH, Err


def handle(server, command):
    if not plaintext_allowed(server):
        raise Err("plaintext authentication is disabled until STLS", AUTH)
    args.count(command, 1, 1, "USER name")
    server.given_user = command.args[0]
    return protocol.ok("send PASS")
