"""A big mailbox: SELECT, FETCH 1:* (UID FLAGS), a header SEARCH and a body SEARCH.

The INBOX is written once as Maildir files (the same files for both servers),
so each server first sees it when the benchmark first selects it: that first
SELECT (indexing every file) and the first body SEARCH (pillarbox builds its
full-text index then; Dovecot, without an FTS plugin, reads every message every
time) are reported once, apart from the warm numbers measured every round.
"""

from __future__ import annotations

import time

from bench.clients.imap import ImapClient, Response
from bench.mailgen import SMALL_SIZES
from bench.measure import CpuMeter, Metric, Outcome
from bench.scenarios.base import Context, MailboxSpec, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import BIG_USER, PASSWORD

HEADER_SEARCH = b'UID SEARCH SUBJECT "report 4242"'
BODY_SEARCH = b'UID SEARCH BODY "holiday schedule"'
OPERATIONS = (("select", "SELECT INBOX", b"SELECT INBOX"),
              ("fetch_flags", "FETCH 1:* (UID FLAGS)", b"FETCH 1:* (UID FLAGS)"),
              ("search_header", 'UID SEARCH SUBJECT "report 4242"', HEADER_SEARCH),
              ("search_body", 'UID SEARCH BODY "holiday schedule"', BODY_SEARCH))


def hits(response: Response) -> int:
    for line in response.untagged:
        if line.startswith(b"* SEARCH"):
            return len(line.split()) - 2
    return -1


class BigMailboxScenario(Scenario):
    name = "bigmailbox"
    title = "Big mailbox (IMAP)"

    def description(self, settings: Settings) -> str:
        return f"{settings.big_messages:,} messages in INBOX. {__doc__.strip().splitlines()[0]}"

    def metrics(self, settings: Settings) -> list[Metric]:
        metrics = [Metric("first.select", "first SELECT (indexing every file)", "s", False, once=True),
                   Metric("first.search_body", "first body SEARCH", "s", False, once=True)]
        for key, label, _ in OPERATIONS:
            metrics.append(Metric(key, f"warm {label}", "ms", False))
        return metrics

    def mailboxes(self, settings: Settings) -> dict[str, MailboxSpec]:
        return {BIG_USER: MailboxSpec(settings.big_messages, settings.seed + 1000, SMALL_SIZES)}

    async def first_open(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        client = await self.login(ctx, server)
        try:
            with CpuMeter(server) as meter:
                outcome.values["first.select"] = await timed(client, b"SELECT INBOX") / 1000
                seconds = await timed(client, BODY_SEARCH) / 1000
                outcome.values["first.search_body"] = seconds
            outcome.merge_cpu(meter)
        finally:
            await client.logout()
        return outcome

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        client = await self.login(ctx, server)
        try:
            with CpuMeter(server) as meter:
                for key, _, command in OPERATIONS:
                    started = time.perf_counter()
                    response = await client.command(command)
                    outcome.values[key] = (time.perf_counter() - started) * 1000
                    if key.startswith("search"):
                        outcome.notes.append(f"{server.label} {key}: {hits(response)} hits")
            outcome.merge_cpu(meter)
        finally:
            await client.logout()
        return outcome

    @staticmethod
    async def login(ctx: Context, server: Server) -> ImapClient:
        client = await ImapClient.connect(server.ports.imap, ctx.settings.command_timeout)
        await client.login(BIG_USER, PASSWORD)
        return client

    def timeout(self, settings: Settings) -> float:
        return settings.command_timeout


async def timed(client: ImapClient, command: bytes) -> float:
    started = time.perf_counter()
    await client.command(command)
    return (time.perf_counter() - started) * 1000
