"""The untagged FETCH response of one message (RFC 3501 7.4.2, RFC 9051 7.5.2).

fetch_response touches only what the items need: FLAGS, UID, MODSEQ,
RFC822.SIZE, INTERNALDATE, SAVEDATE, EMAILID and THREADID come from the
MessageRecord alone; the cached structure is loaded for ENVELOPE, BODY,
BODYSTRUCTURE and numbered sections; the message octets for section data
(and only the top-level header, through ``load_header`` when the session
provides it, for BODY[HEADER...] / RFC822.HEADER).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pillarbox.store.records import MessageRecord

from .bodystructure import format_bodystructure
from .envelope import format_envelope, format_internaldate
from .items import FetchItem
from .sections import extract_section

__all__ = ["MessageData", "fetch_response", "format_flags"]


@dataclass(slots=True)
class MessageData:
    """What the session hands over for one message."""
    seq: int
    record: MessageRecord
    recent: bool
    load_bytes: Callable[[], bytes]                 # the message as served (CRLF)
    load_structure: Callable[[], tuple[list, dict]]  # (envelope, body) from the cache
    # optional, for BODY[HEADER...] / RFC822.HEADER without reading the
    # whole message: the first octets of the message, at least through the
    # blank line that ends the top-level header (all of it if it has none)
    load_header: Callable[[], bytes] | None = None


# --- FLAGS ------------------------------------------------------------------------------

_SYSTEM = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_SYSTEM_SET = frozenset(_SYSTEM)
_FLAGS_CACHE: dict = {}
_FLAGS_CACHE_RECENT: dict = {}
_CACHE_LIMIT = 4096


def format_flags(flags, recent: bool = False) -> bytes:
    """The parenthesised flag list: system flags in a fixed order
    (\\Answered \\Flagged \\Deleted \\Seen \\Draft), then \\Recent, then
    keywords sorted, as Dovecot orders them. Cached per distinct set."""
    cache = _FLAGS_CACHE_RECENT if recent else _FLAGS_CACHE
    try:
        return cache[flags]
    except KeyError:
        pass
    except TypeError:                                  # an unhashable set
        flags = frozenset(flags)
    names = [f for f in _SYSTEM if f in flags]
    if recent:
        names.append("\\Recent")
    names.extend(sorted(f for f in flags if f not in _SYSTEM_SET and f != "\\Recent"))
    value = ("(" + " ".join(names) + ")").encode("utf-8", "surrogateescape")
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[frozenset(flags)] = value
    return value


# --- the response ---------------------------------------------------------------------------

_TOP_HEADER_PARTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT")
_SECTION_ITEMS = frozenset({"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
                            "RFC822", "RFC822.HEADER", "RFC822.TEXT"})


class _Loader:
    """Loads the octets / structure at most once per message."""
    __slots__ = ("data", "message", "structure", "header")

    def __init__(self, data: MessageData):
        self.data = data
        self.message = None
        self.structure = None
        self.header = None

    def get_message(self) -> bytes:
        if self.message is None:
            self.message = bytes(self.data.load_bytes())
        return self.message

    def get_structure(self) -> tuple[list, dict]:
        if self.structure is None:
            self.structure = self.data.load_structure()
        return self.structure

    def source(self, item: FetchItem) -> tuple[bytes, dict | None]:
        """(octets, body) to cut ``item`` from."""
        if item.section:
            return self.get_message(), self.get_structure()[1]
        if (item.part in _TOP_HEADER_PARTS and self.message is None
                and self.data.load_header is not None):
            if self.header is None:
                self.header = bytes(self.data.load_header())
            return self.header, None
        return self.get_message(), None




def _date(seconds) -> bytes:
    return b'"' + format_internaldate(seconds).encode("ascii") + b'"'


def fetch_response(data: MessageData, items: list[FetchItem], *, utf8: bool,
                   imap4rev2: bool, flags_override: frozenset | None = None) -> bytes:
    """The complete untagged response ``* <seq> FETCH (...)\\r\\n`` with the
    items in the order given. FLAGS carries \\Recent when ``data.recent``
    and the session is not IMAP4rev2; ``flags_override`` replaces the
    record's flags (e.g. after \\Seen was set by this FETCH). The caller
    appends FLAGS_ITEM to the items when the FETCH changed the flags and
    FLAGS was not asked for (RFC 3501 6.4.5: the new flags SHOULD be sent).

    MODSEQ is ``MODSEQ (n)``; EMAILID / THREADID ``EMAILID (id)`` (RFC
    8474), THREADID NIL when the record has none (and EMAILID NIL for a
    record not indexed yet, which RFC 8474 has no form for); SAVEDATE NIL
    when the record has no save date (RFC 8514).

    Raises sections.UnknownCTE (a FetchFailed: tagged NO [UNKNOWN-CTE]) for
    BINARY of a part with an encoding we cannot decode.
    """
    rec = data.record
    # the pieces of the response, joined once at the end (a message body is
    # copied once, not once per concatenation)
    out: list[bytes] = [b"* %d FETCH (" % data.seq]
    append = out.append
    loader = None
    for item in items:
        if len(out) > 1:
            append(b" ")
        name = item.name
        if name == "UID":
            append(b"UID %d" % rec.uid)
        elif name == "FLAGS":
            flags = rec.flags if flags_override is None else flags_override
            append(b"FLAGS " + format_flags(flags, data.recent and not imap4rev2))
        elif name == "MODSEQ":
            append(b"MODSEQ (%d)" % rec.modseq)
        elif name == "RFC822.SIZE":
            append(b"RFC822.SIZE %d" % rec.size)
        elif name == "INTERNALDATE":
            append(b"INTERNALDATE " + _date(rec.internaldate))
        elif name == "SAVEDATE":
            append(b"SAVEDATE " + (_date(rec.savedate) if rec.savedate else b"NIL"))
        elif name == "EMAILID":
            append(b"EMAILID (" + rec.emailid.encode("utf-8", "surrogateescape") + b")"
                   if rec.emailid else b"EMAILID NIL")
        elif name == "THREADID":
            append(b"THREADID (" + rec.threadid.encode("utf-8", "surrogateescape") + b")"
                   if rec.threadid else b"THREADID NIL")
        else:
            if loader is None:
                loader = _Loader(data)
            if name == "ENVELOPE":
                append(b"ENVELOPE " + format_envelope(loader.get_structure()[0], utf8=utf8))
            elif name == "BODYSTRUCTURE" or (name == "BODY" and item.raw_section is None):
                append(name.encode() + b" " + format_bodystructure(
                    loader.get_structure()[1], extended=name == "BODYSTRUCTURE",
                    utf8=utf8, imap4rev2=imap4rev2))
            elif name in _SECTION_ITEMS:
                message, body = loader.source(item)
                value = extract_section(message, body, item)
                label = item.label.encode("utf-8", "surrogateescape")
                if value is None:
                    value = b""
                if name == "BINARY.SIZE":
                    append(label + b" %d" % len(value))
                    continue
                # a literal, as AsLiteral / Binary of the formatter write them:
                # NUL becomes 0x80 in BODY data, BINARY data with NUL is a literal8
                if b"\0" in value:
                    if name.startswith("BINARY"):
                        append(label + b" ~{%d}\r\n" % len(value))
                        append(value)
                        continue
                    value = value.replace(b"\0", b"\x80")
                append(label + b" {%d}\r\n" % len(value))
                append(value)
            else:
                raise ValueError(f"unknown FETCH item {name!r}")
    append(b")\r\n")
    return b"".join(out)
