"""The DATA stream without I/O: lines in, one message (or the reason it is refused) out.

RFC 5321 4.5.2: the message ends at a line that is exactly "." CRLF; a line
that starts with "." lost one leading dot to transparency. Only CRLF ends a
line here: a bare LF can neither end a line nor the message (this is what
SMTP smuggling abuses), and a message that contains one is refused as Cyrus
refuses it ("554 5.6.0 Message contains bare newlines"). Bytes are otherwise
kept exactly: what the MTA sent, dots unstuffed, is what gets stored.

Lines are what a line reader returns: each ends at its first LF (or is the
last, unterminated piece of the stream). The per-line work is kept to the
terminator test, unstuffing and the size bound; the content checks (bare
LF, NUL, 8-bit header octets under reject8bit) run once over the whole
message at the end, in C. Once a message is too big (or has an overlong
line) the reader stops keeping its bytes but goes on reading to the
terminator, so the session stays in step and nothing partial is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmtpd.protocol import Reply

TERMINATOR = b".\r\n"
CRLF = b"\r\n"


@dataclass(frozen=True)
class ReceivedMessage:
    data: bytes                  # unstuffed, CRLF line ends; b"" when refused
    size: int                    # octets received after unstuffing (counted even when refused)
    problem: Reply | None = None


class DataReader:
    def __init__(self, max_size: int = 0, *, reject_8bit_headers: bool = False, max_line: int = 0):
        self.max_size = max_size
        self.max_line = max_line
        self.reject_8bit_headers = reject_8bit_headers
        self._buffer = bytearray()
        self._dropped = 0            # octets not kept (after a size or line problem)
        self._problem: Reply | None = None
        self.done = False

    def feed(self, line: bytes) -> ReceivedMessage | None:
        """One line as read. The message once the terminator arrived."""
        if line[:1] == b".":
            if line == TERMINATOR:
                return self._finish()
            line = line[1:]
        if self._problem is not None:
            self._dropped += len(line)
            return None
        self._buffer += line
        if self.max_size and len(self._buffer) > self.max_size:
            self._too_big()
        return None

    def line_too_long(self) -> None:
        """The I/O layer read past its line limit (and discarded the rest of the line)."""
        self._dropped += self.max_line
        if self._problem is None or self._problem.code == 552:
            self._problem = Reply(554, "5.6.0", f"Message contains a line longer than {self.max_line} octets")
        self._drop_buffer()

    def _too_big(self) -> None:
        self._problem = Reply(552, "5.3.4", f"Message size exceeds fixed maximum message size ({self.max_size} octets)")
        self._drop_buffer()

    def _drop_buffer(self) -> None:
        self._dropped += len(self._buffer)
        self._buffer = bytearray()

    def _finish(self) -> ReceivedMessage:
        self.done = True
        data = bytes(self._buffer)
        self._buffer = bytearray()
        size = len(data) + self._dropped
        problem = self._problem or content_problem(data, reject_8bit_headers=self.reject_8bit_headers)
        return ReceivedMessage(b"" if problem else data, size, problem)


def content_problem(data: bytes, *, reject_8bit_headers: bool = False) -> Reply | None:
    """Why a complete message (CRLF line ends expected) cannot be stored, or None."""
    if data.count(b"\n") != data.count(CRLF) or (data and not data.endswith(CRLF)):
        return Reply(554, "5.6.0", "Message contains bare newlines (LF without CR)")
    if b"\0" in data:
        return Reply(554, "5.6.0", "Message contains NUL characters")
    if reject_8bit_headers:
        end = data.find(b"\r\n\r\n")
        header = data[:end + 2] if end >= 0 else data
        if not header.isascii():
            return Reply(554, "5.6.0", "Message contains non-transfer-encoded 8-bit header characters")
    return None
