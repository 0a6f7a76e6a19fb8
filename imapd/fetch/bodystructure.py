"""BODY and BODYSTRUCTURE (RFC 3501 / RFC 9051 section 7.5.2) from the
cached BodyPart dicts of pillarbox.mime.

Choices where the RFC leaves room (Cyrus writes them the same way):

* media type, subtype, parameter names and the disposition type are
  upper-cased ("TEXT" "PLAIN" ("CHARSET" "us-ascii")); parameter values, ids,
  descriptions, languages and locations are sent as they are in the message;
* a parameter list with no parameters is NIL;
* body language is always a parenthesised list of strings;
* parameters stay as pillarbox.mime caches them: RFC 2231 continuations
  merged, a charset-encoded value kept as "name*" "charset'lang'%XX";
* nested bodies are concatenated without a space, ``1*body SP subtype``;
* message/rfc822 gets envelope, body and lines; message/global (RFC 6532)
  gets them only for IMAP4rev2 or UTF8=ACCEPT sessions, since for an
  IMAP4rev1 client it is a basic body (media-message is "RFC822" only there);
* BODY (``extended=False``) leaves out all extension data, at every level.
"""

from __future__ import annotations

from .envelope import format_envelope, nstring

__all__ = ["format_bodystructure"]

_NIL = b"NIL"
# the part a multipart with no children stands in with, to keep 1*body
_EMPTY_TEXT = {
    "type": "text", "subtype": "plain", "params": [["charset", "us-ascii"]],
    "id": None, "description": None, "encoding": "7BIT", "size": 0, "lines": 0,
    "md5": None, "disposition": None, "language": None, "location": None,
}


def _upper(value) -> str | None:
    return value.upper() if isinstance(value, str) else value


def _params(params, utf8: bool) -> bytes:
    if not params:
        return _NIL
    out = []
    for pair in params:
        if not pair or len(pair) != 2:
            continue
        out.append(nstring(_upper(pair[0]) or "", utf8))
        out.append(nstring(pair[1] if pair[1] is not None else "", utf8))
    if not out:
        return _NIL
    return b"(" + b" ".join(out) + b")"


def _disposition(disp, utf8: bool) -> bytes:
    if not disp or not isinstance(disp, (list, tuple)) or not disp[0]:
        return _NIL
    params = disp[1] if len(disp) > 1 else None
    return b"(" + nstring(_upper(disp[0]), utf8) + b" " + _params(params, utf8) + b")"


def _language(lang, utf8: bool) -> bytes:
    if not lang:
        return _NIL
    if isinstance(lang, str):
        lang = [lang]
    return b"(" + b" ".join(nstring(tag, utf8) for tag in lang) + b")"


def _extension(part: dict, out: list, utf8: bool) -> None:
    out.append(b" ")
    out.append(_disposition(part.get("disposition"), utf8))
    out.append(b" ")
    out.append(_language(part.get("language"), utf8))
    out.append(b" ")
    out.append(nstring(part.get("location"), utf8))


def _body(part: dict, out: list, extended: bool, utf8: bool, rev2: bool) -> None:
    if not isinstance(part, dict):
        part = _EMPTY_TEXT
    parts = part.get("parts")
    if parts is not None:
        out.append(b"(")
        if not parts:
            parts = [_EMPTY_TEXT]
        for child in parts:
            _body(child, out, extended, utf8, rev2)
        out.append(b" ")
        out.append(nstring(_upper(part.get("subtype") or "mixed"), utf8))
        if extended:
            out.append(b" ")
            out.append(_params(part.get("params"), utf8))
            _extension(part, out, utf8)
        out.append(b")")
        return

    ctype = part.get("type") or "text"
    subtype = part.get("subtype") or "plain"
    out.append(b"(")
    out.append(nstring(ctype.upper(), utf8))
    out.append(b" ")
    out.append(nstring(subtype.upper(), utf8))
    out.append(b" ")
    out.append(_params(part.get("params"), utf8))
    out.append(b" ")
    out.append(nstring(part.get("id"), utf8))
    out.append(b" ")
    out.append(nstring(part.get("description"), utf8))
    out.append(b" ")
    out.append(nstring(part.get("encoding") or "7BIT", utf8))
    out.append(b" %d" % int(part.get("size") or 0))
    if (ctype == "message" and "message" in part
            and (subtype == "rfc822" or (subtype == "global" and (rev2 or utf8)))):
        out.append(b" ")
        out.append(format_envelope(part.get("envelope"), utf8=utf8))
        out.append(b" ")
        _body(part["message"], out, extended, utf8, rev2)
        out.append(b" %d" % int(part.get("lines") or 0))
    elif ctype == "text":
        out.append(b" %d" % int(part.get("lines") or 0))
    if extended:
        out.append(b" ")
        out.append(nstring(part.get("md5"), utf8))
        _extension(part, out, utf8)
    out.append(b")")


def format_bodystructure(body: dict, *, extended: bool, utf8: bool,
                         imap4rev2: bool = False) -> bytes:
    """BODYSTRUCTURE (``extended=True``: with extension data) or BODY
    (``extended=False``) of a cached root BodyPart."""
    out: list[bytes] = []
    _body(body, out, extended, utf8, imap4rev2)
    return b"".join(out)
