"""The octets of BODY[section] / BINARY[section] (RFC 3501 / RFC 9051 section
6.4.5, RFC 3516), cut from the message with the offsets pillarbox.mime
cached.

    HEADER, TEXT, HEADER.FIELDS[.NOT]   of the message, or (after part numbers)
                                        of the message/rfc822 part they name
    n                                   the body of part n; of a message/rfc822
                                        part, the whole encapsulated message;
                                        1 of a non-multipart message is its body
    n.MIME                              the MIME header of part n (of a message
                                        root reached as part 1: its header)

A header section ends with the blank line when the header has one.
HEADER.FIELDS keeps the matching fields as they are (folded lines and all)
in message order, matching names case-insensitively; a partial of it
counts from the start of the subset.

Where the RFC leaves room we do what Dovecot does:

* a section that does not exist (part 7 of a 2-part message, HEADER of a
  part that is not message/rfc822) is the empty string, not NIL, and
  BINARY.SIZE of it is 0;
* BINARY decodes base64 leniently (characters outside the alphabet are
  skipped, bad padding tolerated) and quoted-printable leniently
  (malformed escapes stay as they are), the same decoder the search index
  uses; 7BIT/8BIT/BINARY parts are sent as they are; any other encoding is
  a NO [UNKNOWN-CTE] (RFC 3516 section 4.3);
* BINARY of a text/* part is sent with CRLF line ends (RFC 3516 section 6);
* BINARY of a non-leaf (a multipart, BINARY[] of the whole message) is
  its octets unchanged: RFC 9051 allows BINARY of leaf parts only, and the
  encoding of a multipart can only be an identity one;
* NUL octets in BODY[...] data are sent as 0x80 (a literal may not carry
  NUL); BINARY data with NUL goes in a literal8.
"""

from __future__ import annotations

import functools
import re

from pillarbox.mime import decode_transfer, section_offsets

from .items import FetchItem

__all__ = ["FetchFailed", "UnknownCTE", "extract_section", "header_end",
           "filter_header", "decode_binary", "apply_partial"]


class FetchFailed(Exception):
    """A FETCH that must fail with a tagged NO; ``code`` is the response
    code (without brackets), str() the text."""
    code: str | None = None

    def __init__(self, text: str, code: str | None = None):
        super().__init__(text)
        if code is not None:
            self.code = code


class UnknownCTE(FetchFailed):
    """BINARY of a part whose Content-Transfer-Encoding we cannot decode:
    NO [UNKNOWN-CTE] (RFC 3516 section 4.3, RFC 9051 section 7.1)."""
    code = "UNKNOWN-CTE"


_HEADER_END = re.compile(rb"\n\r?\n")


def header_end(message: bytes) -> int:
    """Where the top-level header ends (after its blank line), by the same
    rule pillarbox.mime uses for the root part's body_start."""
    if not message:
        return 0
    first = message[0]
    if first == 10:
        return 1
    if first == 13 and message.startswith(b"\r\n"):
        return 2
    m = _HEADER_END.search(message)
    return m.end() if m else len(message)


def filter_header(block: bytes, names, exclude: bool) -> bytes:
    """The fields of header ``block`` whose names are (``exclude``: are
    not) in ``names`` (lower-case bytes), with their continuation lines,
    then the blank line if ``block`` has one. Lines that are not fields
    (no colon) count as fields whose name matches nothing."""
    out = []
    keep = False
    pos, n = 0, len(block)
    find = block.find
    while pos < n:
        nl = find(b"\n", pos)
        end = n if nl < 0 else nl + 1
        first = block[pos]
        if first == 10 or (first == 13 and end - pos == 2 and nl >= 0):
            out.append(block[pos:end])          # the blank line ends the header
            break
        if first == 32 or first == 9:           # continuation of the last field
            if keep:
                out.append(block[pos:end])
        else:
            colon = find(b":", pos, end)
            if colon < 0:
                keep = exclude
            else:
                keep = (block[pos:colon].rstrip(b" \t").lower() in names) != exclude
            if keep:
                out.append(block[pos:end])
        pos = end
    return b"".join(out)


