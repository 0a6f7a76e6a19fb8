"""The maildrop lock: one POP3 session per maildrop at a time (RFC 1939 section 8).

A non-blocking flock(2) on a file in the user's store root, held from the
moment the session enters the TRANSACTION state until it ends, however it
ends: QUIT, a dropped connection, a crash (the kernel releases the lock of a
dead process). IMAP sessions and deliveries never look at it: POP3 shares
the mailbox with them through the store, and only POP3 sessions exclude each
other.

INBOX's lock is {user root}/pillarbox-pop3.lock; a popsubfolders maildrop
has its own, {user root}/pillarbox-pop3<.Folder.Dir>.lock, so different
folders of one user can be polled at once.
"""

from __future__ import annotations

import errno
import fcntl
import os

from pillarbox import mailboxname

LOCK_PREFIX = "pillarbox-pop3"


def lock_path(root: str, mailbox: str) -> str:
    return os.path.join(root, f"{LOCK_PREFIX}{mailboxname.to_maildir(mailbox)}.lock")


class MaildropLock:
    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another session holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)          # closing the only descriptor drops the flock
            self.fd = None

    @property
    def held(self) -> bool:
        return self.fd is not None
