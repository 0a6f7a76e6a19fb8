"""Connection set-up: connect to greeting, and to LOGIN done, with the pool warm and exhausted.

Warm: one connection at a time to the ordinary IMAP port, where ready processes
wait (pillarbox prefork=4; Dovecot imap-login process_min_avail=4).
Exhausted: the same, on a second listener that keeps no process ready, so every
connection waits for one to be started (pillarbox `imapd -U 1` prefork=0,
fork+exec per connection; Dovecot imap-login-cold, process_min_avail=0).
"""

from __future__ import annotations

import asyncio
import time

from bench.clients.imap import ImapClient
from bench.measure import CpuMeter, Metric, Outcome, latency_metrics
from bench.scenarios.base import Context, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import PASSWORD, mix_users

PAUSE = 0.005           # between connections: lets a pool put its process back


class ConnectScenario(Scenario):
    name = "connect"
    title = "Connection set-up (IMAP)"

    def description(self, settings: Settings) -> str:
        return (f"{__doc__.strip().splitlines()[0]} {settings.connect_samples} sequential connections warm, "
                f"{settings.cold_samples} exhausted, each closed with LOGOUT before the next.")

    def metrics(self, settings: Settings) -> list[Metric]:
        metrics = []
        for pool in ("warm", "exhausted"):
            metrics += latency_metrics(f"{pool}.greeting", f"pool {pool}: connect to greeting")
            metrics += latency_metrics(f"{pool}.login", f"pool {pool}: connect to LOGIN done")
        return metrics

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        plan = (("warm", server.ports.imap, ctx.settings.connect_samples),
                ("exhausted", server.ports.imap_cold, ctx.settings.cold_samples))
        for pool, port, count in plan:
            with CpuMeter(server) as meter:
                greetings, logins = await self.sequence(port, count)
            outcome.merge_cpu(meter)
            outcome.add_latencies(f"{pool}.greeting", greetings)
            outcome.add_latencies(f"{pool}.login", logins)
        return outcome

    async def sequence(self, port: int, count: int) -> tuple[list[float], list[float]]:
        greetings, logins = [], []
        users = mix_users()
        await self.one(port, users[0])                   # not counted: a first connection
        for n in range(count):
            greeting, login = await self.one(port, users[n % len(users)])
            greetings.append(greeting)
            logins.append(login)
            await asyncio.sleep(PAUSE)
        return greetings, logins

    @staticmethod
    async def one(port: int, user: str) -> tuple[float, float]:
        started = time.perf_counter()
        client = await ImapClient.connect(port)
        greeting = time.perf_counter() - started
        await client.login(user, PASSWORD)
        login = time.perf_counter() - started
        await client.logout()
        return greeting, login
