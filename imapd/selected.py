"""The selected mailbox as this session's client knows it (Dovecot's imap-sync).

The client's view (UIDs in sequence order, their flags) changes only through
what this module tells it: EXISTS for arrivals, EXPUNGE or VANISHED for
removals, FETCH for flag changes. Removals seen while a FETCH, STORE or
SEARCH runs are held back (RFC 3501 7.4.1) and told at the next command
that may shift sequence numbers, so a sequence number never means
different messages to the client and to us.
"""

from __future__ import annotations

import bisect

from imapd.protocol.formatter import Raw, format_value
from imapd.protocol.sequence import format_sequence_set
from pillarbox.store import MailboxInfo, MailboxNotFound, MessageRecord, UserStore


class UidValidityChanged(Exception):
    """The mailbox was deleted and recreated behind the session: it must end."""


class SelectedMailbox:
    def __init__(self, name: str, external: str, readonly: bool, info: MailboxInfo,
                 records: list[MessageRecord], recent: set[int]):
        self.name = name
        self.external = external
        self.readonly = readonly
        self.uidvalidity = info.uidvalidity
        self.uidnext = info.uidnext
        self.modseq = info.highestmodseq
        self.mailboxid = info.mailboxid
        self.uids: list[int] = [r.uid for r in records]
        self.records: dict[int, MessageRecord] = {r.uid: r for r in records}
        self.recent = set(recent)
        self.pending_expunges: set[int] = set()

    # ------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        index = bisect.bisect_left(self.uids, uid)
        return index + 1 if index < len(self.uids) and self.uids[index] == uid else None

    def uid_of(self, seq: int) -> int:
        return self.uids[seq - 1]

    def max_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def first_unseen(self) -> int | None:
        for seq, uid in enumerate(self.uids, 1):
            if "\\Seen" not in self.records[uid].flags:
                return seq
        return None

    def keywords_in_use(self) -> list[str]:
        found = set()
        for record in self.records.values():
            found.update(f for f in record.flags if not f.startswith("\\"))
        return sorted(found)

    def is_recent(self, uid: int) -> bool:
        return uid in self.recent

    # ------------------------------------------------------------ updates

    def note_own_changes(self, records: list[MessageRecord]) -> None:
        """Our own STORE: the client gets FETCH responses from the command itself."""
        for record in records:
            if record.uid in self.records:
                self.records[record.uid] = record

    def poll(self, store: UserStore, *, allow_expunge: bool, qresync: bool, condstore: bool,
             imap4rev2: bool) -> list[bytes]:
        try:
            changes = store.changes_since(self.name, self.modseq)
        except MailboxNotFound:
            raise UidValidityChanged(self.name) from None      # deleted behind us: nothing left to show
        if changes.uidvalidity != self.uidvalidity:
            raise UidValidityChanged(self.name)
        responses: list[bytes] = []
        self.pending_expunges.update(uid for uid in changes.expunged if uid in self.records)
        if allow_expunge and self.pending_expunges:
            responses += self._tell_expunges(qresync)
        arrivals = [r for r in changes.updated if r.uid not in self.records and r.uid > self.max_uid()]
        if arrivals:
            responses += self._tell_arrivals(store, arrivals, imap4rev2)
        for record in changes.updated:
            known = self.records.get(record.uid)
            if known is None or record.uid in self.pending_expunges:
                continue
            if known.flags != record.flags or (condstore and known.modseq != record.modseq):
                self.records[record.uid] = record
                responses.append(self.flags_response(record.uid, include_uid=qresync, modseq=condstore,
                                                     imap4rev2=imap4rev2))
        self.modseq = max(self.modseq, changes.highestmodseq)
        self.uidnext = max(self.uidnext, changes.uidnext)
        return responses

    def _tell_expunges(self, qresync: bool) -> list[bytes]:
        gone = sorted(self.pending_expunges)
        self.pending_expunges.clear()
        if qresync:
            for uid in gone:
                self._remove(uid)
            return [b"* VANISHED " + format_sequence_set(gone).encode() + b"\r\n"]
        responses = []
        for uid in reversed(gone):          # highest first: lower numbers do not shift
            seq = self.seq_of(uid)
            if seq is not None:
                self._remove(uid)
                responses.append(b"* %d EXPUNGE\r\n" % seq)
        return responses

    def _remove(self, uid: int) -> None:
        index = bisect.bisect_left(self.uids, uid)
        if index < len(self.uids) and self.uids[index] == uid:
            del self.uids[index]
        self.records.pop(uid, None)
        self.recent.discard(uid)

    def _tell_arrivals(self, store: UserStore, arrivals: list[MessageRecord], imap4rev2: bool) -> list[bytes]:
        for record in sorted(arrivals, key=lambda r: r.uid):
            self.uids.append(record.uid)
            self.records[record.uid] = record
        if not self.readonly:
            self.recent |= store.claim_recent(self.name) & set(self.records)
        responses = [b"* %d EXISTS\r\n" % len(self.uids)]
        if not imap4rev2:
            responses.append(b"* %d RECENT\r\n" % len(self.recent))
        return responses

    def expunged_by_us(self, uids: list[int], qresync: bool) -> list[bytes]:
        """Our own EXPUNGE/MOVE: tell them now, in the command's own responses."""
        self.pending_expunges.update(u for u in uids if u in self.records)
        return self._tell_expunges(qresync)

    def flags_response(self, uid: int, *, include_uid: bool, modseq: bool, imap4rev2: bool) -> bytes:
        record = self.records[uid]
        flags = sorted(record.flags)
        if uid in self.recent and not imap4rev2:
            flags.append("\\Recent")
        items = [Raw("FLAGS"), [Raw(f) for f in flags]]
        if include_uid:
            items += [Raw("UID"), record.uid]
        if modseq:
            items += [Raw("MODSEQ"), [record.modseq]]
        return b"* %d FETCH " % self.seq_of(uid) + format_value(items) + b"\r\n"
