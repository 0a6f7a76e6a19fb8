"""Header fields and MIME parameters (RFC 5322 section 2.2, RFC 2045, RFC 2231).

Values are surrogateescape strings (see pillarbox.mime.text). Parsing follows
what Dovecot and Cyrus do with real mail: comments are skipped wherever
CFWS may appear, a syntactically invalid Content-Type is ignored (RFC 2045
section 5.2: assume the default), broken parameters are skipped up to the
next ";", and RFC 2231 continuations are merged into one parameter while a
charset-encoded value keeps its ``name*`` / ``charset'lang'%XX`` form, which is
what both servers put in BODYSTRUCTURE and what IMAP clients decode.
"""

from __future__ import annotations

import re
import urllib.parse

from .text import decode_bytes, decode_words, raw_to_text

__all__ = [
    "split_fields",
    "parse_content_type",
    "parse_disposition",
    "parse_transfer_encoding",
    "parse_language",
    "decode_params",
    "rfc2231_octets",
]

# --- the header block ------------------------------------------------------------

# A field ends at a line break not followed by WSP (which would fold it).
_FIELD_SPLIT = re.compile(r"\r?\n(?![ \t])")
# RFC 5322 field-name: printable US-ASCII except ":" (and so no spaces).
_FIELD_NAME = re.compile(r"[!-9;-~]+\Z")


def split_fields(block: bytes) -> list[tuple[str, str]]:
    """The fields of a header block as (name, value) pairs, in order.

    The value is unfolded (CR and LF removed, the WSP after them kept) and
    has its leading whitespace removed. Lines that are not fields (no colon,
    a name with spaces or 8-bit octets such as an mbox "From " line, a
    continuation with nothing to continue) are skipped.
    """
    text = block.decode("utf-8", "surrogateescape")
    fields = []
    for raw in _FIELD_SPLIT.split(text):
        name, colon, value = raw.partition(":")
        if not colon:
            continue
        name = name.rstrip(" \t")
        if not _FIELD_NAME.match(name):
            continue
        if "\n" in value or "\r" in value:
            value = value.replace("\r", "").replace("\n", "")
        fields.append((name, value.lstrip(" \t")))
    return fields


# --- lexical helpers for structured MIME fields ---------------------------------------

# RFC 2045 token: any US-ASCII CHAR except SPACE, CTLs and tspecials.
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# An unquoted parameter value as real mail has it: tolerant of tspecials and
# 8-bit octets, stopping at the parameter separator, whitespace, a comment or
# a quote.
_LOOSE_VALUE = re.compile(r'[^;"(\s]+')
_WSP = " \t\r\n"


def _skip_cfws(s: str, i: int) -> int:
    """Index of the first character at or after i that is not whitespace or
    part of a (possibly nested) comment."""
    n = len(s)
    while i < n:
        c = s[i]
        if c in _WSP:
            i += 1
        elif c == "(":
            depth = 1
            i += 1
            while i < n and depth:
                c = s[i]
                if c == "\\":
                    i += 2
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                i += 1
        else:
            break
    return min(i, n)


def _quoted(s: str, i: int) -> tuple[str, int]:
    """Content of the quoted-string starting at s[i] == '"' (quoted-pairs
    resolved), and the index after it. An unterminated string runs to the end."""
    out = []
    n = len(s)
    i += 1
    start = i
    while i < n:
        c = s[i]
        if c == '"':
            out.append(s[start:i])
            return "".join(out), i + 1
        if c == "\\" and i + 1 < n:
            out.append(s[start:i])
            out.append(s[i + 1])
            i += 2
            start = i
            continue
        i += 1
    out.append(s[start:n])
    return "".join(out), n


def _parse_params(s: str, i: int) -> list[list[str]]:
    """The ;-separated attribute=value list from s[i:], names lower-cased,
    quoted values unquoted, RFC 2231 sections merged."""
    params: list[list[str]] = []
    n = len(s)
    while True:
        i = _skip_cfws(s, i)
        if i >= n:
            break
        if s[i] != ";":
            # junk where a separator belongs: resume at the next ";"
            j = s.find(";", i)
            if j < 0:
                break
            i = j
        i = _skip_cfws(s, i + 1)
        if i >= n:
            break
        m = _TOKEN.match(s, i)
        if m is None:
            continue
        name = m.group().lower()
        i = _skip_cfws(s, m.end())
        if i >= n or s[i] != "=":
            continue                    # attribute without value: ignored
        i = _skip_cfws(s, i + 1)
        if i < n and s[i] == '"':
            value, i = _quoted(s, i)
        else:
            m = _LOOSE_VALUE.match(s, i)
            if m is None:
                value = ""
            else:
                words = [m.group()]
                i = m.end()
                # an unquoted value with spaces in it (name=my file.pdf):
                # keep the words up to the next ";"
                while True:
                    k = _skip_cfws(s, i)
                    if k >= n or s[k] == ";":
                        break
                    m = _LOOSE_VALUE.match(s, k)
                    if m is None:
                        break
                    words.append(m.group())
                    i = m.end()
                value = " ".join(words)
        params.append([name, value])
    if any("*" in p[0] for p in params):
        params = _merge_rfc2231(params)
    return params


