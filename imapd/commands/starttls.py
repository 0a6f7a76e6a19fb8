"""STARTTLS: reply OK, then negotiate; anything pipelined after the command is discarded."""

from imapd import args
from imapd.commands.dispatch import NO_REPLY
from imapd.errors import Bad
from imapd.protocol.formatter import tagged


def handle(server, command):
    args.count(command.args, 0)
    if server.conn.tls:
        raise Bad("TLS is already active")
    if not server.session.tls_available():
        raise Bad("STARTTLS is not available here (no certificate configured)")
    server.send(tagged(command.tag, "OK", "begin TLS negotiation now"))
    server.flush()
    server.session.start_tls()
    return NO_REPLY
