"""Parsing FETCH data item names (RFC 3501 / RFC 9051 section 6.4.5, RFC 3516
BINARY, RFC 7162 MODSEQ and the CHANGEDSINCE / VANISHED modifiers, RFC 8474
EMAILID / THREADID, RFC 8514 SAVEDATE).

A fetch attribute arrives as one Atom holding its section and partial
("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>"); the item list is one Atom, a
macro Atom (ALL / FAST / FULL) or a List of Atoms.

The response label of a section item is the section in canonical form, as
Dovecot and the RFC 3501 sample session write it: keywords upper-cased,
header field names upper-cased (atoms where they can be, quoted strings
otherwise), so ``body.peek[header.fields (from "to")]`` is answered as
``BODY[HEADER.FIELDS (FROM TO)]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imapd.protocol.tokens import Atom, List, String

__all__ = [
    "FetchError",
    "FetchItem",
    "FetchRequest",
    "parse_fetch_items",
    "parse_fetch_command",
    "FLAGS_ITEM",
    "UID_ITEM",
    "MODSEQ_ITEM",
]

MAX_NUMBER32 = 0xFFFFFFFF
MAX_NUMBER64 = (1 << 63) - 1


class FetchError(Exception):
    """A malformed FETCH command: str() is the text of the tagged BAD."""


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One FETCH data item.

    name         FLAGS, UID, BODY, BODY.PEEK, BINARY, BINARY.PEEK, BINARY.SIZE,
                 RFC822, RFC822.HEADER, RFC822.SIZE, RFC822.TEXT, ENVELOPE,
                 BODYSTRUCTURE, INTERNALDATE, MODSEQ, EMAILID, THREADID, SAVEDATE
    section      part numbers, () for the whole message
    part         HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME or None
                 (RFC822.HEADER has part HEADER, RFC822.TEXT part TEXT)
    fields       header field names of HEADER.FIELDS[.NOT], upper-cased
    partial      (offset, length) of <offset.length>, or None
    raw_section  the text between the brackets in canonical form, used in
                 the response label; None for items without brackets (so
                 BODY, the structure, has None and BODY[] has "")
    """
    name: str
    section: tuple[int, ...] = ()
    part: str | None = None
    fields: tuple[str, ...] = ()
    partial: tuple[int, int] | None = None
    raw_section: str | None = None

    @property
    def label(self) -> str:
        """The data item name in the response: BODY.PEEK[1]<0.10> -> BODY[1]<0>."""
        if self.raw_section is None:
            return self.name
        name = self.name
        if name.endswith(".PEEK"):
            name = name[:-5]
        label = f"{name}[{self.raw_section}]"
        if self.partial is not None:
            label += f"<{self.partial[0]}>"
        return label


FLAGS_ITEM = FetchItem("FLAGS")
UID_ITEM = FetchItem("UID")
MODSEQ_ITEM = FetchItem("MODSEQ")

_SIMPLE = {
    "FLAGS": FLAGS_ITEM,
    "UID": UID_ITEM,
    "ENVELOPE": FetchItem("ENVELOPE"),
    "BODY": FetchItem("BODY"),
    "BODYSTRUCTURE": FetchItem("BODYSTRUCTURE"),
    "INTERNALDATE": FetchItem("INTERNALDATE"),
    "RFC822": FetchItem("RFC822"),
    "RFC822.HEADER": FetchItem("RFC822.HEADER", part="HEADER"),
    "RFC822.SIZE": FetchItem("RFC822.SIZE"),
    "RFC822.TEXT": FetchItem("RFC822.TEXT", part="TEXT"),
    "MODSEQ": MODSEQ_ITEM,
    "EMAILID": FetchItem("EMAILID"),
    "THREADID": FetchItem("THREADID"),
    "SAVEDATE": FetchItem("SAVEDATE"),
}

_MACROS = {
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}

_SECTIONED = ("BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE")

# items whose value comes from the message octets
BODY_ITEMS = frozenset({"BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
                        "RFC822", "RFC822.HEADER", "RFC822.TEXT"})
# items that implicitly set \Seen (BODY only with a section)
SEEN_ITEMS = frozenset({"BINARY", "RFC822", "RFC822.TEXT"})

_SECTION = re.compile(
    r"(?P<nums>[0-9]+(?:\.[0-9]+)*)?"
    r"(?:(?(nums)\.)(?P<part>HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)"
    r"(?:(?P<sp> *)\((?P<list>.*)\))?)?\Z",
    re.I | re.S)
_PARTIAL = re.compile(r"<([0-9]+)\.([0-9]+)>\Z")
_LIST_TOKEN = re.compile(r' *(?:"((?:[^"\\]|\\.)*)"|([^ "()]+))', re.S)
_ATOM = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~\[]+\Z")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _close_bracket(text: str, start: int) -> int:
    """Index of the "]" closing the section opened before ``start``
    (quoted field names may contain "]")."""
    i, n = start, len(text)
    quoted = False
    depth = 1
    while i < n:
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise FetchError(f"Invalid FETCH attribute {_short(text)}: missing ']'")


