"""Run a SearchProgram over the selected mailbox.

Evaluation works a set at a time: every node gets the set of candidate
messages (positions in `messages`) that can still match and returns the subset
that does. AND hands each key the survivors of the keys before it, cheapest
keys first (flags, sizes, dates, numbers, then text, then keys that read
header fields); OR tries its right side only on what its left side did not
match; NOT subtracts. So the expensive work, reading a message's header fields,
is done only for messages every cheaper key has already let through.

Text keys go to the store's full-text index once per key
(`text_search(where, text)`; results are cached per evaluation):

* BODY s, TEXT s     -> text_search("body" | "text", s)
* HEADER f s and FROM/TO/CC/BCC/SUBJECT s
                     -> text_search("header", s) as a prefilter, then confirmed with
                        header_fields(uid): a field named f (any case) whose decoded,
                        unfolded value contains s. An empty s matches messages that
                        have the field (RFC 3501), the prefilter then being "f:".
* Matching is case-insensitive: str.casefold() on both sides. An empty BODY or
  TEXT string matches every message.

Dates. RFC 3501 compares the date of INTERNALDATE "disregarding time and
timezone"; the store keeps INTERNALDATE (and SAVEDATE) as Unix seconds with no
zone, so the date is taken in `SearchContext.timezone`, UTC unless the session
passes another tzinfo. BEFORE d: before 00:00 of d; ON d: within d; SINCE d: at
or after 00:00 of d. The sent date (SENT*) is the Date: header's own calendar
date as written (its zone disregarded); when there is no parsable Date: the
INTERNALDATE's date is used, as RFC 5256 does for SORT.

SAVEDATE: SAVED* keys compare the save date like INTERNALDATE; a message
without one (savedate 0/None) matches none of them; SAVEDATESUPPORTED matches
every message when `savedate_supported` (the default) and none otherwise.

WITHIN (RFC 5032), with age = now - INTERNALDATE in seconds:
OLDER n matches age > n, YOUNGER n matches age <= n, so the two partition the
mailbox.

Sequence sets: numbers are the current sequence numbers, "*" the last one;
UID sets compare UIDs, "*" being the highest UID in the mailbox ("n:*" always
includes it); "$" is the saved UIDs that still exist, in either kind of set.
Sequence numbers beyond the last message simply match nothing: SEARCH is a
query, so it is lenient where FETCH/STORE answer BAD (the session may check
SequenceSet.out_of_range itself if it wants the strict RFC 3501 9 reading).
Messages must be in ascending UID order (as IMAP sequence order always is). MODSEQ n matches MODSEQ >= n (RFC 7162 3.1.5).
EMAILID/THREADID compare exactly. KEYWORD compares case-insensitively.
"""

from __future__ import annotations

import datetime
import re
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Callable, Collection, Sequence

from imapd.search.parse import And, Key, Not, Or, SearchProgram

_FOLD = re.compile(r"\r?\n(?=[ \t])")

# how expensive a key is per candidate message: AND runs cheap keys first
_COST = {"ALL": 0, "SEQ": 1, "UID": 1, "TEXT": 3, "BODY": 3, "HEADER": 4,
         "SENTBEFORE": 5, "SENTON": 5, "SENTSINCE": 5}


@dataclass
class SearchContext:
    messages: Sequence                  # in sequence order; each has .seq, .record (MessageRecord), .recent
    saved: Collection[int]              # UIDs saved by the last SEARCH RETURN (SAVE), for "$"
    text_search: Callable[[str, str], set[int]]            # (where, text) -> UIDs; where: header|body|text
    header_fields: Callable[[int], list[tuple[str, str]]]  # UID -> decoded (name, value) header fields
    now: float = field(default_factory=time.time)          # for OLDER / YOUNGER
    timezone: datetime.tzinfo = datetime.timezone.utc      # whose calendar dates BEFORE/ON/SINCE/SAVED* use
    sent_date: Callable[[int], datetime.date | None] | None = None  # UID -> Date: header's date, if cached
    savedate_supported: bool = True


def evaluate(program: SearchProgram, context: SearchContext) -> list:
    """The matching message objects, in sequence order.

    The session takes `.seq` or `.record.uid` from them for SEARCH / UID SEARCH,
    and format_search_response / saved_uids take them as they are.
    """
    messages = context.messages
    if not messages:
        return []
    found = _Evaluator(context).run(program.key, set(range(len(messages))))
    return [messages[i] for i in sorted(found)]


def _cost(node) -> int:
    if isinstance(node, Key):
        return _COST.get(node.name, 2)
    if isinstance(node, Not):
        return _cost(node.key)
    if isinstance(node, Or):
        return max(_cost(node.left), _cost(node.right))
    return max(map(_cost, node.keys))


