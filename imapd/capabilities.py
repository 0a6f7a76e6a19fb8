"""What imapd advertises, in each state. Only what works is listed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pillarbox.sasl import offered_mechanisms

if TYPE_CHECKING:
    from imapd.server import ImapServer

BASE = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "ENABLE", "ID", "SASL-IR"]
AUTHENTICATED = ["IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE",
                 "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "STATUS=SIZE",
                 "MULTIAPPEND", "BINARY", "OBJECTID", "SAVEDATE", "WITHIN", "UTF8=ACCEPT"]
ENABLEABLE = {"CONDSTORE", "QRESYNC", "IMAP4REV2", "UTF8=ACCEPT"}


def listing(server: "ImapServer") -> str:
    caps = list(BASE)
    session = server.session
    if server.user is None:
        if session.tls_available():
            caps.append("STARTTLS")
        if not session.plaintext_allowed():
            caps.append("LOGINDISABLED")
        caps += [f"AUTH={m}" for m in offered_mechanisms(server.config, plaintext_ok=session.plaintext_allowed())]
    else:
        caps += AUTHENTICATED
        limit = server.config.getint("maxmessagesize")
        caps.append(f"APPENDLIMIT={limit}" if limit else "APPENDLIMIT")
    return " ".join(caps)