def _header_list(text: str, att: str) -> tuple[str, ...]:
    names = []
    pos, n = 0, len(text)
    while pos < n:
        m = _LIST_TOKEN.match(text, pos)
        if m is None:
            raise FetchError(f"Invalid header list in {_short(att)}")
        if m.group(1) is not None:
            name = re.sub(r"\\(.)", r"\1", m.group(1))
        else:
            name = m.group(2)
            if "{" in name or "\\" in name or "*" in name or "%" in name:
                raise FetchError(f"Invalid header list in {_short(att)}")
        if not name or any(not " " <= c <= "~" for c in name):
            raise FetchError(f"Invalid header field name in {_short(att)}")
        names.append(name.upper())
        pos = m.end()
        while pos < n and text[pos] == " ":
            pos += 1
    if not names:
        raise FetchError(f"Empty header list in {_short(att)}")
    return tuple(names)


def _astring(name: str) -> str:
    if _ATOM.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(digits: str, limit: int, att: str) -> int:
    value = int(digits)
    if value > limit:
        raise FetchError(f"Number too big in {_short(att)}")
    return value


def _sectioned(text: str, base: str, bracket: int) -> FetchItem:
    close = _close_bracket(text, bracket + 1)
    spec = text[bracket + 1:close]
    rest = text[close + 1:]
    m = _SECTION.match(spec)
    if m is None:
        raise FetchError(f"Invalid section in {_short(text)}")
    nums_text, part, lst = m.group("nums"), m.group("part"), m.group("list")
    section: tuple[int, ...] = ()
    if nums_text:
        nums = nums_text.split(".")
        if any(d.startswith("0") for d in nums):
            raise FetchError(f"Invalid part number in {_short(text)}")
        section = tuple(_number(d, MAX_NUMBER32, text) for d in nums)
    fields: tuple[str, ...] = ()
    if part is not None:
        part = part.upper()
        if base.startswith("BINARY"):
            raise FetchError(f"{base} takes part numbers only: {_short(text)}")
        if part == "MIME" and not section:
            raise FetchError(f"MIME needs a part number: {_short(text)}")
        if part.startswith("HEADER.FIELDS"):
            if lst is None:
                raise FetchError(f"{part} needs a header list: {_short(text)}")
            fields = _header_list(lst, text)
        elif lst is not None:
            raise FetchError(f"Invalid section in {_short(text)}")
    canon = ".".join(map(str, section))
    if part is not None:
        canon = f"{canon}.{part}" if canon else part
        if fields:
            canon += " (" + " ".join(map(_astring, fields)) + ")"
    partial = None
    if rest:
        pm = _PARTIAL.match(rest)
        if pm is None or base == "BINARY.SIZE":
            raise FetchError(f"Invalid partial in {_short(text)}")
        offset = _number(pm.group(1), MAX_NUMBER64, text)
        length = _number(pm.group(2), MAX_NUMBER64, text)
        if length == 0:
            raise FetchError(f"Partial length must not be 0: {_short(text)}")
        partial = (offset, length)
    return FetchItem(base, section, part, fields, partial, canon)


def parse_attribute(text: str) -> FetchItem:
    """One fetch attribute (not a macro)."""
    up = text.upper()
    simple = _SIMPLE.get(up)
    if simple is not None:
        return simple
    bracket = up.find("[")
    if bracket > 0 and up[:bracket] in _SECTIONED:
        return _sectioned(text, up[:bracket], bracket)
    raise FetchError(f"Unknown FETCH attribute {_short(text)}")


def _atoms(tokens) -> list[str]:
    """The attribute texts of a parenthesised list. Tolerates a header list
    that arrives split into Atom("BODY[HEADER.FIELDS"), List(...), Atom("]...")
    (how Dovecot's parser sees it)."""
    out: list[str] = []
    items = list(tokens)
    i = 0
    while i < len(items):
        tok = items[i]
        if not isinstance(tok, Atom):
            raise FetchError("Invalid FETCH item list")
        text = tok.text
        if ("[" in text and "]" not in text and i + 2 < len(items)
                and isinstance(items[i + 1], List) and isinstance(items[i + 2], Atom)
                and items[i + 2].text.startswith("]")):
            names = []
            for t in items[i + 1].items:
                if isinstance(t, Atom):
                    names.append(t.text)
                elif isinstance(t, String) and not t.literal:
                    names.append(_astring(t.text()))
                else:
                    raise FetchError("Invalid header list")
            text = f"{text} ({' '.join(names)}){items[i + 2].text}"
            i += 2
        out.append(text)
        i += 1
    return out


