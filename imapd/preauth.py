"""Courier's invocation: `imapd ./Maildir` (or MAILDIR=...) from a shell greets
with PREAUTH and serves that Maildir to the user running it."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

from pillarbox.service import Session
from pillarbox.store import UserStore
from pillarbox.store.index import open_index

if TYPE_CHECKING:
    from imapd.server import ImapServer


def shell_maildir(session: Session) -> str | None:
    if session.conn.is_socket:
        return None
    return (session.options.args[0] if session.options.args else None) or os.environ.get("MAILDIR") or None


def start(server: "ImapServer") -> None:
    from imapd import capabilities
    from imapd.server import AUTHENTICATED
    maildir = os.path.abspath(shell_maildir(server.session))
    from pillarbox.store import maildir as files
    files.make_folder(maildir)
    user = getpass.getuser()
    store = UserStore(server.config, user, maildir, open_index(maildir))
    store._ensure_inbox()
    server.store = store
    server.user = user
    server.state = AUTHENTICATED
    server.session.login_succeeded(user, "PREAUTH")
    server.untagged(f"PREAUTH [CAPABILITY {capabilities.listing(server)}] {maildir}: pillarbox IMAP ready")
