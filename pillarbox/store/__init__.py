"""The mail store: Maildir++ folders with a per-user SQLite index.

The protocol daemons use only this package's public names; a second backend
(PostgreSQL index, object-store bodies) would implement the same UserStore
interface.
"""

from pillarbox.store.errors import (InvalidMailboxName, MailboxExists, MailboxNotEmptyOrSpecial, MailboxNotFound,
                                    MessageNotFound, QuotaExceeded, StoreError, UserNotFound)
from pillarbox.store.maildir import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, SYSTEM_FLAGS
from pillarbox.store.records import AppendResult, Changes, MailboxInfo, MessageRecord
from pillarbox.store.userstore import INBOX, PreparedMessage, UserStore, prepare_message

__all__ = ["ANSWERED", "AppendResult", "Changes", "DELETED", "DRAFT", "FLAGGED", "INBOX", "InvalidMailboxName",
           "MailboxExists", "MailboxInfo", "MailboxNotEmptyOrSpecial", "MailboxNotFound", "MessageNotFound",
           "MessageRecord", "PreparedMessage", "QuotaExceeded", "SEEN", "SYSTEM_FLAGS", "StoreError", "UserNotFound", "UserStore", "prepare_message"]
