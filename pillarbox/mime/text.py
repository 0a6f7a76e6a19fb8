"""Turning message octets into searchable text.

Everything here is lenient and never raises on bad input: unknown charsets
fall back to UTF-8 (then Windows-1252), broken base64 and quoted-printable
decode as far as they go, and HTML is reduced to its text with a few regular
expressions (no parser: it runs on every delivered message).

String convention of the package: a value taken from the message is the raw
bytes decoded as UTF-8 with errors="surrogateescape", so the exact bytes can
be recovered with ``.encode("utf-8", "surrogateescape")``. The functions here
that produce *decoded* text (for search and display) never return surrogates,
so their results can be stored in SQLite as they are.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import html
import re

__all__ = [
    "decode_bytes",
    "decode_words",
    "decode_transfer",
    "html_to_text",
    "raw_to_text",
    "clean_text",
]

# --- charsets ---------------------------------------------------------------

# Labels mail software uses that Python does not know, or knows as a narrower
# charset than senders actually use (the WHATWG Encoding Standard makes the
# same substitutions: mail labelled Latin-1 is Windows-1252 in practice, GB2312
# is GBK/GB18030, Shift_JIS is CP932, EUC-KR and KS C 5601 are CP949).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-mac-roman": "mac-roman",
}

# Labels that say "ASCII" or "no idea": both get the UTF-8/Windows-1252 guess.
_UNKNOWN_LABELS = frozenset({
    "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "646",
    "unknown", "x-unknown", "unknown-8bit", "x-user-defined", "default",
    "charset", "none", "8bit", "7bit",
})

# Codecs that bytes.decode() accepts but that are not charsets anyone sends
# text in; a label naming one of these is treated as unknown.
_NOT_CHARSETS = frozenset({
    "unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined",
    "mbcs", "oem", "palmos", "unicode_internal",
})


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown.

    us-ascii (and labels meaning "no idea") return None too: those bodies get
    the UTF-8-then-Windows-1252 guess, which decodes real ASCII identically.
    """
    if not label:
        return None
    name = label.strip().strip('"').strip().lower()
    if "*" in name:                     # RFC 2231 language suffix: utf-8*en
        name = name.split("*", 1)[0]
    if name in _UNKNOWN_LABELS:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


# Charsets whose encoded form is pure ASCII (escape sequences, modified
# base64): ASCII input still has to go through the codec.
_SEVEN_BIT_CODECS = frozenset({
    "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004",
    "iso2022_jp_3", "iso2022_jp_ext", "iso2022_kr", "utf-7", "hz",
})


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text octets in a declared charset, never failing.

    ASCII is returned as is; an unknown or missing charset is guessed as
    UTF-8 when the octets are valid UTF-8, else Windows-1252.
    """
    codec = _codec(charset)
    if data.isascii() and codec not in _SEVEN_BIT_CODECS:
        return data.decode("ascii")
    if codec is not None and codec != "utf-8":
        try:
            return data.decode(codec, "replace")
        except Exception:               # a codec that fails even with "replace"
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if codec == "utf-8":
            return data.decode("utf-8", "replace")
        return data.decode("cp1252", "replace")


def raw_to_text(value: str) -> str:
    """A surrogateescape string from the message as displayable text.

    Valid UTF-8 was already decoded by the surrogateescape decoding; what is
    left as surrogates is 8-bit text in some other charset, guessed as
    Windows-1252 (the common case for raw 8-bit headers).
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape")
        return raw.decode("cp1252", "replace")


def clean_text(value: str) -> str:
    """Make decoded text safe to store: no NULs and no lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


# --- RFC 2047 encoded words ----------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_LWSP_ONLY = re.compile(r"[ \t\r\n]*\Z")


def _b64_lenient(data: bytes) -> bytes:
    """Base64 that ignores junk and bad padding instead of failing."""
    data = data.translate(None, _B64_DELETE)
    extra = len(data) % 4
    if extra == 1:                      # a lone sextet carries no full octet
        data = data[:-1]
    elif extra:
        data += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return b""


_B64_ALPHABET = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 b"0123456789+/")
_B64_DELETE = bytes(c for c in range(256) if c not in _B64_ALPHABET)


def _decode_word(encoding: str, text: str) -> bytes:
    raw = text.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        return _b64_lenient(raw)
    try:
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return raw


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words in a header value (for search/display).

    Whitespace between adjacent encoded-words is dropped (RFC 2047 section
    6.2); adjacent words in the same charset are joined as octets before
    decoding, so a multi-octet character split across two words survives.
    Raw 8-bit text outside encoded-words is taken as UTF-8, else
    Windows-1252. The result contains no surrogates.
    """
    if "=?" not in value:
        return raw_to_text(value)
    out: list[str] = []
    pending = bytearray()
    pending_cs: str | None = None
    pos = 0
    after_word = False
    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos:m.start()]
        if not (after_word and _LWSP_ONLY.match(gap)):
            if pending:
                out.append(decode_bytes(bytes(pending), pending_cs))
                pending.clear()
            out.append(raw_to_text(gap))
        charset = m.group(1).split("*", 1)[0].lower()
        octets = _decode_word(m.group(2), m.group(3))
        if pending and charset != pending_cs:
            out.append(decode_bytes(bytes(pending), pending_cs))
            pending.clear()
        pending_cs = charset
        pending += octets
        pos = m.end()
        after_word = True
    if pending:
        out.append(decode_bytes(bytes(pending), pending_cs))
    out.append(raw_to_text(value[pos:]))
    return "".join(out)


# --- Content-Transfer-Encoding -------------------------------------------------------

def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding, leniently.

    BASE64 skips characters outside the alphabet and tolerates missing
    padding; QUOTED-PRINTABLE keeps malformed escapes as they are; anything
    else (7BIT, 8BIT, BINARY, unknown tokens) is returned unchanged.
    """
    if not encoding:
        return data
    enc = encoding.upper()
    if enc == "BASE64":
        return _b64_lenient(data)
    if enc == "QUOTED-PRINTABLE":
        try:
            return binascii.a2b_qp(data)
        except (binascii.Error, ValueError):
            return data
    return data


# --- HTML --------------------------------------------------------------------

_HTML_DROP = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|head)\b[^<>]{0,2000}>.*?(?:</\1\s*>|\Z)",
    re.I | re.S)
_HTML_BREAK = re.compile(
    r"<(?:br|p|div|tr|li|ul|ol|table|h[1-6]|blockquote|pre|hr|dt|dd|title)\b[^<>]{0,2000}>"
    r"|</(?:p|div|tr|li|ul|ol|table|h[1-6]|blockquote|pre|dt|dd|title)\s*>",
    re.I)
_HTML_INLINE = re.compile(
    r"</?(?:a|b|i|u|s|em|strong|span|font|small|big|sub|sup|code|tt|strike"
    r"|abbr|mark|q|cite|del|ins|wbr)\b[^<>]{0,2000}>", re.I)
_HTML_TAG = re.compile(r"<[!/?]?[A-Za-z][^<>]*>?")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r" ?\n[ \n]*")


def html_to_text(markup: str) -> str:
    """Reduce HTML to its text: drop script/style/head and comments, turn
    block elements into line breaks, remove the other tags, expand entities
    and collapse runs of whitespace."""
    s = _HTML_DROP.sub(" ", markup)
    s = _HTML_BREAK.sub("\n", s)
    s = _HTML_INLINE.sub("", s)
    s = _HTML_TAG.sub(" ", s)
    if "&" in s:
        s = html.unescape(s)
    s = _SPACES.sub(" ", s)
    s = _BLANK_LINES.sub("\n", s)
    return s.strip()
