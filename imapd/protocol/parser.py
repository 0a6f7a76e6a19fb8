"""Tokenizer: a `RawCommand` becomes a tag, a command name and a tuple of tokens.

Grammar (RFC 3501 section 9, RFC 9051 section 9; extensions as noted):

* tag = 1*<any ASTRING-CHAR except "+">: no SP, CTL, ``( ) { " \\ % * +``.
* The command name is an atom, returned upper-case. "UID FETCH ..." has the
  name "UID" and its arguments start with ``Atom("FETCH")`` (as sent, not
  upper-cased); the same holds for UID STORE/COPY/MOVE/SEARCH/EXPUNGE/SORT/
  THREAD.
* Atom: 1*ATOM-CHAR, widened the way servers need it: ``]`` (resp-specials,
  so every ASTRING-CHAR), the list-wildcards ``%`` and ``*`` (LIST patterns,
  sequence sets like ``1:*``) and ``\\`` (flags such as ``\\Seen``) are atom
  characters. Numbers, NIL, flags, sequence sets and ``$`` (RFC 5182) are all
  atoms; the command decides what an atom means. 8-bit octets are not atom
  characters (quote them, as RFC 6855 asks).
* An atom that contains ``[`` runs to the matching ``]``, taking in spaces,
  parentheses and quoted strings, then goes on with atom characters, so
  ``BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>`` is one Atom whose text is
  exactly what was sent. A literal inside the brackets (``HEADER.FIELDS
  ({4}\\r\\nFrom)``, legal since header-fld-name is an astring) is folded into
  the atom text as the equivalent quoted string. When no matching ``]``
  follows, ``[`` is an ordinary atom character (mailbox names such as
  ``a[b``). Known ambiguity: an unquoted astring containing ``[`` followed
  later on the line by ``]`` (``RENAME a[b c]d``) becomes one atom; clients
  quote such names in practice.
* Quoted string: DQUOTE *QUOTED-CHAR DQUOTE; the only escapes are ``\\\\`` and
  ``\\"``, anything else after a backslash is a syntax error, as are CR and
  LF. 8-bit octets are kept as they are (IMAP4rev2 / UTF8=ACCEPT allow
  UTF-8; validating it is left to the commands that care).
* Literal ``{n}`` / ``{n+}`` / literal8 ``~{n}`` / ``~{n+}`` (RFC 7888, RFC
  3516, RFC 4466): ``String(literal=True, binary=...)``. NUL octets inside a
  non-binary literal are kept (commands such as APPEND decide); a NUL
  anywhere outside a literal is a syntax error.
* Lists: "(" ... ")" nested at most `MAX_DEPTH` deep.

Spacing: the grammar wants exactly one SP between tokens. Like Dovecot we
accept runs of spaces (also after "(" and before ")" and at the end of the
line) but still require a separator: ``a(b``, ``"a""b"`` and ``(a)(b)`` are
errors. Tabs and other controls are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reader import Literal, ProtocolError, RawCommand
from .tokens import Atom, List, String, Token

__all__ = ["ParsedCommand", "parse_command", "tokenize", "MAX_DEPTH"]

#: Deepest list nesting accepted.
MAX_DEPTH = 64

_TAG = re.compile(rb"[\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+")
# Atom characters, "[" excluded (handled by the bracket rule).
_ATOM = re.compile(rb"[\x21\x23-\x27\x2a-\x5a\x5c-\x7a\x7c-\x7e]+")
_NAME = _ATOM
# Quoted string, unrolled so that a failing match stays linear.
_QUOTED = re.compile(rb'"([^"\\\r\n\x00]*(?:\\["\\][^"\\\r\n\x00]*)*)"')
_UNESCAPE = re.compile(rb'\\(["\\])')
_QUOTED_BAD = re.compile(rb'["\\\r\n]')
_ANNOUNCE = re.compile(rb"(~?)\{([0-9]+)(\+?)\}")
_ANNOUNCE_END = re.compile(rb"~?\{[0-9]+\+?\}\Z")
# Inside brackets: the characters that need a decision.
_BRACKET_STOP = re.compile(rb'[\[\]"\x00-\x1f\x7f]')
_SPACES = re.compile(rb" +")

_SP, _LPAREN, _RPAREN, _DQUOTE, _LBRACE, _TILDE, _LBRACKET = 0x20, 0x28, 0x29, 0x22, 0x7B, 0x7E, 0x5B


@dataclass(frozen=True)
class ParsedCommand:
    """``tag``, upper-case ``name`` and the argument tokens.

    For "UID <cmd>" the name is "UID" and ``args[0]`` is the Atom of the
    sub-command as sent (compare with ``args[0].upper()``).
    """

    tag: str
    name: str
    args: tuple


def parse_command(raw: RawCommand) -> ParsedCommand:
    """Split a command into tag, name and tokens; `ProtocolError` if malformed."""
    segments = raw.segments
    if not segments or not isinstance(segments[0], (bytes, bytearray)) or not segments[0]:
        raise ProtocolError("empty command")
    first = segments[0]
    m = _TAG.match(first)
    if m is None or (m.end() < len(first) and first[m.end()] != _SP):
        raise ProtocolError("missing or invalid tag")
    tag = m.group().decode("ascii")
    try:
        tokenizer = _Tokenizer(segments)
    except ProtocolError as exc:
        raise exc.with_tag(tag)
    pos = m.end()
    sp = _SPACES.match(first, pos)
    if sp is None:
        raise ProtocolError("missing command name", tag=tag)
    pos = sp.end()
    n = _NAME.match(first, pos)
    if n is None or (n.end() < len(first) and first[n.end()] != _SP) or b"]" in n.group():
        raise ProtocolError("missing or invalid command name", tag=tag)
    name = n.group().decode("ascii").upper()
    try:
        args = tokenizer.run(n.end())
    except ProtocolError as exc:
        raise exc.with_tag(tag)
    return ParsedCommand(tag, name, tuple(args))


def tokenize(raw: RawCommand, start: int = 0) -> list[Token]:
    """The tokens of ``raw`` from offset ``start`` of its first text segment."""
    return _Tokenizer(raw.segments).run(start)


def _error(message: str) -> ProtocolError:
    return ProtocolError(message)


def _describe(byte: int) -> str:
    if 0x21 <= byte <= 0x7E:
        return f"'{chr(byte)}'"
    return f"0x{byte:02x}"


def _quoted_error(s: bytes, pos: int) -> ProtocolError:
    """Why the quoted string starting at ``pos`` does not parse."""
    i = pos + 1
    while True:
        m = _QUOTED_BAD.search(s, i)
        if m is None:
            return _error("unterminated quoted string")
        c = s[m.start()]
        if c == 0x5C:  # backslash
            nxt = s[m.start() + 1 : m.start() + 2]
            if nxt in (b'"', b"\\"):
                i = m.start() + 2
                continue
            if not nxt:
                return _error("unterminated quoted string")
            return _error(f"invalid escape \\{nxt.decode('latin-1')} in quoted string (only \\\\ and \\\" are allowed)")
        if c in (0x0D, 0x0A):
            return _error("CR or LF in quoted string (send it as a literal)")
        return _error("unterminated quoted string")  # pragma: no cover - '"' would have matched


class _Tokenizer:
    __slots__ = ("segs", "i", "s")

    def __init__(self, segments: tuple) -> None:
        self.segs = segments
        self.i = 0  # index of the current text segment
        self.s = segments[0] if segments else b""
        for k in range(0, len(segments), 2):
            seg = segments[k]
            if not isinstance(seg, (bytes, bytearray)):
                raise _error("malformed command (text expected)")
            if b"\x00" in seg:
                raise _error("NUL octet in command (only allowed inside literal8)")
        for k in range(1, len(segments), 2):
            if not isinstance(segments[k], Literal):
                raise _error("malformed command (literal expected)")
        if len(segments) % 2 == 0 and segments:
            raise _error("malformed command (ends with a literal)")

    def _literal_at(self, pos: int) -> tuple[re.Match, Literal] | None:
        """The literal announced at ``pos`` if the announcement ends the segment."""
        m = _ANNOUNCE.match(self.s, pos)
        if m is None or m.end() != len(self.s) or self.i + 1 >= len(self.segs):
            return None
        return m, self.segs[self.i + 1]

    def _next_segment(self) -> None:
        self.i += 2
        self.s = self.segs[self.i]

    def run(self, pos: int) -> list[Token]:
        items: list = []
        stack: list[list] = []
        need_sep = False
        s = self.s
        n = len(s)
        while True:
            if pos >= n:
                if self.i + 1 < len(self.segs):
                    # Only reachable when a segment ends without announcing
                    # the literal that follows it (malformed RawCommand).
                    raise _error("malformed command (literal without announcement)")
                break
            c = s[pos]
            if c == _SP:
                pos += 1
                need_sep = False
                continue
            if c == _RPAREN:
                if not stack:
                    raise _error("unbalanced parentheses: ')' without '('")
                lst = List(tuple(items))
                items = stack.pop()
                items.append(lst)
                pos += 1
                need_sep = True
                continue
            if need_sep:
                if c >= 0x80:
                    raise _error("8-bit octet outside a quoted string or literal")
                raise _error(f"expected a space before {_describe(c)}")
            if c == _LPAREN:
                if len(stack) >= MAX_DEPTH:
                    raise _error(f"lists nested too deeply (at most {MAX_DEPTH} levels)")
                stack.append(items)
                items = []
                pos += 1
                continue
            need_sep = True
            if c == _DQUOTE:
                m = _QUOTED.match(s, pos)
                if m is None:
                    raise _quoted_error(s, pos)
                data = m.group(1)
                if b"\\" in data:
                    data = _UNESCAPE.sub(rb"\1", data)
                items.append(String(data))
                pos = m.end()
                continue
            if c == _LBRACE or (c == _TILDE and s[pos + 1 : pos + 2] == b"{"):
                found = self._literal_at(pos)
                if found is None:
                    if c == _TILDE:
                        pass  # "~{..." that is not literal8: let the atom rule report it
                    else:
                        raise _error("invalid literal (expected {n}, {n+}, ~{n} or ~{n+} at the end of a line)")
                else:
                    _, lit = found
                    items.append(String(lit.data, literal=True, binary=lit.binary))
                    self._next_segment()
                    s = self.s
                    n = len(s)
                    pos = 0
                    continue
            pos, atom = self._atom(pos)
            items.append(atom)
            s = self.s
            n = len(s)
        if stack:
            raise _error("unbalanced parentheses: missing ')'")
        return items

    def _atom(self, pos: int) -> tuple[int, Atom]:
        s = self.s
        start = pos
        parts: list[bytes] | None = None  # set when a bracket group crossed a literal
        while True:
            m = _ATOM.match(s, pos)
            if m is not None:
                pos = m.end()
            if pos < len(s) and s[pos] == _LBRACKET:
                result = self._bracket(pos)
                if result is None:
                    pos += 1  # no matching "]": an ordinary character
                    continue
                new_pos, crossed = result
                if crossed is not None:
                    # The group spanned literals: collect text across segments.
                    if parts is None:
                        parts = []
                    parts.append(s[start:pos])
                    parts.extend(crossed)
                    s = self.s
                    start = 0
                pos = new_pos
                continue
            break
        if pos == start and parts is None:
            c = s[pos]
            if c >= 0x80:
                raise _error("8-bit octet outside a quoted string or literal")
            raise _error(f"invalid character {_describe(c)} in atom")
        text = s[start:pos]
        if parts is not None:
            parts.append(text)
            text = b"".join(parts)
        if text.isascii():
            return pos, Atom(text.decode("ascii"))
        return pos, Atom(text.decode("utf-8", "surrogateescape"))

    def _bracket(self, pos: int) -> tuple[int, list[bytes] | None] | None:
        """Scan from the "[" at ``pos`` to its matching "]".

        Returns (position after "]", None) when the group lies in the current
        segment; (position, parts) when it crossed literals (then the
        tokenizer has moved to a later segment and ``parts`` is the text from
        ``pos`` to the end of the earlier segments, literals quoted); None
        when there is no matching "]" (state untouched).
        """
        saved_i, saved_s = self.i, self.s
        s = self.s
        depth = 0
        i = pos
        parts: list[bytes] | None = None
        seg_start = pos
        while True:
            m = _BRACKET_STOP.search(s, i)
            if m is None:
                # End of segment inside the group: continue across a literal?
                found = self._literal_at_end(s)
                if found is None:
                    break
                ann, lit = found
                if parts is None:
                    parts = []
                parts.append(s[seg_start:ann])
                parts.append(_quote_for_atom(lit.data))
                self._next_segment()
                s = self.s
                i = seg_start = 0
                continue
            c = s[m.start()]
            if c == _LBRACKET:
                depth += 1
                i = m.end()
            elif c == 0x5D:  # "]"
                depth -= 1
                i = m.end()
                if depth == 0:
                    if parts is None:
                        return i, None
                    return i, parts
            elif c == _DQUOTE:
                q = _QUOTED.match(s, m.start())
                if q is None:
                    break
                i = q.end()
            else:  # a control character
                break
        self.i, self.s = saved_i, saved_s
        return None

    def _literal_at_end(self, s: bytes) -> tuple[int, Literal] | None:
        if self.i + 1 >= len(self.segs):
            return None
        m = _ANNOUNCE_END.search(s)
        if m is None:
            return None
        return m.start(), self.segs[self.i + 1]


def _quote_for_atom(data: bytes) -> bytes:
    if b"\r" in data or b"\n" in data or b"\x00" in data:
        raise _error("a literal inside [...] must not contain CR, LF or NUL")
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
