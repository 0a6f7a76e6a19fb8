"""Command assembly: client lines and literal bytes in, whole commands out.

No I/O happens here. The session's loop reads a line, gives it to
`CommandAssembler.add_line`, and when that answers with a `LiteralRequest`
reads exactly `size` bytes (after sending a continuation request "+ ..." when
the literal is synchronizing) and gives them to `add_literal`; then it reads
the next line (the rest of the command) and goes on until `add_line` answers
None. `take()` then hands over the command as a `RawCommand`::

    req = asm.add_line(line)
    while req is not None:
        if req.synchronizing and not req.discard:
            conn.write(continuation("Ready for literal data"))
        asm.add_literal(conn.read_exactly(req.size))   # may be fed in chunks
        req = asm.add_line(conn.readline())
    raw = asm.take()              # raises ProtocolError for a refused command
    cmd = parse_command(raw)      # raises ProtocolError for bad syntax

Framing is decided on bytes alone: a line whose text ends with ``{n}``,
``{n+}`` (LITERAL+/LITERAL-, RFC 7888), ``~{n}`` or ``~{n+}`` (literal8, RFC
3516/RFC 4466) announces a literal, whatever comes before it. Syntax is the
parser's business; keeping the two apart means a malformed command never
desynchronises the stream.

Refused commands (literal or line too big, command too big) never raise from
`add_line`: the assembler goes on framing the rest of the command so that the
stream stays in sync, and `take()` raises the `ProtocolError` once the command
has ended. While a refused command is being skipped:

* a non-synchronizing literal is still announced, as a `LiteralRequest` with
  ``discard=True``: the client sends those bytes regardless, so the session
  must read them (``add_literal`` accepts and drops them) - or, as RFC 7888
  allows, answer BYE and close the connection instead (sensible when ``size``
  is huge);
* a synchronizing literal ends the command at once (``add_line`` answers
  None): the client waits for "+", which it never gets; it gets the tagged
  BAD/NO from ``take()`` instead and moves on.

The session can refuse a command itself before it sends "+" (APPEND to a
mailbox that does not exist, a literal over APPENDLIMIT, ...) with
`fail(error)`; `peek()` shows the command so far.

Empty lines: ``add_line(b"\\r\\n")`` when no command is under way is ignored:
it returns None and `complete` stays False, so the session should just read
the next line (check `complete` before `take()`, or skip empty lines itself).
An empty line after a literal is the normal end of a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CommandAssembler",
    "Literal",
    "LiteralRequest",
    "ProtocolError",
    "RawCommand",
    "LITERAL_MINUS_MAX",
]

#: RFC 7888 LITERAL-: a non-synchronizing literal may hold at most 4096 octets.
LITERAL_MINUS_MAX = 4096

#: number64 (RFC 9051): 0 .. 2^63-1, i.e. at most 19 digits.
_NUMBER64_MAX = (1 << 63) - 1

# The literal announcement at the very end of a line's text (CRLF removed).
_ANNOUNCE = re.compile(rb"(~?)\{([0-9]+)(\+?)\}\Z")
# Best-effort tag and command name for error replies (grammar in parser.py).
_TAG_NAME = re.compile(
    rb"([\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+)(?: +([A-Za-z][A-Za-z0-9.\-_]*))?(?=[ \x00-\x1f]|\Z)"
)


class ProtocolError(Exception):
    """A command the server cannot accept; the reply is ``tag status [code] text``.

    ``tag``: the command's tag when known (else reply untagged ``*``).
    ``code``: a response code such as ``"TOOBIG"`` (None for plain syntax errors).
    ``status``: ``"BAD"`` (default) or ``"NO"`` (e.g. from `CommandAssembler.fail`).
    ``fatal``: the stream cannot be resynchronised (a non-synchronizing literal
    whose announced size is not even a number64): send BYE and close.
    ``str(error)`` is the human-readable text.
    """

    def __init__(
        self,
        message: str,
        *,
        tag: str | None = None,
        code: str | None = None,
        status: str = "BAD",
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.tag = tag
        self.code = code
        self.status = status
        self.fatal = fatal

    def with_tag(self, tag: str | None) -> "ProtocolError":
        if self.tag is None and tag is not None:
            self.tag = tag
        return self


@dataclass(frozen=True)
class LiteralRequest:
    """The line just added ends with a literal announcement.

    Read exactly ``size`` bytes and give them to `CommandAssembler.add_literal`.
    When ``synchronizing`` (and not ``discard``) send a continuation request
    first. ``binary`` marks literal8 (``~{n}``). ``discard``: the command is
    already refused; the bytes are read only to stay in sync and are dropped
    (such a request is always non-synchronizing).
    """

    size: int
    synchronizing: bool
    binary: bool
    discard: bool = False


@dataclass(frozen=True)
class Literal:
    """A literal's bytes inside a `RawCommand`; ``binary`` for literal8."""

    data: bytes
    binary: bool = False

    def __repr__(self) -> str:  # keep logs readable with big APPENDs
        shown = self.data if len(self.data) <= 40 else self.data[:40] + b"..."
        return f"Literal({shown!r}, binary={self.binary}, size={len(self.data)})"


