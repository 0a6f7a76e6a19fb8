"""From a proven identity to the TRANSACTION state (Cyrus's openinbox).

In order: the session limits (maxlogins_per_user/host), the user's store,
the maildrop's mailbox (INBOX, or a popsubfolders folder), its lock
([IN-USE] if another POP3 session has it), popminpoll ([LOGIN-DELAY]), and
the snapshot of the messages. Any refusal leaves the session in the
AUTHORIZATION state with nothing held, so the client may try again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pillarbox import log
from pillarbox.store import MailboxNotFound, StoreError, UserStore
from pop3d import protocol
from pop3d.errors import IN_USE, LOGIN_DELAY, SYS_PERM, SYS_TEMP, Err
from pop3d.lock import MaildropLock, lock_path
from pop3d.logindelay import check_and_record
from pop3d.maildrop import Maildrop
from pop3d.subfolders import BadFolder, mailbox_for

if TYPE_CHECKING:
    from pop3d.session import Pop3Server


def open_maildrop(server: "Pop3Server", user: str, folder: str | None, mechanism: str) -> bytes:
    """Enter the TRANSACTION state as `user`, or raise Err."""
    config = server.config
    _check_limits(server, user)
    try:
        mailbox = mailbox_for(config, folder)
    except BadFolder as error:
        _refused(server, user, f"invalid folder {folder!r}: {error}")
        raise Err(f"no such maildrop: {error}", SYS_PERM) from None
    try:
        store = UserStore.open(config, user)
    except StoreError as error:
        log.error(f"cannot open the store of {user}: {error} session={server.session.id}")
        raise Err("maildrop service unavailable; try again later", SYS_TEMP) from None
    lock = None
    try:
        store.info(mailbox)                    # MailboxNotFound before any lock file is made
        lock = MaildropLock(lock_path(store.root, mailbox))
        if not lock.acquire():
            lock = None
            _refused(server, user, f"maildrop {mailbox} in use by another POP3 session")
            raise Err("maildrop already locked by another POP3 session", IN_USE)
        minpoll = config.getduration("popminpoll")
        remaining = check_and_record(store, mailbox, time.time(), minpoll, config.getint("poppollpadding"))
        if remaining:
            _refused(server, user, f"popminpoll: {int(remaining + 0.999)}s to go")
            raise Err(f"logins must be at least {_minutes(minpoll)} apart", LOGIN_DELAY)
        maildrop = Maildrop.open(store, mailbox, hide_deleted=config.getbool("popuseimapflags"),
                                 uidl_style=config.getstr("uidl_format") or "cyrus")
    except MailboxNotFound:
        _release(store, lock)
        _refused(server, user, f"no mailbox {folder!r}")
        raise Err(f"no such maildrop: {protocol.printable(folder or 'INBOX')}", SYS_PERM) from None
    except StoreError as error:
        _release(store, lock)
        log.error(f"cannot open the maildrop of {user}: {error} session={server.session.id}")
        raise Err("maildrop service unavailable; try again later", SYS_TEMP) from None
    except BaseException:
        _release(store, lock)
        raise
    server.store, server.lock, server.maildrop = store, lock, maildrop
    server.user = user
    server.state = protocol.TRANSACTION
    server.session.login_succeeded(user, mechanism)
    server.guard.logged_in(user, mailbox)
    count, octets = maildrop.stat()
    return protocol.ok(f"{user}'s maildrop has {count} message{'' if count == 1 else 's'} ({octets} octets)")


def _check_limits(server: "Pop3Server", user: str) -> None:
    refusal = server.guard.over_limit(user)
    if refusal:
        raise Err(f"service unavailable: {refusal}", SYS_TEMP)


def _refused(server: "Pop3Server", user: str, reason: str) -> None:
    """The password was right but the maildrop cannot be served: not a badlogin."""
    log.notice(f"maildrop refused: {server.session.peer} {user} [{reason}] session={server.session.id}")


def _release(store: UserStore, lock: MaildropLock | None) -> None:
    if lock is not None:
        lock.release()
    store.close()


def _minutes(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    return f"{int(seconds)} seconds"
