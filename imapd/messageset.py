"""Turning a sequence set or UID set argument into UIDs of the selected mailbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imapd import args
from imapd.errors import Bad
from imapd.protocol.sequence import SequenceSet

if TYPE_CHECKING:
    from imapd.server import ImapServer


def parse(token) -> SequenceSet:
    text = args.atom(token, "message set")
    try:
        return SequenceSet.parse(text)
    except ValueError:
        raise Bad(f"invalid message set {text[:40]!r}") from None


def uids(server: "ImapServer", token, *, uid: bool) -> list[int]:
    """UIDs the argument names, in ascending order. UIDs need not exist;
    sequence numbers out of range are a BAD. "$" is the
    result saved by SEARCH RETURN (SAVE) (RFC 5182)."""
    selected = server.selected
    wanted = parse(token)
    saved = server.saved_search if wanted.uses_saved else ()
    if uid:
        return wanted.resolve_uids(selected.uids, saved=saved)
    exists = len(selected)
    # RFC 3501/9051: a sequence number past the last message is an error ("*" in an
    # empty mailbox just matches nothing, as clients syncing empty folders expect)
    if wanted.out_of_range(exists) and not (exists == 0 and "*" in wanted.text):
        raise Bad(f"message sequence number out of range (the mailbox has {exists} messages)")
    saved_seqs = [s for s in (selected.seq_of(u) for u in saved) if s]
    return [selected.uid_of(seq) for seq in wanted.resolve(exists, saved=saved_seqs, clamp=True)]


def seq_or_uid(server: "ImapServer", uid_list: list[int], *, uid: bool) -> list[int]:
    if uid:
        return uid_list
    return [server.selected.seq_of(u) for u in uid_list if server.selected.seq_of(u)]
