"""The MIME tree of a message, as JSON-able BodyPart dicts (RFC 2045/2046,
RFC 3501 / RFC 9051 section 7.5.2 BODYSTRUCTURE, section 6.4.5 part numbers).

One pass over the octets with bytes.find: no copies of bodies, no stdlib
``email`` objects. Boundary handling follows RFC 2046 section 5.1.1 the way
Dovecot's message-parser does it:

* a delimiter is a line that starts with "--" + boundary, followed by
  whitespace/end of line ("--" + boundary + "--" closes the multipart);
  anything else after the boundary (e.g. "--abc" when the boundary is "ab")
  is not a delimiter;
* every enclosing multipart's boundary is looked for, innermost first, the
  longest matching boundary winning; an enclosing delimiter ends all the
  parts nested inside it, and a nested multipart that reuses its parent's
  boundary works (the innermost one claims the delimiters until it is
  closed);
* the CRLF before a delimiter belongs to the delimiter, not to the part
  (unless it is the blank line that ends the part's header);
* a delimiter met while reading a part's header ends the header and leaves
  the part's body empty;
* a missing close delimiter ends the parts at the end of the data;
* preamble and epilogue belong to no part (they are inside the multipart's
  body range but in none of its children).

A part is MIME (its Content-* fields count) when it is inside a multipart,
or has Content-Type or MIME-Version; otherwise Content-* fields are ignored
and it is text/plain, as in Dovecot. A missing or syntactically invalid
Content-Type means text/plain (message/rfc822 directly inside a
multipart/digest), RFC 2045 section 5.2 and RFC 2046 section 5.1.5. A
text/* part without a charset parameter gets ("charset", "us-ascii") appended
to its params, as Dovecot sends it. A multipart in which no part is found
(no boundary parameter, no delimiter, "--boundary--" at once) gets one empty
text/plain part, as Dovecot sends it.

Limits: containers (multipart, message/rfc822, message/global) nested
MAX_DEPTH deep, or found after MAX_PARTS parts, are not parsed into: the
part becomes an opaque application/octet-stream leaf covering the same
octets.

BodyPart dict keys (all values are str, int, None, list or dict):

every part      type, subtype, params, disposition, language, location,
                header_start, body_start, end
non-multipart   id, description, encoding, size, md5
text/*          lines
message/rfc822, message/global
                lines, envelope, message (the encapsulated message's root part)
multipart       parts

Offsets index the data given to parse_message: the part's MIME header is
data[header_start:body_start] (with its terminating blank line, if any), its
body data[body_start:end]. For an encapsulated message root, header_start is
the message/rfc822 part's body_start.
"""

from __future__ import annotations

import re

from .envelope import build_envelope
from .headers import (parse_content_type, parse_disposition, parse_language,
                      parse_transfer_encoding, rfc2231_octets, split_fields)

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Parser", "section_offsets", "empty_part"]

MAX_DEPTH = 100
MAX_PARTS = 10000

# the blank line that ends a header, or a line that may be a delimiter
_HEADER_STOP = re.compile(rb"\n\r?\n|\n--")
_ENCAPSULATED = ("rfc822", "global")


def empty_part(pos: int) -> dict:
    """The zero-length text/plain part (stand-in for a multipart's missing
    children and for an encapsulated message that is not there)."""
    return {
        "type": "text", "subtype": "plain", "params": [["charset", "us-ascii"]],
        "id": None, "description": None, "encoding": "7BIT", "size": 0,
        "lines": 0, "md5": None, "disposition": None, "language": None,
        "location": None, "header_start": pos, "body_start": pos, "end": pos,
    }


