"""A raw asyncio POP3 client: USER/PASS, STAT, RETR, QUIT."""

from __future__ import annotations

from bench.clients.lines import LineClient, ProtocolError


class Pop3Client(LineClient):
    @classmethod
    async def connect(cls, port: int, timeout: float = 60.0) -> "Pop3Client":
        client = await cls.open(port, timeout)
        await client.expect_ok("greeting")
        return client

    async def expect_ok(self, what: str) -> bytes:
        line = await self.line()
        if not line.startswith(b"+OK"):
            raise ProtocolError(f"{what}: {line[:200].decode(errors='replace').strip()}")
        return line

    async def command(self, text: bytes) -> bytes:
        self.send(text + b"\r\n")
        return await self.expect_ok(text.split(b" ")[0].decode())

    async def login(self, user: str, password: str) -> None:
        await self.command(b"USER " + user.encode())
        await self.command(b"PASS " + password.encode())

    async def stat(self) -> tuple[int, int]:
        fields = (await self.command(b"STAT")).split()
        return int(fields[1]), int(fields[2])

    async def retr(self, number: int) -> int:
        """RETR; the size of what came (dot-stuffed, with the terminator)."""
        await self.command(b"RETR %d" % number)
        return len(await self.block())

    async def quit(self) -> None:
        try:
            await self.command(b"QUIT")
        finally:
            await self.close()
