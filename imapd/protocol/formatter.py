"""Response formatting: Python values to IMAP bytes.

`format_value` maps values to the response grammar (RFC 3501/RFC 9051 section
9) and never produces invalid syntax for the types it accepts:

==================  =========================================================
None                ``NIL``
bool                TypeError (say what you mean: a flag, an atom, a number)
int (>= 0)          decimal; negative numbers are a ValueError
Raw (str)           as is (atoms, flags, NIL, section keys, pre-formatted text)
RawBytes (bytes)    as is (e.g. a cached, already formatted BODYSTRUCTURE)
str                 quoted string when it can be, else a literal (see below)
bytes               the same rules on the octets
AsLiteral (bytes)   always a literal ``{n}`` (message bodies: BODY[], RFC822)
Binary (bytes)      always a literal; literal8 ``~{n}`` when it holds NUL
                    (only for FETCH BINARY[...] answers, RFC 3516)
list / tuple        ``(`` items separated by SP ``)``, nested
Atom/String/List    the token types of tokens.py, formatted back
==================  =========================================================

Quoted or literal: a value is quoted when it has at most `QUOTE_MAX` octets,
no CR, LF or NUL and - unless ``utf8=True`` (IMAP4rev2 or UTF8=ACCEPT
enabled) - only 7-bit characters; other TEXT-CHARs such as TAB are quoted
(the grammar allows them). With ``utf8=True`` non-ASCII text is quoted as
UTF-8 when it is valid UTF-8. Everything else is a literal; a str holding
surrogate escapes (``surrogateescape`` decoding) becomes a literal of the
original bytes. A NUL can only travel in literal8, so outside `Binary` a NUL
is replaced by 0x80 (what Dovecot does for non-binary fetches): the length
stays the same and the syntax stays valid.
"""

from __future__ import annotations

import re

from .tokens import Atom, List, String

__all__ = [
    "AsLiteral",
    "Binary",
    "QUOTE_MAX",
    "Raw",
    "RawBytes",
    "continuation",
    "format_value",
    "quote",
    "tagged",
    "untagged",
]

#: Longest value sent as a quoted string; longer ones go as literals.
QUOTE_MAX = 1024


class Raw(str):
    """Text emitted exactly as it is (the caller vouches for its syntax)."""

    __slots__ = ()


class RawBytes(bytes):
    """Octets emitted exactly as they are (pre-formatted response fragments)."""

    __slots__ = ()


class AsLiteral(bytes):
    """Octets always sent as a literal ``{n}`` (NUL replaced by 0x80)."""

    __slots__ = ()


class Binary(bytes):
    """Octets always sent as a literal: literal8 ``~{n}`` if they contain NUL.

    Only for answers to FETCH BINARY[...]/BINARY.PEEK[...] (RFC 3516), where
    the client has announced that it takes literal8.
    """

    __slots__ = ()


_STR_LITERAL = re.compile(r"[\x00\r\n\x80-\U0010ffff]")
_STR_LITERAL_UTF8 = re.compile(r"[\x00\r\n\ud800-\udfff]")
_BYTES_LITERAL = re.compile(rb"[\x00\r\n\x80-\xff]")
_BYTES_LITERAL_UTF8 = re.compile(rb"[\x00\r\n]")
_TEXT_BAD = re.compile(r"[\r\n\x00]+")
_CODE_BAD = re.compile(r"[\r\n\x00\]]+")


def _literal(data: bytes) -> bytes:
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x80")
    return b"{%d}\r\n" % len(data) + data


def _quote_str(text: str) -> bytes:
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return b'"' + text.encode("utf-8") + b'"'


def _quote_bytes(data: bytes) -> bytes:
    if b"\\" in data or b'"' in data:
        data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + data + b'"'


def _str_value(text: str, utf8: bool) -> bytes:
    if len(text) <= QUOTE_MAX and (_STR_LITERAL_UTF8 if utf8 else _STR_LITERAL).search(text) is None:
        if len(text) <= QUOTE_MAX // 4 or len(text.encode("utf-8")) <= QUOTE_MAX:
            return _quote_str(text)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        data = text.encode("utf-8", "replace")
    return _literal(data)