@functools.lru_cache(maxsize=256)
def _field_names(fields: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(f.lower().encode("utf-8", "surrogateescape") for f in fields)


_IDENTITY = frozenset({"7BIT", "8BIT", "BINARY"})
_LONE_LF = re.compile(rb"(?<!\r)\n")
_LONE_CR = re.compile(rb"\r(?!\n)")


def _crlf(data: bytes) -> bytes:
    if b"\r" in data:
        if data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r"):
            return data
        data = _LONE_CR.sub(b"\r\n", data)
    elif b"\n" not in data:
        return data
    return _LONE_LF.sub(b"\r\n", data)


def decode_binary(raw: bytes, part: dict | None) -> bytes:
    """The content of a part with its Content-Transfer-Encoding removed
    (``part`` None: the whole message, sent as it is)."""
    if part is None or "parts" in part:
        return raw
    encoding = (part.get("encoding") or "7BIT").upper()
    if encoding in _IDENTITY:
        data = raw
    elif encoding in ("BASE64", "QUOTED-PRINTABLE"):
        data = decode_transfer(raw, encoding)
    else:
        raise UnknownCTE(f"Cannot decode Content-Transfer-Encoding {encoding[:40]}")
    if part.get("type") == "text":
        data = _crlf(data)
    return data


def apply_partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    """<offset.length>: past the end is empty, a length past the end stops there."""
    if partial is None:
        return data
    offset, length = partial
    if offset >= len(data):
        return b""
    if offset == 0 and length >= len(data):
        return data
    return data[offset:offset + length]


def _locate(message: bytes, body: dict | None, item: FetchItem):
    """(start, end, part) of the octets a section names, before any
    subsetting or decoding; None when it does not exist. ``part`` is the
    BodyPart whose encoding applies (for BINARY), None for the whole message."""
    section, what = item.section, item.part
    if not section:
        if what is None:
            return 0, len(message), None
        hend = body["body_start"] if body is not None else header_end(message)
        if what == "TEXT":
            return hend, len(message), None
        return 0, hend, None                    # HEADER, HEADER.FIELDS[.NOT]
    part = section_offsets(body, list(section)) if body is not None else None
    if part is None:
        return None
    if what is None:
        return part["body_start"], part["end"], part
    if what == "MIME":
        return part["header_start"], part["body_start"], part
    inner = part.get("message")
    if not isinstance(inner, dict):
        return None                             # HEADER/TEXT of a non-message part
    if what == "TEXT":
        return inner["body_start"], inner["end"], inner
    return inner["header_start"], inner["body_start"], inner


def extract_section(message: bytes, body: dict | None, item: FetchItem) -> bytes | None:
    """The data of a BODY[...] / BINARY[...] / RFC822[.HEADER/.TEXT] item,
    subset (HEADER.FIELDS), decoded (BINARY) and cut to its partial; None
    when the section does not exist. ``body`` is the cached root BodyPart;
    it may be None for sections without part numbers. BINARY.SIZE gets the
    whole decoded data. Raises UnknownCTE for BINARY of an undecodable part.
    """
    loc = _locate(message, body, item)
    if loc is None:
        return None
    start, end, part = loc
    if start < 0 or end > len(message) or start > end:     # a cache that does not fit
        start, end = max(0, min(start, len(message))), max(0, min(end, len(message)))
        if start > end:
            return None
    data = message if (start == 0 and end == len(message)) else message[start:end]
    what = item.part
    if what == "HEADER.FIELDS" or what == "HEADER.FIELDS.NOT":
        data = filter_header(data, _field_names(item.fields), what == "HEADER.FIELDS.NOT")
    elif item.name.startswith("BINARY"):
        data = decode_binary(data, part)
    if item.name == "BINARY.SIZE":
        return data
    return apply_partial(data, item.partial)
