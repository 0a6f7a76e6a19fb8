"""ENABLE (RFC 5161): CONDSTORE, QRESYNC (implies CONDSTORE), IMAP4rev2, UTF8=ACCEPT."""

from imapd import args
from imapd.capabilities import ENABLEABLE
from imapd.errors import Bad


def handle(server, command):
    if not command.args:
        raise Bad("ENABLE needs at least one capability")
    newly = []
    for token in command.args:
        name = args.atom(token, "capability").upper()
        if name in ENABLEABLE and name not in server.enabled:
            server.enabled.add(name)
            newly.append("IMAP4rev2" if name == "IMAP4REV2" else name)
            if name == "QRESYNC":
                server.enabled.add("CONDSTORE")
    server.untagged("ENABLED" + "".join(" " + n for n in newly))
