"""Sequence sets (RFC 3501/RFC 9051 section 9, RFC 5182 "$").

    sequence-set = (seq-number / seq-range) ["," sequence-set] / seq-last-command
    seq-range    = seq-number ":" seq-number
    seq-number   = nz-number / "*"
    nz-number    = digit-nz *DIGIT          ; 1 .. 4294967295, no leading zero
    seq-last-command = "$"                  ; RFC 5182 SEARCHRES

The set is kept as ranges, never as one entry per number, so ``1:*`` on a
mailbox of a million messages costs nothing until it is expanded, and
`ranges`/`resolve_uids` never expand more than the answer.

Semantics:

* ``*`` is the largest number in use: the number of messages for message
  sequence numbers, the highest UID present for UIDs (0 in an empty mailbox,
  where ``*`` then matches nothing).
* ``a:b`` is the same as ``b:a``; ``n:*`` with n above the largest value still
  includes the largest value (RFC 3501 6.4.8: "559:*" always includes the
  last message's UID).
* ``$`` stands for the saved search result (passed in as ``saved``). We
  accept it as any element of a comma list, a superset of the grammar (which
  allows it alone or last, as in ``1,$``), never inside a range.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Iterable, Iterator, Sequence

__all__ = ["SequenceSet", "format_sequence_set", "MAX_EXPAND", "MAX_NUMBER"]

#: nz-number is an unsigned 32-bit integer.
MAX_NUMBER = 4294967295

#: `SequenceSet.resolve` refuses to build longer lists than this by default.
MAX_EXPAND = 10_000_000

_NUM = r"(?:[1-9][0-9]{0,9}|\*)"
_ITEM = rf"(?:{_NUM}(?::{_NUM})?|\$)"
_SET = re.compile(rf"{_ITEM}(?:,{_ITEM})*\Z")

_STAR = -1  # "*" inside _items


class SequenceSet:
    """A parsed sequence set; immutable.

    ``text``: the set as sent. ``uses_saved``: it contains ``$``.
    ``uses_star``: it contains ``*``.
    """

    __slots__ = ("text", "uses_saved", "uses_star", "_items")

    def __init__(self, items: Iterable[tuple[int, int]], *, uses_saved: bool = False, text: str | None = None) -> None:
        self._items = tuple(items)  # (a, b) pairs, _STAR for "*"
        self.uses_saved = uses_saved
        self.uses_star = any(a == _STAR or b == _STAR for a, b in self._items)
        self.text = text if text is not None else self._render()

    @classmethod
    def parse(cls, text: str) -> "SequenceSet":
        """Parse ``text``; ValueError unless it is a valid sequence set."""
        if not isinstance(text, str) or _SET.match(text) is None:
            raise ValueError(f"invalid sequence set: {text!r}")
        items = []
        saved = False
        for part in text.split(","):
            if part == "$":
                saved = True
                continue
            a, _, b = part.partition(":")
            x = _STAR if a == "*" else int(a)
            y = x if not b else (_STAR if b == "*" else int(b))
            if x > MAX_NUMBER or y > MAX_NUMBER:
                raise ValueError(f"invalid sequence set: {text!r} (number over {MAX_NUMBER})")
            items.append((x, y))
        return cls(items, uses_saved=saved, text=text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"SequenceSet({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SequenceSet):
            return NotImplemented
        return self._items == other._items and self.uses_saved == other.uses_saved

    def __hash__(self) -> int:
        return hash((self._items, self.uses_saved))

    def _render(self) -> str:
        def one(v: int) -> str:
            return "*" if v == _STAR else str(v)

        parts = [one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self._items]
        if self.uses_saved:
            parts.append("$")
        return ",".join(parts)

    # -- evaluation ----------------------------------------------------------

    def ranges(self, largest: int, saved: Iterable[int] = ()) -> list[tuple[int, int]]:
        """Sorted, merged, inclusive ``(low, high)`` ranges; not clamped.

        This is the UID view: numbers need not exist, ``*`` is ``largest``
        (the highest UID present, 0 when the mailbox is empty: then ``*``
        matches nothing) and ``n:*`` spans from ``largest`` to n. ``saved`` is
        used when the set contains ``$``.
        """
        spans = []
        for a, b in self._resolved(largest):
            a = max(a, 1)
            if b >= a:
                spans.append((a, b))
        if self.uses_saved:
            spans.extend(_runs(sorted(set(saved))))
        return _merge(spans)

    def resolve(
        self, largest: int, saved: Iterable[int] = (), *, clamp: bool = True, limit: int = MAX_EXPAND
    ) -> list[int]:
        """Every number in the set, sorted and unique (message sequence numbers).

        ``largest`` is the number of messages. With ``clamp`` (the default)
        numbers above ``largest`` are dropped; use `out_of_range` first when
        such numbers must be refused (RFC 3501: BAD). ``clamp=False`` keeps
        them and expands every number the client named: do not use it on
        UIDs (``1:4294967295`` is four billion entries) - use `ranges` or
        `resolve_uids`. As a guard, an expansion of more than ``limit``
        numbers raises ValueError instead of exhausting memory.
        """
        spans = self.ranges(largest, saved)
        if clamp:
            spans = [(a, min(b, largest)) for a, b in spans if a <= largest]
        if sum(b - a + 1 for a, b in spans) > limit:
            raise ValueError(f"sequence set {self.text[:40]!r} names more than {limit} numbers")
        out: list[int] = []
        for a, b in spans:
            out.extend(range(a, b + 1))
        return out

    def resolve_uids(self, uids: Sequence[int], saved: Iterable[int] = ()) -> list[int]:
        """The UIDs of ``uids`` (sorted ascending, as present in the mailbox) in the set.

        ``*`` is the last UID of ``uids``. Costs O(ranges * log n + answer).
        """
        largest = uids[-1] if uids else 0
        out: list[int] = []
        for a, b in self.ranges(largest, saved):
            lo = bisect_left(uids, a)
            hi = bisect_right(uids, b, lo)
            if lo < hi:
                out.extend(uids[lo:hi])
        return out

    def _resolved(self, largest: int) -> Iterator[tuple[int, int]]:
        """Each range with ``*`` as ``largest``, low end first (unclamped)."""
        for a, b in self._items:
            a = largest if a == _STAR else a
            b = largest if b == _STAR else b
            yield (a, b) if a <= b else (b, a)

    def contains(self, value: int, largest: int, saved: Iterable[int] = ()) -> bool:
        """Is ``value`` in the set, with ``*`` = ``largest``? (unclamped)."""
        for a, b in self._resolved(largest):
            if a <= value <= b and value >= 1:
                return True
        if self.uses_saved:
            return value in (saved if isinstance(saved, (set, frozenset)) else set(saved))
        return False

    def out_of_range(self, largest: int) -> bool:
        """True if a message sequence number in the set exceeds ``largest``
        (or the set uses ``*`` and the mailbox is empty) - RFC 3501/9051 ask
        for a tagged BAD then. ``$`` is not checked."""
        for a, b in self._items:
            if a == _STAR or b == _STAR:
                if largest < 1:
                    return True
            if a > largest or b > largest:
                return True
        return False


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted unique ints (values below 1 are dropped)."""
    out: list[tuple[int, int]] = []
    it = iter(v for v in values if v >= 1) if values and values[0] < 1 else iter(values)
    start = prev = next(it, None)
    if start is None:
        return out
    for v in it:
        if v == prev + 1:
            prev = v
            continue
        out.append((start, prev))
        start = prev = v
    out.append((start, prev))
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(spans) <= 1:
        return spans
    spans.sort()
    merged = [spans[0]]
    for a, b in spans[1:]:
        la, lb = merged[-1]
        if a <= lb + 1:
            if b > lb:
                merged[-1] = (la, b)
        else:
            merged.append((a, b))
    return merged


