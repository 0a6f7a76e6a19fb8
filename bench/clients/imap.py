"""A raw asyncio IMAP client: tagged commands, literals, IDLE; nothing parsed that is not needed."""

from __future__ import annotations

import asyncio
import re
import time

from bench.clients.lines import close_writer

LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}\r\n$")
STREAM_LIMIT = 1 << 20


class ImapError(Exception):
    pass


class Response:
    __slots__ = ("status", "text", "untagged")

    def __init__(self, status: bytes, text: bytes, untagged: list[bytes]):
        self.status = status
        self.text = text
        self.untagged = untagged

    def exists(self) -> int | None:
        for line in self.untagged:
            if line.endswith(b" EXISTS\r\n"):
                return int(line.split()[1])
        return None


class ImapClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.counter = 0
        self.greeting = b""

    @classmethod
    async def connect(cls, port: int, timeout: float = 60.0) -> "ImapClient":
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, limit=STREAM_LIMIT), timeout)
        client = cls(reader, writer, timeout)
        client.greeting = await asyncio.wait_for(reader.readline(), timeout)
        if not client.greeting.startswith(b"* OK"):
            writer.close()
            raise ImapError(f"bad greeting {client.greeting[:200]!r}")
        return client

    def _tag(self) -> bytes:
        self.counter += 1
        return b"T%d" % self.counter

    async def command(self, line: bytes, literal: bytes | None = None, check: bool = True) -> Response:
        """Send `TAG line` (with a LITERAL+ literal appended, if given) and read to the tagged reply."""
        tag = self._tag()
        if literal is None:
            self.writer.write(tag + b" " + line + b"\r\n")
        else:
            self.writer.write(b"%s %s {%d+}\r\n%s\r\n" % (tag, line, len(literal), literal))
        response = await asyncio.wait_for(self._read_until(tag + b" "), self.timeout)
        if check and response.status != b"OK":
            raise ImapError(f"{line[:60]!r}: {response.status.decode()} {response.text[:200]!r}")
        return response

    async def _read_until(self, prefix: bytes) -> Response:
        untagged: list[bytes] = []
        readline, readexactly = self.reader.readline, self.reader.readexactly
        while True:
            line = await readline()
            if not line:
                raise ImapError("connection closed by the server")
            if line.startswith(prefix):
                status, _, text = line[len(prefix):].partition(b" ")
                return Response(status, text, untagged)
            if line.endswith(b"}\r\n"):
                match = LITERAL_AT_END.search(line)
                if match:
                    await readexactly(int(match.group(1)))
                    continue          # the rest of the response follows on the next line
            untagged.append(line)

    async def login(self, user: str, password: str) -> Response:
        return await self.command(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))

    async def idle(self) -> None:
        self.writer.write(self._tag() + b" IDLE\r\n")
        while True:
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if not line:
                raise ImapError("connection closed during IDLE")
            if line.startswith(b"+"):
                return

    async def done(self) -> Response:
        """End the IDLE begun by idle(): DONE, then its tagged reply."""
        self.writer.write(b"DONE\r\n")
        response = await asyncio.wait_for(self._read_until(b"T%d " % self.counter), self.timeout)
        if response.status != b"OK":
            raise ImapError(f"IDLE ended with {response.status.decode()} {response.text[:200]!r}")
        return response

    async def logout(self) -> None:
        try:
            await self.command(b"LOGOUT", check=False)
        finally:
            await self.close()

    async def close(self) -> None:
        await close_writer(self.writer)


async def timed_connect(port: int, timeout: float = 60.0) -> tuple[ImapClient, float]:
    """A connection and the seconds from connect() to the whole greeting line."""
    started = time.perf_counter()
    client = await ImapClient.connect(port, timeout)
    return client, time.perf_counter() - started