def _bytes_value(data: bytes, utf8: bool) -> bytes:
    if len(data) <= QUOTE_MAX:
        if utf8:
            if _BYTES_LITERAL_UTF8.search(data) is None:
                if data.isascii():
                    return _quote_bytes(data)
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    return _quote_bytes(data)
        elif _BYTES_LITERAL.search(data) is None:
            return _quote_bytes(data)
    return _literal(data)


def format_value(value, *, utf8: bool = False) -> bytes:
    """One response value as bytes (see the module documentation)."""
    t = type(value)
    if t is Raw:
        return value.encode("utf-8", "surrogateescape")
    if t is str:
        return _str_value(value, utf8)
    if t is int:
        if value < 0:
            raise ValueError(f"IMAP numbers are unsigned: {value}")
        return b"%d" % value
    if value is None:
        return b"NIL"
    if t is list or t is tuple:
        return b"(" + b" ".join([format_value(v, utf8=utf8) for v in value]) + b")"
    if t is bytes:
        return _bytes_value(value, utf8)
    if t is RawBytes:
        return bytes(value)
    if t is AsLiteral:
        return _literal(bytes(value))
    if t is Binary:
        if b"\x00" in value:
            return b"~{%d}\r\n" % len(value) + bytes(value)
        return b"{%d}\r\n" % len(value) + bytes(value)
    if t is bool:
        raise TypeError("bool is not an IMAP value (use a flag, an atom or a number)")
    # Subclasses and the token types.
    if isinstance(value, Raw):
        return str.encode(value, "utf-8", "surrogateescape")
    if isinstance(value, Atom):
        return value.text.encode("utf-8", "surrogateescape")
    if isinstance(value, String):
        if value.binary:
            return format_value(Binary(value.data), utf8=utf8)
        if value.literal:
            return _literal(value.data)
        return _bytes_value(value.data, utf8)
    if isinstance(value, List):
        return format_value(tuple(value.items), utf8=utf8)
    if isinstance(value, str):
        return _str_value(str(value), utf8)
    if isinstance(value, int):
        return format_value(int(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_value(bytes(value), utf8)
    if isinstance(value, (list, tuple)):
        return format_value(tuple(value), utf8=utf8)
    raise TypeError(f"cannot format {t.__name__} as an IMAP value")


def quote(text: str) -> bytes:
    """``text`` as a quoted string; ValueError if it cannot be one (CR, LF, NUL,
    or surrogates). Non-ASCII text is quoted as UTF-8: only use that where
    UTF-8 is allowed."""
    if _STR_LITERAL_UTF8.search(text) is not None:
        raise ValueError(f"cannot be a quoted string: {text!r}")
    return _quote_str(text)


def untagged(*parts, utf8: bool = False) -> bytes:
    """``* part part ...\\r\\n``; parts go through `format_value`, so words
    must be `Raw` (``untagged(3, Raw("EXISTS"))``) - a plain str is quoted."""
    return b"* " + b" ".join([format_value(p, utf8=utf8) for p in parts]) + b"\r\n"


def _text(text: str, utf8: bool) -> bytes:
    text = _TEXT_BAD.sub(" ", text).strip(" ") if _TEXT_BAD.search(text) else text
    if utf8:
        return text.encode("utf-8", "replace")
    return text.encode("ascii", "replace")


def tagged(tag: str, status: str, text: str, code: str | None = None, *, utf8: bool = False) -> bytes:
    """``tag status [code] text\\r\\n`` (tag may be ``*`` for untagged status).

    The text is sanitised: CR/LF/NUL become spaces; without ``utf8`` non-ASCII
    becomes "?" (TEXT-CHAR is 7-bit in IMAP4rev1); an empty text becomes
    "completed" (the grammar needs one character). The code loses any CR, LF,
    NUL or "]".
    """
    body = _text(text, utf8) or b"completed"
    head = f"{tag} {status} ".encode("ascii", "replace")
    if code:
        code = _CODE_BAD.sub(" ", code).strip(" ")
        if code:
            return head + b"[" + code.encode("utf-8", "replace") + b"] " + body + b"\r\n"
    return head + body + b"\r\n"


def continuation(text: str = "", *, utf8: bool = False) -> bytes:
    """``+ text\\r\\n`` (text sanitised as for `tagged`; may be empty, or base64)."""
    return b"+ " + _text(text, utf8) + b"\r\n"