class _Evaluator:
    def __init__(self, context: SearchContext):
        self.context = context
        self.messages = context.messages
        self.records = [m.record for m in context.messages]
        self._positions: dict[int, int] | None = None
        self._uids: list[int] | None = None
        self._text: dict[tuple[str, str], set[int]] = {}
        self._fields: dict[int, list[tuple[str, str]]] = {}
        self._day_starts: dict[datetime.date, float] = {}

    # -------------------------------------------------------- structure

    def run(self, node, candidates: set[int]) -> set[int]:
        if not candidates:
            return candidates
        if isinstance(node, Key):
            return self.KEYS[node.name](self, node, candidates)
        if isinstance(node, Not):
            return candidates - self.run(node.key, candidates)
        if isinstance(node, Or):
            left = self.run(node.left, candidates)
            return left | self.run(node.right, candidates - left)
        if isinstance(node, And):
            for key in sorted(node.keys, key=_cost):
                candidates = self.run(key, candidates)
                if not candidates:
                    break
            return candidates
        raise TypeError(f"not a search node: {node!r}")

    # -------------------------------------------------------- helpers

    def uid_list(self) -> list[int]:
        """The UIDs in sequence order, which is ascending UID order."""
        if self._uids is None:
            self._uids = [r.uid for r in self.records]
        return self._uids

    def saved_positions(self) -> list[int]:
        """Positions of the saved UIDs ("$") that still exist, ascending."""
        positions = self.positions()
        return sorted(p for p in map(positions.get, set(self.context.saved)) if p is not None)

    def positions(self) -> dict[int, int]:
        """UID -> position, built when first needed."""
        if self._positions is None:
            self._positions = {r.uid: i for i, r in enumerate(self.records)}
        return self._positions

    def by_uid(self, uids, candidates: set[int]) -> set[int]:
        positions = self.positions()
        if len(uids) < len(candidates):
            return {p for p in map(positions.get, uids) if p is not None and p in candidates}
        records = self.records
        return {i for i in candidates if records[i].uid in uids}

    def text_search(self, where: str, text: str) -> set[int]:
        cached = self._text.get((where, text))
        if cached is None:
            cached = self._text[(where, text)] = set(self.context.text_search(where, text))
        return cached

    def fields(self, uid: int) -> list[tuple[str, str]]:
        cached = self._fields.get(uid)
        if cached is None:
            cached = self._fields[uid] = list(self.context.header_fields(uid))
        return cached

    def day_start(self, day: datetime.date) -> float:
        """Unix time of 00:00 of `day` in the context's timezone."""
        start = self._day_starts.get(day)
        if start is None:
            start = datetime.datetime(day.year, day.month, day.day, tzinfo=self.context.timezone).timestamp()
            self._day_starts[day] = start
        return start

    def compare_dates(self, name: str, day: datetime.date, candidates: set[int], stamp) -> set[int]:
        """BEFORE / ON / SINCE on a timestamp taken from each record (None: no match)."""
        low, high = self.day_start(day), self.day_start(day + datetime.timedelta(days=1))
        records = self.records
        if name.endswith("BEFORE"):
            return {i for i in candidates if (t := stamp(records[i])) is not None and t < low}
        if name.endswith("SINCE"):
            return {i for i in candidates if (t := stamp(records[i])) is not None and t >= low}
        return {i for i in candidates if (t := stamp(records[i])) is not None and low <= t < high}

    # -------------------------------------------------------- keys
    # each takes the Key node and the candidates; KEYS maps key names to them

    def everything(self, key, candidates):
        return candidates

    def flag(self, key, candidates):
        flag = key.arg
        records = self.records
        return {i for i in candidates if flag in records[i].flags}

    def keyword(self, key, candidates):
        keyword, folded = key.arg, key.arg.lower()
        records = self.records
        return {i for i in candidates
                if keyword in records[i].flags or any(f.lower() == folded for f in records[i].flags)}

    def recent(self, key, candidates):
        messages = self.messages
        return {i for i in candidates if messages[i].recent}

    def larger(self, key, candidates):
        records = self.records
        return {i for i in candidates if records[i].size > key.arg}

    def smaller(self, key, candidates):
        records = self.records
        return {i for i in candidates if records[i].size < key.arg}

    def internaldate(self, key, candidates):
        return self.compare_dates(key.name, key.arg, candidates, lambda r: r.internaldate)

    def savedate(self, key, candidates):
        if not self.context.savedate_supported:
            return set()
        return self.compare_dates(key.name, key.arg, candidates, lambda r: r.savedate or None)

    def savedatesupported(self, key, candidates):
        return candidates if self.context.savedate_supported else set()

    def older(self, key, candidates):
        limit = self.context.now - key.arg
        records = self.records
        return {i for i in candidates if records[i].internaldate < limit}

    def younger(self, key, candidates):
        limit = self.context.now - key.arg
        records = self.records
        return {i for i in candidates if records[i].internaldate >= limit}

    def sentdate(self, key, candidates):
        day = key.arg
        records = self.records
        if key.name == "SENTBEFORE":
            return {i for i in candidates if self.sent_date(records[i]) < day}
        if key.name == "SENTSINCE":
            return {i for i in candidates if self.sent_date(records[i]) >= day}
        return {i for i in candidates if self.sent_date(records[i]) == day}

    def sent_date(self, record) -> datetime.date:
        """The Date: header's date; the INTERNALDATE's date when there is none (RFC 5256 does so for SORT)."""
        if self.context.sent_date is not None:
            sent = self.context.sent_date(record.uid)
        else:
            sent = next((_header_date(value) for name, value in self.fields(record.uid)
                         if name.lower() == "date"), None)
        if sent is None:
            sent = datetime.datetime.fromtimestamp(record.internaldate, self.context.timezone).date()
        return sent

    def modseq(self, key, candidates):
        value = key.arg[0]
        records = self.records
        return {i for i in candidates if records[i].modseq >= value}

    def emailid(self, key, candidates):
        records = self.records
        return {i for i in candidates if records[i].emailid == key.arg}

    def threadid(self, key, candidates):
        records = self.records
        return {i for i in candidates if records[i].threadid == key.arg}

    def seq(self, key, candidates):
        sequence = key.arg
        count = len(self.messages)
        saved = self.saved_positions() if sequence.uses_saved else ()
        if self.messages[-1].seq == count:             # the usual case: seq == position + 1
            numbers = range(1, count + 1)
            saved = [p + 1 for p in saved]
        else:
            numbers = [m.seq for m in self.messages]
            saved = [numbers[p] for p in saved]
        return _within(sequence.ranges(numbers[-1], saved), numbers, candidates)

    def uid(self, key, candidates):
        sequence = key.arg
        uids = self.uid_list()
        saved = self.context.saved if sequence.uses_saved else ()
        return _within(sequence.ranges(uids[-1], saved), uids, candidates)

    def text(self, key, candidates):
        if not key.arg:
            return candidates                       # every text contains the empty string
        return self.by_uid(self.text_search(key.name.lower(), key.arg), candidates)

    def header(self, key, candidates):
        name, text = key.arg
        name = name.lower()
        needle = text.casefold()
        prefiltered = self.by_uid(self.text_search("header", text if text else name + ":"), candidates)
        records = self.records
        found = set()
        for i in prefiltered:
            for field_name, value in self.fields(records[i].uid):
                if field_name.lower() == name and (not needle or needle in _FOLD.sub("", value).casefold()):
                    found.add(i)
                    break
        return found

    KEYS = {
        "ALL": everything, "FLAG": flag, "KEYWORD": keyword, "RECENT": recent, "LARGER": larger, "SMALLER": smaller,
        "BEFORE": internaldate, "ON": internaldate, "SINCE": internaldate,
        "SAVEDBEFORE": savedate, "SAVEDON": savedate, "SAVEDSINCE": savedate,
        "SAVEDATESUPPORTED": savedatesupported,
        "SENTBEFORE": sentdate, "SENTON": sentdate, "SENTSINCE": sentdate,
        "OLDER": older, "YOUNGER": younger, "MODSEQ": modseq, "EMAILID": emailid, "THREADID": threadid,
        "SEQ": seq, "UID": uid, "TEXT": text, "BODY": text, "HEADER": header,
    }


def _within(spans: list[tuple[int, int]], keys: Sequence[int], candidates: set[int]) -> set[int]:
    """Candidates whose key (a UID or sequence number; `keys` ascending by position) lies in a span.

    Each span becomes a slice of positions by bisection, so "UID 1:4294967295"
    costs no more than the messages it can match.
    """
    slices = []
    total = 0
    for low, high in spans:
        start = bisect_left(keys, low)
        stop = bisect_right(keys, high, start)
        if start < stop:
            slices.append((start, stop))
            total += stop - start
    if total <= len(candidates):
        return {i for start, stop in slices for i in range(start, stop) if i in candidates}
    if len(slices) == 1:
        start, stop = slices[0]
        return {i for i in candidates if start <= i < stop}
    starts = [start for start, _ in slices]
    return {i for i in candidates if (j := bisect_right(starts, i) - 1) >= 0 and i < slices[j][1]}


def _header_date(value: str) -> datetime.date | None:
    """The calendar date a Date: header states, in its own zone; None if unparsable."""
    import email.utils                      # lazily: ~20 ms of imports that most searches never need
    try:
        parsed = email.utils.parsedate_tz(value)
        return datetime.date(*parsed[:3]) if parsed else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
