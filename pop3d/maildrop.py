"""The maildrop of one POP3 session: a snapshot of a mailbox in the store.

At login the session numbers the mailbox's messages 1..n in UID order and
keeps (UID, size) for each; the numbers never change during the session,
whatever IMAP sessions and deliveries do meanwhile (RFC 1939 section 5).
DELE only marks; RSET unmarks; nothing touches the store before QUIT, when
`commit` applies every mark in one index transaction: the marked messages
get \\Deleted and are expunged (exactly those, never other \\Deleted
messages an IMAP client left behind), and IMAP sessions see EXPUNGE. A
session that ends any other way commits nothing.

The UIDL of a message is built from the mailbox's UIDVALIDITY and the
message's UID (uidl_format), so it stays the same across sessions, IMAP
flag changes and expunges of other messages, and never names another
message: a UID is never reused within a UIDVALIDITY.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pillarbox.store import DELETED, SEEN, MessageNotFound
from pop3d.errors import Err

if TYPE_CHECKING:
    from pillarbox.store import UserStore



def format_uidl(style: str, uidvalidity: int, uid: int) -> str:
    """The unique-id of a message, in Cyrus's uidl_format styles."""
    if style == "uidonly":
        return str(uid)
    if style == "dovecot":
        return f"{uid:08x}{uidvalidity:08x}"
    if style == "courier":
        return f"{uidvalidity}-{uid}"
    return f"{uidvalidity}.{uid}"          # "cyrus", the default


@dataclass
class Message:
    number: int
    uid: int
    size: int
    deleted: bool = False        # DELE'd in this session
    retrieved: bool = False      # RETR'd in this session (popuseimapflags marks it \Seen at QUIT)


class Maildrop:
    def __init__(self, store: "UserStore", mailbox: str, uidvalidity: int, messages: list[Message],
                 uidl_style: str = "cyrus"):
        self.store = store
        self.mailbox = mailbox
        self.uidvalidity = uidvalidity
        self.messages = messages
        self.uidl_style = uidl_style

    @classmethod
    def open(cls, store: "UserStore", mailbox: str, *, hide_deleted: bool = False,
             uidl_style: str = "cyrus") -> "Maildrop":
        """Snapshot `mailbox` (MailboxNotFound if it does not exist)."""
        info = store.info(mailbox)
        records = [r for r in store.messages(mailbox) if not (hide_deleted and DELETED in r.flags)]
        messages = [Message(number, record.uid, record.size) for number, record in enumerate(records, 1)]
        return cls(store, mailbox, info.uidvalidity, messages, uidl_style)

    # ------------------------------------------------------------ looking

    def message(self, number: int | None) -> Message:
        """Message `number`, which must exist and not be marked deleted."""
        if number is None or not 1 <= number <= len(self.messages):
            raise Err("no such message")
        message = self.messages[number - 1]
        if message.deleted:
            raise Err(f"message {number} already deleted")
        return message

    def present(self) -> list[Message]:
        return [m for m in self.messages if not m.deleted]

    def stat(self) -> tuple[int, int]:
        present = self.present()
        return len(present), sum(m.size for m in present)

    def uidl(self, message: Message) -> str:
        return format_uidl(self.uidl_style, self.uidvalidity, message.uid)

    def read(self, message: Message) -> bytes:
        """The message as served (CRLF line ends), straight from the store."""
        try:
            return self.store.read_message(self.mailbox, message.uid)
        except MessageNotFound:
            raise Err(f"message {message.number} was removed by another session") from None

    # ------------------------------------------------------------ changing

    def delete(self, message: Message) -> None:
        message.deleted = True

    def reset(self) -> None:
        """RSET: forget the session's marks, as Cyrus does (DELE and RETR alike)."""
        for message in self.messages:
            message.deleted = False
            message.retrieved = False

    def commit(self, *, mark_seen: bool = False) -> int:
        """The UPDATE state: apply the marks in one transaction. Returns how
        many messages were removed (fewer than marked if an IMAP session
        expunged some meanwhile)."""
        doomed = [m.uid for m in self.messages if m.deleted]
        seen = [m.uid for m in self.messages if m.retrieved and not m.deleted] if mark_seen else []
        if not doomed and not seen:
            return 0
        with self.store.index.write():
            if seen:
                self.store.store_flags(self.mailbox, seen, "add", [SEEN])
            if not doomed:
                return 0
            self.store.store_flags(self.mailbox, doomed, "add", [DELETED])
            return len(self.store.expunge(self.mailbox, uids=doomed))