_SECTION = re.compile(r"([0-9]{1,3})(\*?)\Z")


def _merge_rfc2231(params: list[list[str]]) -> list[list[str]]:
    """Merge RFC 2231 continuations (name*0, name*1*, ...) into one parameter.

    As Dovecot and Cyrus do: the merged parameter is "name" when no section
    is charset-encoded, else "name*" with the value in the encoded form
    (charset'language'%XX...), a leading "''" added when the first section
    is not encoded and "%" in plain sections escaped as %25. The result sits
    where its first section was. If the section numbers do not run 0, 1,
    2, ... the sections are left as they came. "name*" alone (an encoded
    value without continuations) passes through unchanged.
    """
    groups: dict[str, list[tuple[int, bool, str, list[str]]]] = {}
    out: list = []
    for p in params:
        name = p[0]
        star = name.find("*")
        if star <= 0:
            out.append(p)
            continue
        m = _SECTION.match(name, star + 1)
        if m is None:
            out.append(p)
            continue
        key = name[:star]
        if key not in groups:
            groups[key] = []
            out.append(key)             # placeholder for the merged parameter
        groups[key].append((int(m.group(1)), m.group(2) == "*", p[1], p))
    result: list[list[str]] = []
    for item in out:
        if not isinstance(item, str):
            result.append(item)
            continue
        sections = sorted(groups[item], key=lambda t: t[0])
        if [t[0] for t in sections] != list(range(len(sections))):
            result.extend(t[3] for t in groups[item])
            continue
        extended = any(t[1] for t in sections)
        pieces = []
        if extended and not sections[0][1]:
            pieces.append("''")
        for _idx, ext, value, _p in sections:
            pieces.append(value.replace("%", "%25") if extended and not ext else value)
        result.append([item + "*" if extended else item, "".join(pieces)])
    return result


# --- the structured Content-* fields ---------------------------------------------------

def parse_content_type(value: str) -> tuple[str, str, list[list[str]]] | None:
    """(type, subtype, params) of a Content-Type value, type and subtype
    lower-cased; None when the value is not type "/" subtype."""
    i = _skip_cfws(value, 0)
    m = _TOKEN.match(value, i)
    if m is None:
        return None
    ctype = m.group().lower()
    i = _skip_cfws(value, m.end())
    if i >= len(value) or value[i] != "/":
        return None
    i = _skip_cfws(value, i + 1)
    m = _TOKEN.match(value, i)
    if m is None:
        return None
    return ctype, m.group().lower(), _parse_params(value, m.end())


def parse_disposition(value: str) -> list | None:
    """[disposition-type lower-cased, params] of a Content-Disposition
    value, or None when it has no valid disposition type."""
    i = _skip_cfws(value, 0)
    m = _TOKEN.match(value, i)
    if m is None:
        return None
    return [m.group().lower(), _parse_params(value, m.end())]


def parse_transfer_encoding(value: str) -> str | None:
    """The Content-Transfer-Encoding mechanism upper-cased, or None when the
    value is not a single token (comments allowed)."""
    i = _skip_cfws(value, 0)
    m = _TOKEN.match(value, i)
    if m is None or _skip_cfws(value, m.end()) != len(value):
        return None
    return m.group().upper()


_LANG_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")


def parse_language(value: str) -> list[str] | None:
    """The language tags of a Content-Language value (RFC 3282), or None.
    Parsing stops at the first element that is not a tag."""
    langs = []
    n = len(value)
    i = _skip_cfws(value, 0)
    while i < n:
        m = _LANG_TAG.match(value, i)
        if m is None:
            break
        langs.append(m.group())
        i = _skip_cfws(value, m.end())
        if i >= n or value[i] != ",":
            break
        i = _skip_cfws(value, i + 1)
    return langs or None


# --- decoding parameter values for display and search -------------------------------------

def rfc2231_octets(value: str) -> tuple[bytes, str | None]:
    """(octets, charset) of an RFC 2231 extended value charset'lang'%XX...
    (a value without the two quotes is taken as all percent-encoded)."""
    charset, q1, rest = value.partition("'")
    if q1:
        _lang, q2, encoded = rest.partition("'")
        if not q2:
            encoded = rest
    else:
        charset, encoded = "", value
    raw = urllib.parse.unquote_to_bytes(encoded.encode("utf-8", "surrogateescape"))
    return raw, (charset or None)


def decode_params(params: list[list[str]]) -> list[list[str]]:
    """Decoded copies of BodyPart params: "name*" values in RFC 2231
    charset'lang'%XX form become plain text under "name", and RFC 2047
    encoded-words in quoted values (a common misuse, e.g. in filenames) are
    decoded. For search and display; BODYSTRUCTURE uses the params as they are.
    """
    out = []
    for name, value in params:
        if name.endswith("*"):
            raw, charset = rfc2231_octets(value)
            out.append([name[:-1], decode_bytes(raw, charset)])
        else:
            out.append([name, decode_words(value) if "=?" in value else raw_to_text(value)])
    return out