class Parser:
    """Parse one message. ``entity(0, 0, False, True)`` returns the root.

    ``texts`` collects the text/* leaves in document order (for body_text).
    A delimiter found while parsing ("term") is the tuple
    (stack index, is_close, line_start, after_line, line_has_lf).
    """

    __slots__ = ("data", "n", "stack", "budget", "texts")

    def __init__(self, data: bytes):
        self.data = data
        self.n = len(data)
        self.stack: list[bytes] = []
        self.budget = MAX_PARTS
        self.texts: list[dict] = []

    # --- delimiters ------------------------------------------------------------------

    def _match(self, line: int):
        """The delimiter at line start ``line``, or None."""
        data = self.data
        stack = self.stack
        k0 = line + 2
        best = None
        best_len = -1
        for idx in range(len(stack) - 1, -1, -1):
            b = stack[idx]
            lb = len(b)
            if lb <= best_len or not data.startswith(b, k0):
                continue
            k = k0 + lb
            if k >= self.n:
                close = False
            else:
                c = data[k]
                if c == 45 and data.startswith(b"--", k):
                    close = True
                elif c in (13, 10, 32, 9):
                    close = False
                else:
                    continue
            best = (idx, close, k)
            best_len = lb
        if best is None:
            return None
        idx, close, k = best
        nl = data.find(b"\n", k)
        if nl < 0:
            return (idx, close, line, self.n, False)
        return (idx, close, line, nl + 1, True)

    def _scan(self, pos: int, stop: int):
        """The first delimiter line starting in [pos, stop); pos is at the
        start of a line."""
        if not self.stack:
            return None
        data = self.data
        if pos < stop and data.startswith(b"--", pos):
            t = self._match(pos)
            if t is not None:
                return t
        p = pos
        while True:
            i = data.find(b"\n--", p, stop)
            if i < 0:
                return None
            t = self._match(i + 1)
            if t is not None:
                return t
            p = i + 1

    def _crlf(self, line: int, floor: int) -> int:
        """Where the line break before ``line`` starts (it belongs to the
        delimiter on that line), not going below ``floor``."""
        data = self.data
        p = line
        if p > floor and data[p - 1] == 10:
            p -= 1
            if p > floor and data[p - 1] == 13:
                p -= 1
        return p

    # --- headers -----------------------------------------------------------------------

    def _header(self, pos: int):
        """(fields, body_start, term) of the header starting at pos; term is
        the delimiter the header ran into (then the body is empty), or None.

        The search stops at the blank line or at the first line starting
        with "--" that is a delimiter, whichever comes first, so it never
        reads past the header (many headerless parts stay linear).
        """
        data, n = self.data, self.n
        if pos >= n:
            return [], n, None
        c = data[pos]
        if c == 10:
            return [], pos + 1, None
        if c == 13 and data.startswith(b"\r\n", pos):
            return [], pos + 2, None
        stack = self.stack
        if stack and c == 45 and data.startswith(b"--", pos):
            term = self._match(pos)
            if term is not None:
                return [], pos, term
        at = pos
        while True:
            m = _HEADER_STOP.search(data, at)
            if m is None:
                return split_fields(data[pos:n]), n, None
            start = m.start()
            if data[start + 1] == 45:           # "\n--": a delimiter?
                if stack:
                    term = self._match(start + 1)
                    if term is not None:
                        end = self._crlf(start + 1, pos)
                        return split_fields(data[pos:end]), end, term
                at = start + 1
                continue
            return split_fields(data[pos:start + 1]), m.end(), None

    # --- entities ----------------------------------------------------------------------

    def entity(self, pos: int, depth: int, digest_child: bool,
               message_root: bool):
        """Parse the entity (MIME header + body) starting at pos.

        Returns (part, term, hdr, fields): the BodyPart dict, the delimiter
        that ended it (None at end of data), the {lower-case name: first
        value} dict and the (name, value) list of its header fields.
        """
        data = self.data
        self.budget -= 1
        fields, body_start, term = self._header(pos)
        hdr: dict[str, str] = {}
        for name, value in fields:
            key = name.lower()
            if key not in hdr:
                hdr[key] = value

        is_mime = (not message_root or "content-type" in hdr
                   or "mime-version" in hdr)
        ct = None
        if is_mime:
            value = hdr.get("content-type")
            if value is not None:
                ct = parse_content_type(value)
        if ct is None:
            if digest_child:
                ctype, subtype, params = "message", "rfc822", []
            else:
                ctype, subtype, params = "text", "plain", []
        else:
            ctype, subtype, params = ct
        container = ctype == "multipart" or (
            ctype == "message" and subtype in _ENCAPSULATED)
        if container and (depth >= MAX_DEPTH or self.budget <= 0):
            ctype, subtype, params = "application", "octet-stream", []
            container = False
        if ctype == "text" and not any(p[0] == "charset" for p in params):
            params.append(["charset", "us-ascii"])

        part: dict = {"type": ctype, "subtype": subtype, "params": params}
        extra: dict = {}

        if ctype == "multipart":
            end, term, parts = self._multipart(params, subtype, body_start,
                                               term, depth)
            extra["parts"] = parts
        else:
            if is_mime:
                cte = hdr.get("content-transfer-encoding")
                part["id"] = hdr.get("content-id")
                part["description"] = hdr.get("content-description")
                part["encoding"] = (cte is not None and
                                    parse_transfer_encoding(cte)) or "7BIT"
            else:
                part["id"] = part["description"] = None
                part["encoding"] = "7BIT"
            if container:                       # message/rfc822, message/global
                if term is None:
                    child, term, chdr, _cf = self.entity(body_start, depth + 1,
                                                         False, True)
                    end = child["end"]
                    extra["envelope"] = build_envelope(chdr)
                else:
                    child = empty_part(body_start)
                    end = body_start
                    extra["envelope"] = build_envelope({})
                extra["message"] = child
            elif term is not None:              # the header ran into a delimiter
                end = body_start
            else:                               # the next delimiter ends the body
                term = self._scan(body_start, self.n)
                end = self.n if term is None else self._crlf(term[2], body_start)
            part["size"] = end - body_start
            if container or ctype == "text":
                part["lines"] = data.count(b"\n", body_start, end)
            part["md5"] = hdr.get("content-md5") if is_mime else None

        if is_mime:
            value = hdr.get("content-disposition")
            part["disposition"] = parse_disposition(value) if value is not None else None
            value = hdr.get("content-language")
            part["language"] = parse_language(value) if value is not None else None
            part["location"] = hdr.get("content-location")
        else:
            part["disposition"] = part["language"] = part["location"] = None
        part["header_start"] = pos
        part["body_start"] = body_start
        part["end"] = end
        part.update(extra)
        if ctype == "text":
            self.texts.append(part)
        return part, term, hdr, fields

    def _multipart(self, params, subtype, body_start, term, depth):
        """Parse a multipart body; returns (end, term, parts)."""
        n = self.n
        parts: list[dict] = []
        if term is not None:                    # the header ran into a delimiter
            return body_start, term, [empty_part(body_start)]
        boundary = _boundary(params)
        if not boundary:
            term = self._scan(body_start, n)
            end = n if term is None else self._crlf(term[2], body_start)
            return end, term, [empty_part(body_start)]

        stack = self.stack
        mine = len(stack)
        stack.append(boundary)
        digest = subtype == "digest"
        t = self._scan(body_start, n)           # end of the preamble
        while True:
            if t is None:
                end, term = n, None
                break
            idx, close, line, after, has_lf = t
            if idx < mine:                      # an enclosing delimiter
                end, term = self._crlf(line, body_start), t
                break
            if close:                           # epilogue up to the next enclosing delimiter
                del stack[mine:]
                term = self._scan(after, n)
                end = n if term is None else self._crlf(term[2], after)
                break
            if not has_lf:                      # "--boundary" as the last octets
                end, term = n, None
                break
            if self.budget <= 0:                # too many parts: skip the rest
                t = self._scan(after, n)
                continue
            child, t, _hdr, _fields = self.entity(after, depth + 1, digest, False)
            parts.append(child)
        del stack[mine:]
        if not parts:
            parts.append(empty_part(body_start))
        return end, term, parts


