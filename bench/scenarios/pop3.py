"""POP3: downloading a maildrop of 1,000 messages, RETR one after another.

A session is USER, PASS, STAT, RETR 1..N (each waiting for its reply, as most
clients do), QUIT without DELE, so the maildrop stays for the next round. The
first session of the run (the server indexes the maildrop) is a warm-up.
"""

from __future__ import annotations

import time

from bench.clients.pop3 import Pop3Client
from bench.measure import CpuMeter, Metric, Outcome, latency_metrics
from bench.scenarios.base import Context, MailboxSpec, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import PASSWORD, POP3_USER


class Pop3Scenario(Scenario):
    name = "pop3"
    title = "POP3 download"

    def description(self, settings: Settings) -> str:
        text = __doc__.strip().splitlines()[0].replace("1,000", f"{settings.pop3_messages:,}")
        return f"{text} USER/PASS, STAT, RETR each in turn, QUIT (no DELE)."

    def metrics(self, settings: Settings) -> list[Metric]:
        return [Metric("first.session", "first session (server indexes the maildrop)", "s", False, once=True),
                Metric("download", f"download {settings.pop3_messages:,} messages", "s", False),
                Metric("rate", "messages/s", "1/s", True),
                Metric("throughput", "throughput", "MB/s", True),
                *latency_metrics("retr", "one RETR")]

    def mailboxes(self, settings: Settings) -> dict[str, MailboxSpec]:
        return {POP3_USER: MailboxSpec(settings.pop3_messages, settings.seed + 2000)}

    async def first_open(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        with CpuMeter(server) as meter:
            client = await Pop3Client.connect(server.ports.pop3)
            await client.login(POP3_USER, PASSWORD)
            await client.stat()
            await client.quit()
        outcome.merge_cpu(meter)
        outcome.values["first.session"] = meter.wall
        return outcome

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        latencies: list[float] = []
        with CpuMeter(server) as meter:
            client = await Pop3Client.connect(server.ports.pop3)
            await client.login(POP3_USER, PASSWORD)
            count, _ = await client.stat()
            received = 0
            for number in range(1, count + 1):
                started = time.perf_counter()
                received += await client.retr(number)
                latencies.append(time.perf_counter() - started)
            await client.quit()
        outcome.merge_cpu(meter)
        if count != ctx.settings.pop3_messages:
            raise RuntimeError(f"STAT says {count} messages, {ctx.settings.pop3_messages} expected")
        outcome.values.update(download=meter.wall, rate=count / meter.wall, throughput=received / meter.wall / 1e6)
        outcome.add_latencies("retr", latencies)
        return outcome

    def timeout(self, settings: Settings) -> float:
        return 300.0
