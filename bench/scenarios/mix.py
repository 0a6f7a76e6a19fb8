"""Client mix: commands per second and per-command p50/p99 from 1, 10 and 50 users."""

from __future__ import annotations

from bench import load
from bench.measure import CpuMeter, Metric, Outcome, latency_metrics
from bench.scenarios.base import Context, MailboxSpec, Scenario
from bench.servers import Server
from bench.settings import Settings
from bench.users import mix_users

COMMAND_LABELS = {"LOGIN": "LOGIN", "SELECT": "SELECT", "FETCH_HEADERS": "FETCH headers",
                  "FETCH_BODY": "FETCH body", "STORE": "STORE flags", "APPEND": "APPEND",
                  "EXPUNGE": "EXPUNGE", "LOGOUT": "LOGOUT"}


class MixScenario(Scenario):
    name = "mix"
    title = "Client mix (IMAP)"

    def description(self, settings: Settings) -> str:
        return (f"{load.__doc__.strip().splitlines()[0]} Each level runs {settings.mix_duration:g} s; "
                f"every user has an INBOX of {settings.mix_mailbox_messages} messages.")

    def metrics(self, settings: Settings) -> list[Metric]:
        metrics = []
        for users in settings.mix_concurrency:
            level = f"{users} user{'s' if users != 1 else ''}"
            metrics.append(Metric(f"c{users}.rate", f"{level}: commands/s", "1/s", True))
            for command in load.COMMANDS:
                metrics += latency_metrics(f"c{users}.{command}", f"{level}: {COMMAND_LABELS[command]}")
        return metrics

    def mailboxes(self, settings: Settings) -> dict[str, MailboxSpec]:
        return {user: MailboxSpec(settings.mix_mailbox_messages, settings.seed + n)
                for n, user in enumerate(mix_users())}

    async def first_open(self, ctx: Context, server: Server) -> Outcome | None:
        await load.warm_up(server.ports.imap, mix_users(), ctx.settings.command_timeout)
        return None

    async def run(self, ctx: Context, server: Server) -> Outcome:
        outcome = Outcome()
        settings = ctx.settings
        for users in settings.mix_concurrency:
            with CpuMeter(server) as meter:
                result = await load.run_mix(server.ports.imap, mix_users()[:users], settings.mix_duration,
                                            settings.seed, settings.command_timeout)
            outcome.merge_cpu(meter)
            outcome.values[f"c{users}.rate"] = result.commands / result.elapsed
            for command, seconds in result.latencies.items():
                outcome.add_latencies(f"c{users}.{command}", seconds)
        return outcome

    def timeout(self, settings: Settings) -> float:
        return len(settings.mix_concurrency) * (settings.mix_duration + 120)