def _boundary(params) -> bytes:
    """The boundary octets: the first "boundary" parameter, else a
    charset-encoded "boundary*" one (RFC 2231; Dovecot and Cyrus miss
    those). Empty when there is none, which means the multipart has no
    parts."""
    for name, value in params:
        if name == "boundary":
            return value.encode("utf-8", "surrogateescape")
    for name, value in params:
        if name == "boundary*":
            return rfc2231_octets(value)[0]
    return b""


def section_offsets(body: dict, section: list[int]) -> dict | None:
    """The BodyPart that IMAP part number ``section`` (e.g. [2, 1] for
    "2.1") names, or None if there is no such part. [] is the whole message.

    RFC 3501 section 6.4.5: the parts of a multipart are numbered from 1; a
    message (the top-level one, or one encapsulated in a message/rfc822
    part) that is not multipart has only part 1, its body; a number after a
    message/rfc822 part addresses the parts of the encapsulated message.

    So for a message/rfc822 part P, [.., p] returns P (BODY[p] is the whole
    encapsulated message, data[P.body_start:P.end]) and BODY[p.HEADER] /
    BODY[p.TEXT] use P["message"]'s header_start/body_start/end. When the
    returned dict is a message root reached as its own part 1, BODY[..] is
    its body data[body_start:end] and .MIME is its header.
    """
    cur = body
    at_root = True          # cur is a message whose part numbers come next
    try:
        for num in section:
            if isinstance(num, bool) or not isinstance(num, int) or num < 1:
                return None
            if not at_root:
                if "message" in cur:
                    cur = cur["message"]
                    at_root = True
                elif "parts" not in cur:
                    return None
            parts = cur.get("parts")
            if parts is not None:
                if num > len(parts):
                    return None
                cur = parts[num - 1]
            elif at_root and num == 1:
                pass                            # the body of a non-multipart message
            else:
                return None
            at_root = False
    except (TypeError, KeyError, AttributeError):
        return None
    return cur
