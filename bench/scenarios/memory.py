"""Memory: PSS of the server's whole process tree per logged-in, IDLE connection.

For each level the server is restarted (so its pool is back to its idle size),
its total PSS measured (the baseline), then N connections opened, each LOGIN,
SELECT INBOX, IDLE; once all are idling, PSS again: (total - baseline) / N,
with every session still in a process of its own. Then, once the IDLE has
lasted long enough for both servers to hibernate it (pillarbox: idled;
Dovecot: imap-hibernate) and pillarbox's pool to shrink back, PSS a third
time: the steady state of a server holding many idle clients. Last, every
client ends its IDLE and must get its tagged OK: hibernation lost nothing.
PSS is summed from /proc/PID/smaps_rollup over every process of the server
(pillarbox: master and all workers; Dovecot: all its processes).
"""

from __future__ import annotations

import asyncio

from bench import procfs
from bench.clients.imap import ImapClient
from bench.measure import CpuMeter, Metric, Outcome
from bench.scenarios.base import Context, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import PASSWORD, mix_users

OPENING_IN_PARALLEL = 20
SETTLE = 1.0


class MemoryScenario(Scenario):
    name = "memory"
    title = "Memory per connection (IMAP, IDLE)"

    def description(self, settings: Settings) -> str:
        levels = ", ".join(str(n) for n in settings.memory_connections)
        return (f"{__doc__.strip().splitlines()[0]} Levels: {levels} connections, spread over "
                f"{len(mix_users())} users.")

    def metrics(self, settings: Settings) -> list[Metric]:
        metrics = [Metric("baseline", "idle server: total PSS", "MiB", False)]
        for n in settings.memory_connections:
            level = f"{n} connection{'s' if n != 1 else ''}"
            metrics.append(Metric(f"n{n}.per_connection", f"{level}: PSS per connection, each in a process",
                                  "KiB", False))
            metrics.append(Metric(f"n{n}.total", f"{level}: total PSS, each in a process", "MiB", False))
            metrics.append(Metric(f"n{n}.processes", f"{level}: server processes", "count", False))
            metrics.append(Metric(f"n{n}.settled", f"{level}: PSS per connection, IDLE settled (hibernated)",
                                  "KiB", False))
            metrics.append(Metric(f"n{n}.settled_processes", f"{level}: server processes, IDLE settled",
                                  "count", False))
        return metrics

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        try:
            for n in ctx.settings.memory_connections:
                await self.level(server, n, outcome)
        finally:
            await asyncio.to_thread(server.restart)      # leave no hundreds of idle workers behind
        return outcome

    async def level(self, server: Server, count: int, outcome: Outcome) -> None:
        await asyncio.to_thread(server.restart)
        baseline, baseline_processes = await steady_pss(server)
        outcome.values["baseline"] = baseline / 1024
        clients: list[ImapClient] = []
        try:
            with CpuMeter(server) as meter:
                clients = await open_idle(server.ports.imap, count)
            outcome.merge_cpu(meter)
            await asyncio.sleep(SETTLE)
            total, processes = server.pss_kib()
            outcome.values[f"n{count}.per_connection"] = (total - baseline) / count
            outcome.values[f"n{count}.total"] = total / 1024
            outcome.values[f"n{count}.processes"] = processes
            await settle(server, baseline_processes)
            total, processes = await steady_pss(server)
            if processes > baseline_processes:
                outcome.notes.append(f"{count} connections: {processes} processes once settled, "
                                     f"{baseline_processes} idle")
            outcome.values[f"n{count}.settled"] = (total - baseline) / count
            outcome.values[f"n{count}.settled_processes"] = processes
            await asyncio.gather(*(client.done() for client in clients))
        finally:
            await asyncio.gather(*(client.close() for client in clients))

    def timeout(self, settings: Settings) -> float:
        return 120 + 1.0 * sum(settings.memory_connections) + 120.0 * len(settings.memory_connections)


async def steady_pss(server: Server, tolerance: float = 0.005, limit: float = 20.0) -> tuple[int, int]:
    """Total PSS once two readings a second apart agree: a just-started or just-emptied
    server is still faulting pages in and freeing them."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    previous = server.pss_kib()
    while True:
        await asyncio.sleep(1.0)
        current = server.pss_kib()
        if abs(current[0] - previous[0]) <= tolerance * previous[0] or loop.time() > give_up:
            return current
        previous = current


async def settle(server: Server, baseline_processes: int) -> bool:
    """Wait until the IDLE sessions have hibernated and the server has had time to go back to
    its idle shape (pillarbox: every worker that served a session idle past -T and replaced
    by a fresh one), then until it runs as many processes as it did idle."""
    await asyncio.sleep(server.idle_settle_seconds())
    loop = asyncio.get_running_loop()
    give_up = loop.time() + server.idle_settle_seconds()
    while len(procfs.tree(server.pid)) > baseline_processes:
        if loop.time() > give_up:
            return False
        await asyncio.sleep(0.5)
    return True


async def open_idle(port: int, count: int) -> list[ImapClient]:
    users = mix_users()
    gate = asyncio.Semaphore(OPENING_IN_PARALLEL)

    async def one(n: int) -> ImapClient:
        async with gate:
            client = await ImapClient.connect(port, timeout=120)
            await client.login(users[n % len(users)], PASSWORD)
            await client.command(b"SELECT INBOX")
            await client.idle()
            return client

    results = await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, ImapClient)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await asyncio.gather(*(client.close() for client in clients))
        raise RuntimeError(f"{len(errors)} of {count} connections failed, first: {errors[0]!r}")
    return clients
