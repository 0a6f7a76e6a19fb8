"""A raw asyncio LMTP client: LHLO once, then MAIL/RCPT/DATA per delivery (no pipelining)."""

from __future__ import annotations

from bench.clients.lines import LineClient, ProtocolError


class LmtpClient(LineClient):
    @classmethod
    async def connect(cls, port: int, timeout: float = 60.0) -> "LmtpClient":
        client = await cls.open(port, timeout)
        await client.reply(b"220", "greeting")
        client.send(b"LHLO bench.test\r\n")
        await client.reply(b"250", "LHLO")
        return client

    async def reply(self, code: bytes, what: str) -> bytes:
        """A (possibly multi-line) reply that must start with code."""
        while True:
            line = await self.line()
            if not line.startswith(code):
                raise ProtocolError(f"{what}: {line[:200].decode(errors='replace').strip()}")
            if line[3:4] != b"-":
                return line

    async def deliver(self, sender: str, recipient: str, message: bytes) -> None:
        """One delivery; message must end with CRLF and need no dot-stuffing."""
        self.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
        await self.reply(b"250", "MAIL FROM")
        self.send(b"RCPT TO:<%s>\r\n" % recipient.encode())
        await self.reply(b"250", "RCPT TO")
        self.send(b"DATA\r\n")
        await self.reply(b"354", "DATA")
        self.send(message + b".\r\n")
        await self.reply(b"250", "end of DATA")

    async def quit(self) -> None:
        try:
            self.send(b"QUIT\r\n")
            await self.reply(b"221", "QUIT")
        finally:
            await self.close()