def format_sequence_set(values: Iterable[int], *, sort: bool = True) -> str:
    """Compact form of a set of numbers: ``1:3,5,9:12``.

    With ``sort`` (default) the numbers are sorted and duplicates dropped. With
    ``sort=False`` the order is kept and only ascending runs are joined - for
    COPYUID, whose source and destination sets correspond position by
    position. ``range`` objects are formatted without expanding them. An empty
    input gives "" (which is not a valid sequence set: do not send it).
    """
    if isinstance(values, range) and values.step == 1:
        if not values:
            return ""
        a, b = values.start, values.stop - 1
        return str(a) if a == b else f"{a}:{b}"
    if sort:
        vals = sorted(set(values))
    else:
        vals = list(values)
    if not vals:
        return ""
    first, last = vals[0], vals[-1]
    if sort and last - first == len(vals) - 1:  # one run: no per-number loop
        return str(first) if first == last else f"{first}:{last}"
    parts: list[str] = []
    append = parts.append
    it = iter(vals)
    start = prev = next(it)
    for v in it:
        if v == prev + 1:
            prev = v
            continue
        append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = v
    append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)


def expand_sequence_set(text: str) -> list[int]:
    """The numbers of a compact set made by format_sequence_set, ascending ranges in order."""
    numbers: list[int] = []
    for part in text.split(",") if text else ():
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        if low > high or low < 1:
            raise ValueError(f"not a compact sequence set: {part!r}")
        numbers.extend(range(low, high + 1))
    return numbers
