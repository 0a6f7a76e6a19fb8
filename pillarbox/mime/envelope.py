"""IMAP ENVELOPE (RFC 3501 / RFC 9051 section 7.5.2) and address lists.

The envelope is a JSON-able list::

    [date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to, message_id]

String fields are the raw header values (unfolded, leading whitespace
removed, RFC 2047 encoded-words NOT decoded) or None when the field is
absent. Address fields are None or a list of ``[name, adl, mailbox, host]``
entries; group syntax is ``[None, None, "group name", None]`` ...
``[None, None, None, None]``. Sender and Reply-To fall back to From when
they are absent or contain no address (RFC 3501 requires the server to do
this). When a field occurs more than once the first occurrence counts.

Address parsing is lenient in the ways real mail needs: display names with
unquoted commas ("Doe, John <john@example.com>"), a missing closing ">",
addresses without angle brackets after a name, bare local parts, groups
without the closing ";", a ":" in a display name that is not a group. A
mailbox without a domain gets MISSING_HOST as its host, as Cyrus does, since
a NIL host would mean group syntax.
"""

from __future__ import annotations

import email.utils
import re

__all__ = [
    "MISSING_HOST",
    "ENVELOPE_FIELDS",
    "build_envelope",
    "parse_address_list",
    "parse_date",
    "msg_ids",
]

MISSING_HOST = "unspecified-domain"

ENVELOPE_FIELDS = ("date", "subject", "from", "sender", "reply-to",
                   "to", "cc", "bcc", "in-reply-to", "message-id")

# --- tokens ----------------------------------------------------------------------

# kinds
_ATOM, _QS, _SPECIAL, _COMMENT, _DLIT = range(5)

