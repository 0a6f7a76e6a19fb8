"""What can go wrong in the store, with enough context for a protocol reply."""

from __future__ import annotations


class StoreError(Exception):
    """Base class; str() is a sentence fit for an IMAP NO / POP3 -ERR / LMTP reply."""


class UserNotFound(StoreError):
    pass


class MailboxNotFound(StoreError):
    """IMAP: NO [NONEXISTENT] (or [TRYCREATE] for APPEND/COPY/MOVE targets)."""

    def __init__(self, name: str):
        super().__init__(f"mailbox {name!r} does not exist")
        self.name = name


class MailboxExists(StoreError):
    """IMAP: NO [ALREADYEXISTS]."""

    def __init__(self, name: str):
        super().__init__(f"mailbox {name!r} already exists")
        self.name = name


class InvalidMailboxName(StoreError):
    """IMAP: NO [CANNOT]."""


class MailboxNotEmptyOrSpecial(StoreError):
    """An operation a mailbox does not allow (deleting INBOX, ...). IMAP: NO [CANNOT]."""


class QuotaExceeded(StoreError):
    """IMAP: NO [OVERQUOTA]; LMTP 452 4.2.2 / 552 5.2.2."""

    def __init__(self, resource: str, used: int, limit: int, adding: int):
        unit = "KiB" if resource == "STORAGE" else "messages"
        super().__init__(f"over quota: {resource} would be {used + adding} {unit}, limit {limit} {unit}")
        self.resource = resource
        self.used = used
        self.limit = limit


class MessageNotFound(StoreError):
    """The message was expunged (by this or another session)."""

    def __init__(self, mailbox: str, uid: int):
        super().__init__(f"message UID {uid} in {mailbox!r} no longer exists")
        self.mailbox = mailbox
        self.uid = uid
