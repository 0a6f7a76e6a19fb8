"""The POP3 wire format, sans I/O: command lines in, response bytes out.

RFC 1939 with RFC 2449's grammar: a command is a case-insensitive keyword
and space-separated arguments on one CRLF-terminated line; a response is
"+OK" or "-ERR", an optional [response code] and text on one line; a
multi-line response follows its first line with lines "dot-stuffed" (an
extra "." before every line that starts with ".") and ends with ".\\r\\n".

Nothing here touches a socket: pop3d.session feeds lines in and writes the
bytes that come out, each response in a single write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

# RFC 1939's states (UPDATE is the moment QUIT commits, not a state commands run in)
AUTHORIZATION, TRANSACTION = "AUTHORIZATION", "TRANSACTION"

# RFC 2449 section 4: a command line is at most 255 octets including CRLF.
# Clients are not all that careful (long user names, AUTH initial responses),
# so pop3d accepts four times that; longer lines get -ERR and are discarded.
MAX_COMMAND_LINE = 1024

_NUMBER = re.compile(r"[0-9]{1,10}\Z")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Command:
    name: str                  # upper-cased keyword ("" for an empty line)
    args: tuple[str, ...]      # the arguments, split on runs of spaces
    rest: str                  # everything after the keyword and one space (PASS: the password)


def parse_command(line: bytes) -> Command:
    """One command line (with or without its CRLF) -> Command. Never fails:
    what the words mean is the command handler's business."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    text = line.decode("utf-8", "surrogateescape")
    keyword, _, rest = text.partition(" ")
    args = tuple(word for word in rest.split(" ") if word)
    return Command(keyword.upper() if keyword.isascii() else keyword, args, rest)


def printable(text: str, limit: int = 40) -> str:
    """Echo a client's word in a response: printable ASCII, bounded."""
    cleaned = _UNPRINTABLE.sub("?", text)
    return cleaned[:limit] + ("..." if len(cleaned) > limit else "")


def parse_number(text: str) -> int | None:
    """A message number or line count: ASCII digits only (no sign, no spaces)."""
    return int(text) if _NUMBER.match(text) else None


# ---------------------------------------------------------------- responses

def _line(status: str, text: str, code: str | None) -> bytes:
    parts = [status]
    if code:
        parts.append(f"[{code}]")
    if text:
        parts.append(text.replace("\r", " ").replace("\n", " "))
    return " ".join(parts).encode("utf-8", "surrogateescape") + b"\r\n"


def ok(text: str = "", code: str | None = None) -> bytes:
    return _line("+OK", text, code)


def err(text: str, code: str | None = None) -> bytes:
    return _line("-ERR", text, code)


def continuation(challenge: bytes) -> bytes:
    """RFC 5034: a SASL challenge, "+ " and base64 (nothing after "+ " when empty)."""
    import base64
    return b"+ " + base64.b64encode(challenge) + b"\r\n"


def multiline(first: str, lines: Iterable[str]) -> bytes:
    """+OK first, then one line each (dot-stuffed), then the terminating "."."""
    body = "".join(f"{'.' if line.startswith('.') else ''}{line}\r\n" for line in lines)
    return ok(first) + body.encode("utf-8", "surrogateescape") + b".\r\n"


def message_response(first: str, data: bytes) -> bytearray:
    """+OK first, then a message (CRLF line ends) dot-stuffed and terminated,
    built once so it goes out in one write (a bytearray: no final copy)."""
    return _stuff_into(bytearray(ok(first)), data)


def dot_stuff(data: bytes) -> bytes:
    """RFC 1939 section 3: double a leading "." on every line; make sure the
    data ends with CRLF; append the terminating ".\\r\\n"."""
    return bytes(_stuff_into(bytearray(), data))


def _stuff_into(out: bytearray, data: bytes) -> bytearray:
    # a bytearray grown in place: a large message is copied once (by replace), not at every step
    if data:
        if data.startswith(b"."):
            out += b"."
        out += data.replace(b"\r\n.", b"\r\n..")
        if not data.endswith(b"\r\n"):
            out += b"\r\n"
    out += b".\r\n"
    return out


def dot_unstuff(data: bytes) -> bytes:
    """The inverse of dot_stuff (for tests and clients): the lines before ".\\r\\n"."""
    if not data.endswith(b".\r\n") or not (len(data) == 3 or data.endswith(b"\r\n.\r\n")):
        raise ValueError("multi-line data does not end with CRLF.CRLF")
    body = data[:-3]
    if body.startswith(b".."):
        body = body[1:]
    return body.replace(b"\r\n..", b"\r\n.")


def top(data: bytes, lines: int) -> bytes:
    """TOP: the header, the blank line after it, and the first `lines` lines of
    the body (RFC 1939 section 7). A message without a body is sent whole."""
    if data.startswith(b"\r\n"):
        head_end = 2
    else:
        blank = data.find(b"\r\n\r\n")
        if blank < 0:
            return data
        head_end = blank + 4
    position = head_end
    for _ in range(lines):
        newline = data.find(b"\r\n", position)
        if newline < 0:
            return data
        position = newline + 2
    return data[:position]
