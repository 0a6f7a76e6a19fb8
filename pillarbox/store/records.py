"""Immutable views of index rows handed to the protocol daemons."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailboxInfo:
    name: str
    mailboxid: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    deleted: int
    size: int
    special_use: str | None
    recent_uid: int

    @classmethod
    def from_row(cls, row) -> "MailboxInfo":
        return cls(row["name"], row["mailboxid"], row["uidvalidity"], row["uidnext"], row["highestmodseq"],
                   row["messages"], row["unseen"], row["deleted"], row["size"], row["special_use"],
                   row["recent_uid"])


@dataclass(frozen=True)
class MessageRecord:
    uid: int
    flags: frozenset[str]
    modseq: int
    internaldate: int
    savedate: int
    size: int
    emailid: str | None
    threadid: str | None

    @classmethod
    def from_row(cls, row) -> "MessageRecord":
        flags = frozenset(row["flags"].split()) if row["flags"] else frozenset()
        return cls(row["uid"], flags, row["modseq"], row["internaldate"], row["savedate"], row["size"],
                   row["emailid"], row["threadid"])


@dataclass(frozen=True)
class Changes:
    """What changed in a mailbox since a MODSEQ: for untagged FETCH/EXPUNGE/VANISHED."""
    updated: list[MessageRecord]      # new or changed messages, by UID
    expunged: list[int]               # UIDs
    highestmodseq: int
    uidnext: int
    uidvalidity: int


@dataclass(frozen=True)
class AppendResult:
    uidvalidity: int
    uid: int
