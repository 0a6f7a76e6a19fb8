"""Immutable views of index rows handed to the protocol daemons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


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


class MessageRecord(NamedTuple):
    """One message's index data. A NamedTuple: a SELECT of 100,000 messages builds
    100,000 of these, and a frozen dataclass costs ~4x more to construct."""
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
        return cls(row[0], _flag_set(row[1]), row[2], row[3], row[4], row[5], row[6], row[7])


_FLAG_SETS: dict[str, frozenset[str]] = {}


def _flag_set(text: str) -> frozenset[str]:
    """Most messages share a handful of flag combinations: share their sets too."""
    flags = _FLAG_SETS.get(text)
    if flags is None:
        flags = frozenset(text.split()) if text else frozenset()
        if len(_FLAG_SETS) < 4096:
            _FLAG_SETS[text] = flags
    return flags


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
