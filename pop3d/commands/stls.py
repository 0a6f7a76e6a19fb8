"""STLS (RFC 2595 section 4): +OK, then the TLS handshake; anything the client
pipelined after STLS is discarded, and a half-done USER is forgotten."""

from pop3d import protocol
from pop3d.commands import args
from pop3d.errors import Err


def handle(server, command):
    args.count(command, 0, 0, "STLS")
    if server.conn.tls:
        raise Err("TLS is already active")
    if not server.session.tls_available():
        raise Err("STLS is not available here (no certificate configured)")
    server.send(protocol.ok("begin TLS negotiation"))
    server.flush()
    server.given_user = None
    server.session.start_tls()
    return b""
