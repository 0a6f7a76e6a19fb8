"""LMTP: deliveries per second of 10 KB messages from 1 and 8 concurrent clients.

Each client keeps one connection (LHLO once) and delivers back to back, one
recipient per message (client i to user lmtp<i>), until the duration is over.
Every message has its own Message-ID, so no duplicate suppression applies.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench import mailgen
from bench.clients.lmtp import LmtpClient
from bench.measure import CpuMeter, Metric, Outcome, latency_metrics
from bench.scenarios.base import Context, MailboxSpec, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import lmtp_users


class LmtpScenario(Scenario):
    name = "lmtp"
    title = "LMTP delivery"

    def description(self, settings: Settings) -> str:
        return (f"{__doc__.strip().splitlines()[0].replace('10 KB', f'{settings.lmtp_message_size:,}-byte')} "
                f"{settings.lmtp_duration:g} s per level.")

    def metrics(self, settings: Settings) -> list[Metric]:
        metrics = []
        for clients in settings.lmtp_concurrency:
            level = f"{clients} client{'s' if clients != 1 else ''}"
            metrics.append(Metric(f"c{clients}.rate", f"{level}: deliveries/s", "1/s", True))
            metrics += latency_metrics(f"c{clients}.delivery", f"{level}: one delivery")
        return metrics

    def mailboxes(self, settings: Settings) -> dict[str, MailboxSpec]:
        return {user: MailboxSpec(0, 0) for user in lmtp_users()}

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        settings = ctx.settings
        body = mailgen.sized_message(0, random.Random(settings.seed), settings.lmtp_message_size, "lmtp.")
        for clients in settings.lmtp_concurrency:
            latencies: list[float] = []
            with CpuMeter(server) as meter:
                deadline = time.monotonic() + settings.lmtp_duration
                await asyncio.gather(*(deliver_until(server.ports.lmtp, lmtp_users()[n], body, deadline, latencies)
                                       for n in range(clients)))
            outcome.merge_cpu(meter)
            outcome.values[f"c{clients}.rate"] = len(latencies) / meter.wall
            outcome.add_latencies(f"c{clients}.delivery", latencies)
        return outcome

    def timeout(self, settings: Settings) -> float:
        return len(settings.lmtp_concurrency) * (settings.lmtp_duration + 60)


def with_message_id(message: bytes, unique: str) -> bytes:
    """The same message with its Message-ID made unique."""
    head, _, rest = message.partition(b"Message-ID: <")
    return head + b"Message-ID: <" + unique.encode() + b"." + rest


async def deliver_until(port: int, user: str, body: bytes, deadline: float, latencies: list[float]) -> None:
    client = await LmtpClient.connect(port)
    try:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            message = with_message_id(body, f"{user}.{time.time_ns()}.{n}")
            started = time.perf_counter()
            await client.deliver("sender@example.org", f"{user}@bench.test", message)
            latencies.append(time.perf_counter() - started)
    finally:
        await client.quit()
