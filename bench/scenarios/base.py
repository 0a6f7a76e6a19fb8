"""What every scenario provides, and the context it runs in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from bench.mailgen import MIX_SIZES
from bench.measure import Metric, Outcome
from bench.servers import Server
from bench.settings import Settings


@dataclass(frozen=True)
class MailboxSpec:
    """An INBOX written once and installed, byte-identical, for both servers."""
    count: int
    seed: int
    sizes: tuple[int, ...] = MIX_SIZES


@dataclass
class Context:
    settings: Settings
    workdir: Path


class Scenario(ABC):
    name: str            # as --scenario takes it
    title: str           # a heading in the report

    @abstractmethod
    def metrics(self, settings: Settings) -> list[Metric]:
        """Every metric it reports, so the table has a row even when a run fails."""

    def mailboxes(self, settings: Settings) -> dict[str, MailboxSpec]:
        """The users whose INBOX it needs, and what is in them."""
        return {}

    async def first_open(self, ctx: Context, server: Server) -> Outcome | None:
        """Once per run, before round 1: what a first open costs (Metric.once), warm-ups."""
        return None

    @abstractmethod
    async def run(self, ctx: Context, server: Server) -> Outcome:
        """One round against one server."""

    def timeout(self, settings: Settings) -> float:
        """Seconds after which a round is abandoned as failed."""
        return 300.0

    def description(self, settings: Settings) -> str:
        return ""