@dataclass(frozen=True)
class RawCommand:
    """A complete command as framed on the wire.

    ``segments`` alternate text and literals, always starting and ending with
    text: ``(bytes, Literal, bytes, Literal, ..., bytes)``. Each text part is
    a line without its CRLF/LF and still ends with the literal announcement
    (``{5}``) when a Literal follows it.
    """

    segments: tuple

    @property
    def tag(self) -> str | None:
        """The tag if the command starts with a valid one (best effort)."""
        m = _TAG_NAME.match(self.segments[0]) if self.segments else None
        return m.group(1).decode("ascii") if m else None

    @property
    def name(self) -> str | None:
        """The command name, upper-case (best effort); "UID" for UID FETCH."""
        m = _TAG_NAME.match(self.segments[0]) if self.segments else None
        return m.group(2).decode("ascii").upper() if m and m.group(2) else None

    @property
    def size(self) -> int:
        return sum(len(s.data) if isinstance(s, Literal) else len(s) for s in self.segments)


def _strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


class CommandAssembler:
    """Frames one command at a time from lines and literal bytes (see module doc).

    Limits: ``max_line`` octets per line (CRLF excluded), ``max_literal`` per
    literal, ``max_command`` for the text and literals of one command
    together; ``literal_minus`` caps non-synchronizing literals at 4096 octets
    (RFC 7888 LITERAL-, which IMAP4rev2 servers implement). Anything over a
    limit refuses the command with ``BAD [TOOBIG]``.
    """

    def __init__(
        self,
        *,
        max_line: int = 65536,
        max_literal: int = 64 * 1024 * 1024,
        max_command: int = 64 * 1024 * 1024 + 65536,
        literal_minus: bool = False,
    ) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.max_command = max_command
        self.literal_minus = literal_minus
        self._reset()

    # -- state -------------------------------------------------------------

    def _reset(self) -> None:
        self._segments: list = []
        self._size = 0
        self._pending: LiteralRequest | None = None
        self._chunks: list[bytes] = []
        self._received = 0
        self._error: ProtocolError | None = None
        self._head = b""  # start of the first line, for the tag in errors
        self._complete = False

    @property
    def complete(self) -> bool:
        """True when a whole command (or a refused one) waits for `take()`."""
        return self._complete

    @property
    def in_progress(self) -> bool:
        """True between the first line of a command and its completion."""
        return bool(self._head or self._segments) and not self._complete

    @property
    def pending(self) -> LiteralRequest | None:
        """The literal whose bytes are awaited, if any."""
        return self._pending

    @property
    def literal_remaining(self) -> int:
        return self._pending.size - self._received if self._pending else 0

    def peek(self) -> RawCommand:
        """The command so far (for tag and name before answering a literal)."""
        if self._segments:
            return RawCommand(tuple(self._segments))
        return RawCommand((self._head,))

    # -- input -------------------------------------------------------------

    def add_line(self, line: bytes) -> LiteralRequest | None:
        """Add one line (with its CRLF or bare LF).

        Returns a `LiteralRequest` when the line ends with a literal
        announcement the session must read, None when the command has ended
        (then call `take()`) or when the line was an ignorable empty line
        outside a command (`complete` stays False).
        """
        if self._pending is not None:
            raise RuntimeError("literal bytes expected, not a line")
        if self._complete:
            raise RuntimeError("take() the complete command first")
        text = _strip_eol(line)
        first = not self._head and not self._segments
        if first:
            if not text:
                return None  # empty line between commands: ignored
            self._head = text[:1024]

        m = _ANNOUNCE.search(text)
        if self._error is None:
            if len(text) > self.max_line:
                self._refuse(f"line too long (over {self.max_line} octets)")
            else:
                self._segments.append(text)
                self._size += len(text)
                if self._size > self.max_command:
                    self._refuse(f"command too long (over {self.max_command} octets)")
        if m is None:
            self._complete = True
            return None

        binary = bool(m.group(1))
        sync = not m.group(3)
        digits = m.group(2)
        kind = "literal8" if binary else "literal"
        if len(digits) > 19 or int(digits) > _NUMBER64_MAX:
            # Not a number64: nobody can send that many bytes, and a
            # non-synchronizing one cannot be skipped.
            if self._error is None:
                self._refuse(f"{kind} size {digits[:24].decode()} is not a valid number", fatal=not sync)
            elif not sync:
                self._error.fatal = True
            self._complete = True
            return None
        size = int(digits)

        if self._error is None:
            if size > self.max_literal:
                self._refuse(f"{kind} too big ({size} octets, at most {self.max_literal})")
            elif not sync and self.literal_minus and size > LITERAL_MINUS_MAX:
                self._refuse(
                    f"non-synchronizing {kind} too big ({size} octets; LITERAL- allows "
                    f"{LITERAL_MINUS_MAX}, send larger literals synchronizing)"
                )
            elif self._size + size > self.max_command:
                self._refuse(f"command too long (over {self.max_command} octets)")

        if self._error is not None:
            if sync:
                self._complete = True
                return None
            self._pending = LiteralRequest(size, False, binary, discard=True)
        else:
            self._pending = LiteralRequest(size, sync, binary)
        return self._pending

    def add_literal(self, data: bytes) -> None:
        """Add the bytes of the pending literal.

        May be called several times with consecutive chunks; the literal is
        complete when ``size`` bytes arrived, and the session reads the next
        line. Bytes of a ``discard`` request are counted and dropped.
        """
        req = self._pending
        if req is None:
            raise RuntimeError("no literal is pending")
        n = len(data)
        if self._received + n > req.size:
            raise ValueError(f"literal overrun: {self._received + n} octets for a {req.size}-octet literal")
        self._received += n
        if not req.discard:
            self._chunks.append(data)
        if self._received < req.size:
            return
        if not req.discard:
            chunks = self._chunks
            value = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self._segments.append(Literal(bytes(value), req.binary))
            self._size += req.size
        self._chunks = []
        self._received = 0
        self._pending = None

    def fail(self, error: ProtocolError) -> LiteralRequest | None:
        """Refuse the command under way with ``error`` (raised by `take()`).

        Use it when a literal is announced that the session will not accept
        (before sending "+"). A pending synchronizing literal is cancelled and
        the command ends (returns None; `complete` is True); a pending
        non-synchronizing one becomes a ``discard`` request that must still be
        read (returned). Without a pending literal the rest of the command is
        skipped as for any refused command.
        """
        if self._error is None:
            self._error = error.with_tag(self.peek().tag)
        req = self._pending
        if req is None:
            return None
        if req.discard:
            return req
        if req.synchronizing and self._received == 0:
            self._pending = None
            self._chunks = []
            self._complete = True
            return None
        self._chunks = []
        self._pending = LiteralRequest(req.size, False, req.binary, discard=True)
        return self._pending

    def take(self) -> RawCommand:
        """The complete command; raises `ProtocolError` if it was refused.

        Either way the assembler is then ready for the next command.
        """
        if not self._complete:
            raise RuntimeError("no complete command (check .complete)")
        error, segments = self._error, self._segments
        self._reset()
        if error is not None:
            raise error
        return RawCommand(tuple(segments))

    def reset(self) -> None:
        """Forget everything (e.g. after the connection was reset or STARTTLS)."""
        self._reset()

    # -- internals ---------------------------------------------------------

    def _refuse(self, message: str, *, fatal: bool = False) -> None:
        tag = RawCommand((self._head,)).tag
        self._error = ProtocolError(message, tag=tag, code="TOOBIG", fatal=fatal)
        self._segments = []  # free what was collected; only the error matters now
