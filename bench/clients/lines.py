"""Line-based protocols (POP3, LMTP): one reply line or a dot-terminated block."""

from __future__ import annotations

import asyncio

STREAM_LIMIT = 1 << 22


class ProtocolError(Exception):
    pass


class LineClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout

    @classmethod
    async def open(cls, port: int, timeout: float) -> "LineClient":
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, limit=STREAM_LIMIT), timeout)
        return cls(reader, writer, timeout)

    async def line(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), self.timeout)
        if not line:
            raise ProtocolError("connection closed by the server")
        return line

    async def block(self) -> bytes:
        """A multi-line POP3 reply after its status line: up to CRLF.CRLF."""
        try:
            return await asyncio.wait_for(self.reader.readuntil(b"\r\n.\r\n"), self.timeout)
        except asyncio.IncompleteReadError:
            raise ProtocolError("connection closed inside a multi-line reply") from None

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        await close_writer(self.writer)


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream, not minding a peer that went first."""
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
