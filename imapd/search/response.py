"""The untagged replies to SEARCH, and what RETURN (SAVE) keeps for "$".

Plain (RFC 3501 7.2.5, RFC 7162 3.1.6):
    * SEARCH 2 5 9
    * SEARCH 2 5 9 (MODSEQ 917162500)       a MODSEQ key was used and something matched
    * SEARCH                                 nothing matched

ESEARCH (RFC 4731 3.1 and 4, RFC 9051 7.3.4), result data in the order MIN MAX
COUNT ALL then MODSEQ:
    * ESEARCH (TAG "a1") UID MIN 2 MAX 9 COUNT 4 ALL 2,5:6,9
    * ESEARCH (TAG "a1") COUNT 0             nothing matched: MIN, MAX and ALL are left out
    (nothing at all)                         RETURN (SAVE) alone (RFC 5182 2, RFC 9051 6.4.4)

MODSEQ in ESEARCH (RFC 4731 3.2): with MIN and/or MAX alone, the highest
MODSEQ of the message(s) returned; otherwise of all matching messages. Left out
when nothing matched.
"""

from __future__ import annotations

from typing import Iterable

from imapd.search.parse import SearchProgram


def format_sequence(values: Iterable[int]) -> str:
    """Ascending numbers as a compact sequence set: 2,5:9,12."""
    ordered = sorted(set(values))
    parts = []
    start = previous = None
    for value in ordered:
        if previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = value
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(parts)


def _minmax_only(program: SearchProgram) -> bool:
    options = set(program.return_options or ())
    return bool(options) and options <= {"MIN", "MAX"}


def _min_max(matches: list, program: SearchProgram) -> list:
    """The messages MIN and/or MAX return (sequence order is UID order, so one answer fits both)."""
    options = program.return_options or ()
    chosen = []
    if "MIN" in options:
        chosen.append(matches[0])
    if "MAX" in options and not (chosen and chosen[0] is matches[-1]):
        chosen.append(matches[-1])
    return chosen


def saved_uids(program: SearchProgram, matches: list) -> list[int]:
    """The UIDs a SEARCH RETURN (... SAVE) keeps for "$" (RFC 5182 2.1).

    With MIN and/or MAX as the only other options, just those one or two
    messages; otherwise (ALL, COUNT, or SAVE alone) every match.
    """
    if not matches:
        return []
    chosen = _min_max(matches, program) if _minmax_only(program) else matches
    return [m.record.uid for m in chosen]


def format_search_response(matches: list, *, uid: bool, program: SearchProgram, tag: str | None,
                           highest_modseq: int | None = None) -> bytes:
    """The untagged reply for `matches` (evaluate()'s result); b"" when none is due.

    `highest_modseq` overrides the MODSEQ the reply carries when a MODSEQ key
    was used; by default it is computed from the matching records as RFC 7162
    3.1.6 / RFC 4731 3.2 say.
    """
    values = [m.record.uid if uid else m.seq for m in matches]
    modseq = None
    if program.uses_modseq and matches:
        if highest_modseq is not None:
            modseq = highest_modseq
        else:
            counted = _min_max(matches, program) if _minmax_only(program) else matches
            modseq = max(m.record.modseq for m in counted)

    if program.return_options is None:
        line = "* SEARCH" + "".join(f" {v}" for v in values)
        if modseq is not None:
            line += f" (MODSEQ {modseq})"
        return (line + "\r\n").encode("ascii")

    options = program.return_options
    if not options:
        return b""
    parts = ["* ESEARCH"]
    if tag is not None:
        parts.append('(TAG "' + tag.replace("\\", "\\\\").replace('"', '\\"') + '")')
    if uid:
        parts.append("UID")
    if "MIN" in options and values:
        parts.append(f"MIN {min(values)}")
    if "MAX" in options and values:
        parts.append(f"MAX {max(values)}")
    if "COUNT" in options:
        parts.append(f"COUNT {len(values)}")
    if "ALL" in options and values:
        parts.append("ALL " + format_sequence(values))
    if modseq is not None:
        parts.append(f"MODSEQ {modseq}")
    return (" ".join(parts) + "\r\n").encode("utf-8")