_TOKENS = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<qs>"(?P<qsbody>(?:[^"\\]|\\.)*)"?)
  | (?P<dlit>\[(?:[^\]\\]|\\.)*\]?)
  | (?P<special>[<>@,;:.\\\])])
  | (?P<atom>[^ \t\r\n"()\[\]<>@,;:.\\]+)
  | (?P<comment>\()
""", re.X | re.S)

_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _tokenize(s: str) -> list[tuple[int, str, bool]]:
    """(kind, text, preceded_by_whitespace) tokens of an address header.
    Quoted strings are unquoted; comments hold their text without parens."""
    toks: list[tuple[int, str, bool]] = []
    n = len(s)
    i = 0
    space = False
    while i < n:
        m = _TOKENS.match(s, i)
        kind = m.lastgroup
        if kind == "ws":
            space = True
            i = m.end()
        elif kind == "atom":
            toks.append((_ATOM, m.group(), space))
            space = False
            i = m.end()
        elif kind == "special":
            toks.append((_SPECIAL, m.group(), space))
            space = False
            i = m.end()
        elif kind == "qs":
            toks.append((_QS, _QUOTED_PAIR.sub(r"\1", m.group("qsbody")), space))
            space = False
            i = m.end()
        elif kind == "dlit":
            toks.append((_DLIT, m.group(), space))
            space = False
            i = m.end()
        else:                           # comment, possibly nested
            depth = 1
            j = i + 1
            start = j
            parts = []
            while j < n:
                c = s[j]
                if c == "\\" and j + 1 < n:
                    parts.append(s[start:j])
                    parts.append(s[j + 1])
                    j += 2
                    start = j
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            parts.append(s[start:j])
            toks.append((_COMMENT, "".join(parts).strip(), space))
            space = True                # a comment separates like whitespace
            i = j + 1
    return toks


def _join(toks, dots_tight: bool = False) -> str:
    """Tokens as text: one space where the original had whitespace (or a
    comment) between tokens. With dots_tight (for local parts), no spaces
    around ".". Quoted strings contribute their content without the quotes,
    as Dovecot and Cyrus put quoted local parts into the envelope."""
    out = []
    prev = None
    for kind, text, space in toks:
        if kind == _COMMENT:
            continue
        if out and space and not (dots_tight and (text == "." or prev == ".")):
            out.append(" ")
        out.append(text)
        prev = text if kind == _SPECIAL else None
    return "".join(out)


def _words(toks) -> list[list]:
    """Split tokens into runs of adjacent tokens (no whitespace between)."""
    runs: list[list] = []
    for t in toks:
        if t[0] == _COMMENT:
            continue
        if not runs or t[2]:
            runs.append([t])
        else:
            runs[-1].append(t)
    return runs


# --- one address -------------------------------------------------------------------------

def _addr_spec(toks) -> tuple[str, str | None]:
    """(local part, domain or None) of addr-spec tokens."""
    at = next((k for k, t in enumerate(toks) if t[0] == _SPECIAL and t[1] == "@"), -1)
    if at < 0:
        return _join(toks, True), None
    local = _join(toks[:at], True)
    domain_toks = [t for t in toks[at + 1:] if t[0] != _COMMENT
                   and not (t[0] == _SPECIAL and t[1] in "@<>,;:\\]")]
    domain = "".join(t[1] for t in domain_toks)
    return local, (domain or None)


def _first_comment(toks) -> str | None:
    for kind, text, _space in toks:
        if kind == _COMMENT and text:
            return text
    return None


def _parse_mailbox(toks) -> tuple[list, bool] | None:
    """One mailbox from the tokens of one list element, as
    ([name, adl, mailbox, host], is_bare_phrase); None for an empty element."""
    lt = next((k for k, t in enumerate(toks) if t[0] == _SPECIAL and t[1] == "<"), -1)
    if lt >= 0:
        # name-addr: [display-name] "<" [route ":"] addr-spec ">"
        name = _join(toks[:lt]) or None
        inner = toks[lt + 1:]
        gt = next((k for k, t in enumerate(inner) if t[0] == _SPECIAL and t[1] == ">"), -1)
        if gt >= 0:
            inner = inner[:gt]
        adl = None
        if inner and inner[0][0] == _SPECIAL and inner[0][1] == "@":
            colon = next((k for k, t in enumerate(inner)
                          if t[0] == _SPECIAL and t[1] == ":"), -1)
            if colon >= 0:
                adl = "".join(t[1] for t in inner[:colon] if t[0] != _COMMENT) or None
                inner = inner[colon + 1:]
        local, domain = _addr_spec(inner)
        return [name, adl, local, domain or MISSING_HOST], False
    has_at = any(t[0] == _SPECIAL and t[1] == "@" for t in toks)
    if has_at:
        # addr-spec, perhaps after a display name whose brackets are missing
        # ("John Doe john@example.com"): the run holding the "@" is the
        # address, the words before it the name.
        runs = _words(toks)
        k = next(k for k, run in enumerate(runs)
                 if any(t[0] == _SPECIAL and t[1] == "@" for t in run))
        # a local part may be split around dots by whitespace: "john . doe@x"
        while k > 0 and (runs[k][0][1] in ".@" or runs[k - 1][-1][1] in ".@"):
            k -= 1
        name_toks = [t for run in runs[:k] for t in run]
        addr_toks = [t for run in runs[k:] for t in run]
        local, domain = _addr_spec(addr_toks)
        name = _join(name_toks) or _first_comment(toks)
        return [name or None, None, local, domain or MISSING_HOST], False
    phrase = _join(toks)
    if not phrase:
        return None
    # a bare word: a local part without domain (or half of "Doe, John <...>")
    return [_first_comment(toks), None, phrase, MISSING_HOST], True


def _is_special(tok, chars: str) -> bool:
    return tok[0] == _SPECIAL and tok[1] in chars


def parse_address_list(value: str | None) -> list | None:
    """Parse an address-list header value into IMAP address structures;
    None when there is no address (and no group) in it."""
    if value is None:
        return None
    toks = _tokenize(value)
    if not toks:
        return None
    result: list = []
    pending_bare: list | None = None    # a bare phrase that may be a name's first half
    in_group = False
    elem: list = []
    elem_addr = False                   # elem has a "<" or "@" (not a group name)
    angle = False
    n = len(toks)
    # for deciding in O(1) whether a ":" starts a group: the last ";" and
    # the last token that is not a comment
    last_semi = last_real = -1
    for k, t in enumerate(toks):
        if t[0] != _COMMENT:
            last_real = k
            if t[0] == _SPECIAL and t[1] == ";":
                last_semi = k

    def finish(elem):
        nonlocal pending_bare
        parsed = _parse_mailbox(elem)
        if parsed is None:
            return
        addr, bare = parsed
        if (pending_bare is not None and not bare and result
                and result[-1] is pending_bare
                and any(_is_special(t, "<") for t in elem)):
            # "Doe, John <john@example.com>": the bare word before the comma
            # was the start of the display name
            result.pop()
            first = pending_bare[2]
            addr[0] = f"{first}, {addr[0]}" if addr[0] else first
        pending_bare = addr if bare else None
        result.append(addr)

    i = 0
    while i < n:
        tok = toks[i]
        i += 1
        if tok[0] == _SPECIAL:
            c = tok[1]
            if c == "<":
                angle = True
                elem_addr = True
            elif c == ">":
                angle = False
            elif c == "@":
                elem_addr = True
            elif c == "," and not (angle and i < n and _is_special(toks[i], "@")):
                angle = elem_addr = False
                finish(elem)
                elem = []
                continue
            elif c == ";" and not angle:
                finish(elem)
                elem = []
                elem_addr = False
                pending_bare = None
                if in_group:
                    result.append([None, None, None, None])
                    in_group = False
                continue
            elif (c == ":" and not angle and not in_group and not elem_addr
                  and (last_semi >= i or last_real < i)):
                # a group: a ";" follows, or nothing does
                # ("undisclosed-recipients:"); else a ":" in a display name
                result.append([None, None, _join(elem), None])
                in_group = True
                pending_bare = None
                elem = []
                continue
        elem.append(tok)
    finish(elem)
    if in_group:
        result.append([None, None, None, None])
    return result or None


# --- the other envelope fields ---------------------------------------------------------

def build_envelope(hdr: dict[str, str]) -> list:
    """The ENVELOPE list from a {lower-case field name: first value} dict."""
    from_ = parse_address_list(hdr.get("from"))
    sender = parse_address_list(hdr.get("sender")) or from_
    reply_to = parse_address_list(hdr.get("reply-to")) or from_
    return [
        hdr.get("date"),
        hdr.get("subject"),
        from_,
        sender,
        reply_to,
        parse_address_list(hdr.get("to")),
        parse_address_list(hdr.get("cc")),
        parse_address_list(hdr.get("bcc")),
        hdr.get("in-reply-to"),
        hdr.get("message-id"),
    ]


def parse_date(value: str | None) -> int | None:
    """A Date header as unix seconds; None when missing or unparseable.
    A date without a zone (or with -0000) is taken as UTC."""
    if not value:
        return None
    try:
        parts = email.utils.parsedate_tz(value)
        if parts is None:
            return None
        if parts[9] is None:
            parts = parts[:9] + (0,)
        stamp = email.utils.mktime_tz(parts)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if not -62135596800 <= stamp <= 253402300799:   # years 1 .. 9999
        return None
    return int(stamp)


_MSG_ID = re.compile(r"<([^<>]*)>")
_WS = re.compile(r"\s+")


def msg_ids(value: str | None) -> list[str]:
    """The "<...>" msg-ids in a Message-ID / In-Reply-To / References value,
    in order, with whitespace inside them removed."""
    if not value:
        return []
    out = []
    for m in _MSG_ID.finditer(value):
        inner = _WS.sub("", m.group(1))
        if inner:
            out.append(f"<{inner}>")
    return out
