"""One benchmark run: set up both servers and the mail, run every round, collect outcomes."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench import install, procfs, system
from bench.measure import Outcome
from bench.scenarios import ALL, Context, MailboxSpec, Scenario
from bench.servers import DovecotServer, PillarboxServer, Server
from bench.settings import Settings


@dataclass
class Cell:
    """One scenario against one server over the whole run."""
    rounds: list[Outcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    once: Outcome | None = None
    once_failure: str | None = None


@dataclass
class RunResults:
    settings: Settings
    scenarios: list[Scenario]
    servers: list[Server]
    machine: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    setups: dict[str, dict[str, str]] = field(default_factory=dict)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    started: str = ""
    duration: float = 0.0
    leftover_processes: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cell(self, scenario: str, server: str) -> Cell:
        return self.cells.setdefault((scenario, server), Cell())


def selected_scenarios(settings: Settings) -> list[Scenario]:
    if not settings.scenarios:
        return list(ALL)
    known = {scenario.name: scenario for scenario in ALL}
    unknown = set(settings.scenarios) - set(known)
    if unknown:
        raise system.SetupError(f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    return [scenario for scenario in ALL if scenario.name in settings.scenarios]


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class Runner:
    def __init__(self, settings: Settings, output: Path):
        self.settings = settings
        self.output = output
        self.scenarios = selected_scenarios(settings)
        self.workdir = settings.workdir or Path(tempfile.mkdtemp(prefix="pillarbox-bench-"))
        self.servers: list[Server] = []
        self.notes: list[str] = []

    def run(self) -> RunResults:
        started = time.perf_counter()
        system.require_root()
        system.ensure_dovecot()
        system.raise_fd_limit()
        account = system.ensure_account()
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        self.servers = [PillarboxServer(self.workdir / "pillarbox", account, self.settings.imap_prefork,
                                        self.settings.idle_hibernate),
                        DovecotServer(self.workdir / "dovecot", account, self.settings.imap_prefork,
                                      self.settings.idle_hibernate)]
        results = RunResults(self.settings, self.scenarios, self.servers,
                             started=datetime.datetime.now().isoformat(timespec="seconds"))
        results.machine = system.machine_facts(self.workdir)
        results.versions = {server.label: server.version() for server in self.servers}
        with system.inotify_instances() as inotify:
            results.machine["fs.inotify.max_user_instances"] = inotify
            try:
                self.prepare_mail(account)
                for server in self.servers:
                    server.start()
                results.setups = {server.label: server.description() for server in self.servers}
                asyncio.run(self.all_rounds(results))
            finally:
                results.notes = self.notes
                results.leftover_processes = self.stop_servers()
                self.keep_logs()
                if not self.settings.keep_workdir and self.settings.workdir is None:
                    shutil.rmtree(self.workdir, ignore_errors=True)
        results.duration = time.perf_counter() - started
        return results

    def prepare_mail(self, account) -> None:
        specs: dict[str, MailboxSpec] = {}
        for scenario in self.scenarios:
            specs.update(scenario.mailboxes(self.settings))
        if "mix" not in specs and any(s.name in ("connect", "memory") for s in self.scenarios):
            from bench.scenarios.mix import MixScenario            # connect/memory log in as the mix users
            specs.update(MixScenario().mailboxes(self.settings))
        print(f"writing the benchmark mail in {self.workdir} ...", flush=True)
        install.write_seeds(self.workdir / "seed", specs)
        for server in self.servers:
            server.configure()
            install.install(server, self.workdir / "seed", list(specs), account)

    async def all_rounds(self, results: RunResults) -> None:
        ctx = Context(self.settings, self.workdir)
        for scenario in self.scenarios:
            for server in self.servers:
                await self.first_open(ctx, scenario, server, results)
        for number in range(self.settings.rounds):
            order = self.servers if number % 2 == 0 else list(reversed(self.servers))
            for scenario in self.scenarios:
                for server in order:
                    await self.one_round(ctx, scenario, server, results, number)

    async def first_open(self, ctx: Context, scenario: Scenario, server: Server, results: RunResults) -> None:
        cell = results.cell(scenario.name, server.name)
        for attempt in (1, 2):
            try:
                cell.once = await asyncio.wait_for(scenario.first_open(ctx, server), scenario.timeout(self.settings))
                return
            except Exception as exc:                 # noqa: BLE001 - a failed scenario is reported, not fatal
                if self.retry_after_death(server, attempt, f"{scenario.name} first open"):
                    continue
                cell.once_failure = failure_text(exc)
                self.log_failure(scenario, server, "first open", exc)
                self.revive(server)
                return

    async def one_round(self, ctx: Context, scenario: Scenario, server: Server, results: RunResults,
                        number: int) -> None:
        cell = results.cell(scenario.name, server.name)
        for attempt in (1, 2):
            began = time.perf_counter()
            print(f"[round {number + 1}/{self.settings.rounds}] {scenario.name:10s} {server.label:9s} ...",
                  end="", flush=True)
            try:
                outcome = await asyncio.wait_for(scenario.run(ctx, server), scenario.timeout(self.settings))
                server.check_alive()
            except Exception as exc:                 # noqa: BLE001
                print(f" failed: {failure_text(exc)}", flush=True)
                if self.retry_after_death(server, attempt, f"{scenario.name} round {number + 1}"):
                    continue
                cell.failures.append(failure_text(exc))
                self.log_failure(scenario, server, f"round {number + 1}", exc)
                self.revive(server)
                return
            cell.rounds.append(outcome)
            print(f" {time.perf_counter() - began:6.1f} s (client CPU {outcome.client_cpu:.1f} s, "
                  f"server CPU {outcome.server_cpu:.1f} s, rest of the machine {outcome.other_cpu:.1f} s)",
                  flush=True)
            return

    def retry_after_death(self, server: Server, attempt: int, what: str) -> bool:
        """A server that died under a scenario (something else on the machine may have killed
        it) is restarted, and the scenario tried once more."""
        if attempt > 1 or server.process is None or server.process.poll() is None:
            return False
        status = server.process.returncode
        note = f"{server.label} exited (status {status}) during {what}: restarted, tried again"
        print(f"  {note}", flush=True)
        self.notes.append(note)
        server.stop()
        server.start()
        return True

    def log_failure(self, scenario: Scenario, server: Server, when: str, exc: BaseException) -> None:
        with open(self.output / "failures.log", "a") as handle:
            handle.write(f"== {scenario.name} {server.label} {when}\n")
            handle.write("".join(traceback.format_exception(exc)))

    def keep_logs(self) -> None:
        """The servers' logs go with the results, compressed (the work directory is removed)."""
        for server in self.servers:
            if server.log_path.exists():
                with open(server.log_path, "rb") as source, gzip.open(self.output / f"{server.name}.log.gz",
                                                                      "wb") as target:
                    shutil.copyfileobj(source, target)

    @staticmethod
    def revive(server: Server) -> None:
        """A server that died during a scenario is started again for the next one."""
        if server.process is None or server.process.poll() is not None:
            server.stop()
            server.start()

    def stop_servers(self) -> list[int]:
        """Stop both; the pids of any process of theirs still alive afterwards (should be none)."""
        leftovers = []
        for server in self.servers:
            known = procfs.tree(server.pid) if server.process is not None else []
            server.stop()
            leftovers += [pid for pid in known if procfs.alive(pid)]
        time.sleep(0.2)
        return sorted(set(leftovers) | set(procfs.processes_in(str(self.workdir))))
