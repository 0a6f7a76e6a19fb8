"""The client mix: IMAP sessions the way a mail client runs them, from N users at once.

Each simulated user runs sessions back to back (no think time) until the
duration is over, each session being

    LOGIN, SELECT INBOX,
    FETCH the newest 25 messages' headers (UID FLAGS RFC822.SIZE INTERNALDATE and
          BODY.PEEK[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)]), as a message list,
    3 x (FETCH one message's BODY.PEEK[], STORE +/-FLAGS.SILENT (\\Seen)),
    APPEND a message (LITERAL+), STORE +FLAGS.SILENT (\\Deleted) on one message, EXPUNGE,
    LOGOUT

so INBOX keeps its size. Every user has an INBOX of its own, and a random
generator seeded with (seed, user), so a run makes the same choices on both servers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

from bench import mailgen
from bench.clients.imap import ImapClient, Response
from bench.users import PASSWORD

COMMANDS = ("LOGIN", "SELECT", "FETCH_HEADERS", "FETCH_BODY", "STORE", "APPEND", "EXPUNGE", "LOGOUT")
HEADER_WINDOW = 25
READS_PER_SESSION = 3
APPEND_POOL = 16
FETCH_HEADERS = (b"FETCH %d:%d (UID FLAGS RFC822.SIZE INTERNALDATE "
                 b"BODY.PEEK[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)])")


@dataclass
class MixResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COMMANDS})
    commands: int = 0
    sessions: int = 0
    elapsed: float = 0.0


class SimulatedUser:
    def __init__(self, port: int, user: str, seed: int, result: MixResult, timeout: float):
        self.port = port
        self.user = user
        self.rng = random.Random(f"{seed}/{user}")
        self.result = result
        self.timeout = timeout
        self.messages = [mailgen.message(n, self.rng, tag=f"{user}.append.") for n in range(APPEND_POOL)]

    async def timed(self, name: str, call: Awaitable[Response]) -> Response:
        started = time.perf_counter()
        response = await call
        self.result.latencies[name].append(time.perf_counter() - started)
        self.result.commands += 1
        return response

    async def run_until(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self.session()
            self.result.sessions += 1

    async def session(self) -> None:
        client = await ImapClient.connect(self.port, self.timeout)
        try:
            await self.timed("LOGIN", client.login(self.user, PASSWORD))
            exists = (await self.timed("SELECT", client.command(b"SELECT INBOX"))).exists() or 0
            if exists:
                await self.timed("FETCH_HEADERS",
                                 client.command(FETCH_HEADERS % (max(1, exists - HEADER_WINDOW + 1), exists)))
                for _ in range(READS_PER_SESSION):
                    await self.read_one(client, self.rng.randint(1, exists))
            literal = self.rng.choice(self.messages)
            await self.timed("APPEND", client.command(b"APPEND INBOX (\\Seen)", literal=literal))
            victim = self.rng.randint(1, exists + 1)
            await self.timed("STORE", client.command(b"STORE %d +FLAGS.SILENT (\\Deleted)" % victim))
            await self.timed("EXPUNGE", client.command(b"EXPUNGE"))
            await self.timed("LOGOUT", client.command(b"LOGOUT"))
        finally:
            await client.close()

    async def read_one(self, client: ImapClient, number: int) -> None:
        await self.timed("FETCH_BODY", client.command(b"FETCH %d BODY.PEEK[]" % number))
        sign = b"+" if self.rng.random() < 0.7 else b"-"
        await self.timed("STORE", client.command(b"STORE %d %sFLAGS.SILENT (\\Seen)" % (number, sign)))


async def run_mix(port: int, users: list[str], duration: float, seed: int, timeout: float) -> MixResult:
    result = MixResult()
    simulated = [SimulatedUser(port, user, seed, result, timeout) for user in users]
    started = time.perf_counter()
    deadline = time.monotonic() + duration
    await asyncio.gather(*(user.run_until(deadline) for user in simulated))
    result.elapsed = time.perf_counter() - started
    return result


async def warm_up(port: int, users: list[str], timeout: float, parallel: int = 5) -> None:
    """LOGIN and SELECT every user once, so each server has indexed the mailboxes
    before anything is measured."""
    gate = asyncio.Semaphore(parallel)

    async def one(user: str) -> None:
        async with gate:
            client = await ImapClient.connect(port, timeout)
            await client.login(user, PASSWORD)
            await client.command(b"SELECT INBOX")
            await client.logout()

    await asyncio.gather(*(one(user) for user in users))