def parse_fetch_items(tokens: list, *, uid_command: bool) -> tuple[list[FetchItem], bool, bool]:
    """Parse the data items of FETCH / UID FETCH.

    ``tokens`` holds the item specification (a macro Atom, one attribute
    Atom or a List of attribute Atoms) as its only element. Returns
    (items, needs_body, sets_seen): needs_body when any item needs the
    message octets, sets_seen when any item implicitly sets \\Seen. UID
    FETCH puts UID first if it was not asked for. Duplicate items (same
    response label) are fetched once. Raises FetchError.
    """
    if len(tokens) != 1:
        raise FetchError("FETCH takes one data item or one list of data items"
                         if tokens else "Missing FETCH data items")
    spec = tokens[0]
    if isinstance(spec, Atom):
        macro = _MACROS.get(spec.text.upper())
        texts = list(macro) if macro is not None else [spec.text]
    elif isinstance(spec, List):
        texts = _atoms(spec.items)
        if not texts:
            raise FetchError("Empty FETCH data item list")
        for text in texts:
            if text.upper() in _MACROS:
                raise FetchError(f"Macro {text.upper()} must be used alone")
    else:
        raise FetchError("Invalid FETCH data items")

    items: list[FetchItem] = []
    seen_keys: set = set()
    needs_body = sets_seen = False
    for text in texts:
        item = parse_attribute(text)
        name = item.name
        if name in BODY_ITEMS or (name == "BODY" and item.raw_section is not None):
            needs_body = True
        if name in SEEN_ITEMS or (name == "BODY" and item.raw_section is not None):
            sets_seen = True
        key = (item.label, item.partial)
        if key not in seen_keys:
            seen_keys.add(key)
            items.append(item)
    if uid_command and not any(item.name == "UID" for item in items):
        items.insert(0, UID_ITEM)
    return items, needs_body, sets_seen


# --- the whole FETCH argument list, with RFC 7162 modifiers ------------------------------

@dataclass
class FetchRequest:
    items: list[FetchItem]
    needs_body: bool            # load_bytes will be called
    sets_seen: bool             # \Seen is set on the fetched messages
    needs_structure: bool = False   # load_structure will be called (ENVELOPE, BODY[n] ...)
    changedsince: int | None = None  # CHANGEDSINCE modseq (RFC 7162 3.1.4.1)
    vanished: bool = False      # VANISHED (RFC 7162 3.2.6; UID FETCH only)
    condstore: bool = False     # MODSEQ or CHANGEDSINCE used: enables CONDSTORE


def needs_structure(items: list[FetchItem]) -> bool:
    for item in items:
        if item.name in ("ENVELOPE", "BODYSTRUCTURE") or (item.name == "BODY" and item.raw_section is None):
            return True
        if item.section:
            return True
    return False


def parse_fetch_command(tokens: list, *, uid_command: bool) -> FetchRequest:
    """Parse everything after FETCH's sequence set: the data items and an
    optional list of fetch modifiers, ``(CHANGEDSINCE <modseq> [VANISHED])``.

    CHANGEDSINCE adds MODSEQ to the items (RFC 7162 3.1.4.1); VANISHED is
    allowed only in UID FETCH together with CHANGEDSINCE (3.2.6). Whether
    QRESYNC is enabled is for the session to check (``vanished``).
    """
    if not tokens:
        raise FetchError("Missing FETCH data items")
    if len(tokens) > 2:
        raise FetchError("Too many FETCH arguments")
    items, needs_body, sets_seen = parse_fetch_items(tokens[:1], uid_command=uid_command)
    req = FetchRequest(items, needs_body, sets_seen)
    if len(tokens) == 2:
        mods = tokens[1]
        if not isinstance(mods, List) or not mods.items:
            raise FetchError("Invalid FETCH modifiers")
        toks = list(mods.items)
        i = 0
        while i < len(toks):
            tok = toks[i]
            word = tok.text.upper() if isinstance(tok, Atom) else ""
            if word == "CHANGEDSINCE":
                if req.changedsince is not None or i + 1 >= len(toks):
                    raise FetchError("Invalid CHANGEDSINCE modifier")
                arg = toks[i + 1]
                if not (isinstance(arg, Atom) and arg.text.isascii() and arg.text.isdigit()):
                    raise FetchError("CHANGEDSINCE needs a mod-sequence")
                req.changedsince = _number(arg.text, MAX_NUMBER64, "CHANGEDSINCE")
                i += 2
            elif word == "VANISHED":
                if req.vanished:
                    raise FetchError("Duplicate VANISHED modifier")
                req.vanished = True
                i += 1
            else:
                raise FetchError(f"Unknown FETCH modifier {_short(word or '?')}")
        if req.vanished:
            if not uid_command:
                raise FetchError("VANISHED is allowed only in UID FETCH")
            if req.changedsince is None:
                raise FetchError("VANISHED needs CHANGEDSINCE")
        if req.changedsince is not None and not any(it.name == "MODSEQ" for it in items):
            items.append(MODSEQ_ITEM)
    req.needs_structure = needs_structure(items)
    req.condstore = req.changedsince is not None or any(it.name == "MODSEQ" for it in items)
    return req
