"""What a scenario reports: metric definitions, one round's outcome, and CPU metering."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.procfs import machine_busy_seconds
from bench.servers import Server
from bench.stats import ms, percentile


@dataclass(frozen=True)
class Metric:
    key: str                 # unique within the scenario, e.g. "c10.FETCH_BODY.p99"
    label: str               # for people, e.g. "10 users: FETCH body p99"
    unit: str
    higher_is_better: bool
    once: bool = False       # measured once per run (first open), not per round


@dataclass
class Outcome:
    """One scenario, one server, one round."""
    values: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)     # latencies in ms, for the plot
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0          # everything else on the machine meanwhile (should be ~0)
    wall: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add_latencies(self, prefix: str, seconds: list[float]) -> None:
        """p50 and p99 in ms under prefix.p50/.p99, and the samples for the plot."""
        values = ms(seconds)
        self.values[f"{prefix}.p50"] = percentile(values, 0.50)
        self.values[f"{prefix}.p99"] = percentile(values, 0.99)
        self.samples[prefix] = values

    def merge_cpu(self, meter: "CpuMeter") -> None:
        self.client_cpu += meter.client
        self.server_cpu += meter.server
        self.other_cpu += meter.other
        self.wall += meter.wall


def latency_metrics(prefix: str, label: str) -> list[Metric]:
    return [Metric(f"{prefix}.p50", f"{label} p50", "ms", False),
            Metric(f"{prefix}.p99", f"{label} p99", "ms", False)]


class CpuMeter:
    """CPU seconds used by this process (the load generator) and by the server's
    whole process tree between __enter__ and __exit__: wrap the load phase only."""

    def __init__(self, server: Server):
        self._server = server
        self.client = self.server = self.other = self.wall = 0.0

    def __enter__(self) -> "CpuMeter":
        self._started = (time.process_time(), self._server.cpu_seconds(), machine_busy_seconds(),
                         time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        client0, server0, machine0, wall0 = self._started
        self.wall = time.perf_counter() - wall0
        self.client = time.process_time() - client0
        self.server = self._server.cpu_seconds() - server0
        self.other = max(0.0, machine_busy_seconds() - machine0 - self.client - self.server)
