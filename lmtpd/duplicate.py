"""Duplicate delivery suppression (Cyrus's duplicatesuppression), kept in each user's store.

A delivery is identified, as in Cyrus's duplicate database, by the message's
Message-ID, the target folder and the message's Date header. The record
lives in the recipient's own index (its ``meta`` table, key
``lmtp.dup.<hash>``), so it moves and is backed up with the mail.

Two phases, so that no crash can make an MTA's retry store a message twice:

1. claim (its own commit, before anything is written): if a final record
   exists the message is a duplicate. Otherwise the record becomes
   "pending": the time, this transaction's token (the id in the Received
   field lmtpd adds) and the folder's UIDNEXT/HIGHESTMODSEQ.
2. the store's append and the final record (the time) in one commit.

The store renames the message file into cur/ shortly before its COMMIT; a
crash between the two leaves a complete file without its index row, which
the next look at the folder adopts (the store never loses a complete
message). The MTA got no 250 and retries; the claim then finds the pending
record, looks at the few messages that arrived in the folder since (UID
and MODSEQ above what the record noted) for the token, finds the adopted
copy, makes the record final and answers 250 without storing it again. A
crash before the rename leaves no copy, and the retry delivers it.

Messages without a Message-ID are never suppressed. Records (final and
pending) older than the expiry are removed by ``python -m lmtpd.prune``
(run it as an EVENT).
"""

from __future__ import annotations

import hashlib
import time

from pillarbox.mime import msg_ids, split_fields

PREFIX = "lmtp.dup."
PREFIX_END = "lmtp.dup/"           # "/" follows "." : the end of the key range
DEFAULT_EXPIRY_DAYS = 3            # Cyrus's usual cyr_expire -E 3
_HEADER_SCAN_LIMIT = 256 * 1024


def identity(data: bytes) -> tuple[str, str] | None:
    """(Message-ID, Date) of a message as received; None without a usable Message-ID."""
    end = data.find(b"\r\n\r\n", 0, _HEADER_SCAN_LIMIT)
    block = data[:end + 2] if end >= 0 else data[:_HEADER_SCAN_LIMIT]
    message_id = date = None
    for name, value in split_fields(block):
        lowered = name.lower()
        if lowered == "message-id" and message_id is None:
            ids = msg_ids(value)
            message_id = ids[0] if ids else (value.strip() or None)
        elif lowered == "date" and date is None:
            date = " ".join(value.split())
    if not message_id:
        return None
    return message_id, date or ""


def key(message: tuple[str, str], folder: str) -> str:
    message_id, date = message
    digest = hashlib.sha256("\0".join((message_id, folder, date)).encode("utf-8", "surrogateescape"))
    return PREFIX + digest.hexdigest()[:40]


PENDING = "pending"
MAX_SCAN = 50                      # messages looked at for a crashed delivery's copy


def delivered(store, dup_key: str) -> bool:
    """A final record exists: the message is in the folder (or was, and was deleted since)."""
    value = store.index.meta(dup_key)
    return value is not None and PENDING not in value



def record(store, dup_key: str, when: float | None = None) -> None:
    """The final record; inside the delivery's write transaction."""
    store.index.set_meta(dup_key, str(int(when if when is not None else time.time())))


def claim(store, folder: str, dup_key: str, token: str) -> bool:
    """Phase 1. True: already delivered (nothing to do). False: go ahead, the record is pending."""
    info = store.info(folder)
    with store.index.write():
        value = store.index.meta(dup_key)
        if value is not None:
            parts = value.split()
            if PENDING not in parts:
                return True
            if len(parts) == 5 and _find_copy(store, folder, parts[2], int(parts[3]), int(parts[4])):
                record(store, dup_key)
                return True
        store.index.set_meta(dup_key, f"{int(time.time())} {PENDING} {token} {info.uidnext} {info.highestmodseq}")
    return False


def _find_copy(store, folder: str, token: str, uidnext: int, modseq: int) -> bool:
    """Is a message carrying `token` in its Received field among those that arrived since?"""
    from pillarbox.store import MessageNotFound
    arrived = sorted(r.uid for r in store.changes_since(folder, modseq).updated if r.uid >= uidnext)
    needle = f"\tid {token}".encode("ascii", "replace")
    for uid in arrived[:MAX_SCAN]:
        try:
            head = store.read_message(folder, uid)[:8192]
        except MessageNotFound:
            continue
        at = head.find(needle)
        if at >= 0 and head[at + len(needle):at + len(needle) + 1] in (b";", b"\r"):
            return True
    return False


def prune(store, older_than: float) -> int:
    """Remove records made before `older_than` (a time.time()); the number removed.

    The store's Index offers meta()/set_meta() only; removal goes to its meta
    table directly (the one place lmtpd touches the index's SQL)."""
    with store.index.write():
        cursor = store.index.db.execute(
            "DELETE FROM meta WHERE key >= ? AND key < ? AND CAST(value AS INTEGER) <= ?",
            (PREFIX, PREFIX_END, int(older_than)))
        return cursor.rowcount


def count(store) -> int:
    return store.index.db.execute("SELECT count(*) FROM meta WHERE key >= ? AND key < ?",
                                  (PREFIX, PREFIX_END)).fetchone()[0]
