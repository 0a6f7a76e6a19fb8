"""The results: medians over rounds, pillarbox/Dovecot ratios, the CPU check; JSON and Markdown."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from bench.measure import Metric
from bench.runner import Cell, RunResults
from bench.stats import median

SUBJECT, REFERENCE = "pillarbox", "dovecot"
DISTURBED = 0.25         # the rest of the machine used this much of the server's CPU: noisy
DISTURBED_FLOOR = 1.0    # ... and at least this many seconds
SATURATED = 0.9          # the load generator is one asyncio process: one core at most


def metric_entry(metric: Metric, cells: dict[str, Cell]) -> dict:
    entry: dict = {"key": metric.key, "label": metric.label, "unit": metric.unit,
                   "better": "higher" if metric.higher_is_better else "lower", "once": metric.once}
    for server, cell in cells.items():
        outcomes = [cell.once] if metric.once and cell.once else ([] if metric.once else cell.rounds)
        values = [o.values[metric.key] for o in outcomes if metric.key in o.values]
        failure = cell.once_failure if metric.once else (cell.failures[0] if cell.failures else None)
        entry[server] = {"rounds": values, "median": median(values) if values else None,
                         "failed": None if values else (failure or "no measurement")}
    subject, reference = entry[SUBJECT]["median"], entry[REFERENCE]["median"]
    entry["ratio"] = subject / reference if subject is not None and reference else None
    return entry


def cpu_entry(cells: dict[str, Cell]) -> dict:
    """Load generator vs server CPU seconds, summed over the rounds (and first open)."""
    check = {}
    for server, cell in cells.items():
        outcomes = [*cell.rounds, *([cell.once] if cell.once else [])]
        client = sum(o.client_cpu for o in outcomes)
        served = sum(o.server_cpu for o in outcomes)
        wall = sum(o.wall for o in outcomes)
        busy = client / wall if wall else 0.0
        check[server] = {"client_cpu": client, "server_cpu": served, "wall": wall, "client_busy": busy,
                         "other_cpu": sum(o.other_cpu for o in outcomes),
                         "ok": (client <= served and busy < SATURATED) if outcomes else None}
    return check


def cpu_verdict(check: dict) -> str:
    if check["ok"]:
        verdict = "ok"
    elif check["client_busy"] >= SATURATED:
        verdict = "WARNING: the load generator kept a whole core busy"
    else:
        verdict = "WARNING: the load generator used more CPU than the server"
    if check["other_cpu"] > max(DISTURBED * check["server_cpu"], DISTURBED_FLOOR):
        verdict += "; the rest of the machine was busy too: noisy numbers"
    return verdict


def summarize(results: RunResults) -> dict:
    scenarios = []
    for scenario in results.scenarios:
        cells = {server.name: results.cell(scenario.name, server.name) for server in results.servers}
        notes = sorted({note for cell in cells.values() for o in cell.rounds for note in o.notes})
        scenarios.append({
            "name": scenario.name, "title": scenario.title,
            "description": scenario.description(results.settings),
            "metrics": [metric_entry(metric, cells) for metric in scenario.metrics(results.settings)],
            "cpu": cpu_entry(cells),
            "failures": {server: cell.failures + ([cell.once_failure] if cell.once_failure else [])
                         for server, cell in cells.items()},
            "notes": notes,
        })
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(results.settings).items()}
    return {"started": results.started, "duration_s": results.duration, "settings": settings,
            "machine": results.machine, "versions": results.versions, "setups": results.setups,
            "leftover_processes": results.leftover_processes, "notes": results.notes, "scenarios": scenarios}


def write_json(summary: dict, path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


# ---------------------------------------------------------------- Markdown

def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if magnitude >= 0.1 else f"{value:.3f}"


def cell_text(side: dict) -> str:
    return number(side["median"]) if side["median"] is not None else f"failed: {side['failed']}"


def ratio_text(entry: dict) -> str:
    ratio = entry["ratio"]
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"


def metric_rows(scenario: dict) -> list[str]:
    rows = ["| metric | unit | pillarbox | Dovecot | pillarbox/Dovecot | better |",
            "|---|---|--:|--:|--:|---|"]
    for entry in scenario["metrics"]:
        label = entry["label"] + (" (once)" if entry["once"] else "")
        rows.append(f"| {label} | {entry['unit']} | {cell_text(entry[SUBJECT])} | {cell_text(entry[REFERENCE])} "
                    f"| {ratio_text(entry)} | {entry['better']} |")
    return rows


def cpu_rows(summary: dict, labels: dict[str, str]) -> list[str]:
    rows = ["| scenario | server | load generator CPU s | server CPU s | load generator / server "
            "| load generator busy | rest of the machine CPU s | verdict |",
            "|---|---|--:|--:|--:|--:|--:|---|"]
    for scenario in summary["scenarios"]:
        for server, check in scenario["cpu"].items():
            if check["ok"] is None:
                continue
            share = check["client_cpu"] / check["server_cpu"] if check["server_cpu"] else math.inf
            rows.append(f"| {scenario['name']} | {labels[server]} | {check['client_cpu']:.2f} | "
                        f"{check['server_cpu']:.2f} | {share:.2f} | {check['client_busy']:.0%} | "
                        f"{check['other_cpu']:.2f} | {cpu_verdict(check)} |")
    return rows


def markdown(summary: dict) -> str:
    settings = summary["settings"]
    labels = {SUBJECT: "pillarbox", REFERENCE: "Dovecot"}
    lines = [f"# pillarbox vs Dovecot, {summary['started']}", "",
             f"Medians over {settings['rounds']} round(s) (seed {settings['seed']}"
             f"{', --quick' if settings['quick'] else ''}); the ratio is pillarbox / Dovecot, and the last "
             "column says whether a higher or a lower value is better. Metrics marked (once) are measured "
             "once per run, on the first open. Latencies are from the client's side, on loopback.", "",
             "## Machine and versions", ""]
    lines += [f"- {key}: {value}" for key, value in summary["machine"].items()]
    lines += [f"- {name}: {version}" for name, version in summary["versions"].items()]
    lines += ["", "## How the servers are set up", ""]
    for name, setup in summary["setups"].items():
        lines.append(f"**{name}**")
        lines += [f"- {key}: {value}" for key, value in setup.items()]
        lines.append("")
    for scenario in summary["scenarios"]:
        lines += [f"## {scenario['title']}", "", scenario["description"], "", *metric_rows(scenario), ""]
        if scenario["notes"]:
            lines += ["Notes: " + "; ".join(scenario["notes"]), ""]
        for server, failures in scenario["failures"].items():
            if failures:
                lines += [f"{labels[server]} failed {len(failures)} time(s): {failures[0]}", ""]
    lines += ["## Is the load generator the bottleneck?", "",
              "CPU seconds of the load generator (this Python process, asyncio, one core) against the "
              "server's whole process tree, during the measured phases, summed over the rounds; 'busy' "
              "is the load generator's CPU time over the wall time (100% = one core saturated); 'rest of "
              "the machine' is the CPU everything else used meanwhile (other programs, and kernel threads "
              "writing back the servers' files): much more than ~0 means the numbers are disturbed.", "",
              *cpu_rows(summary, labels), ""]
    if summary["notes"]:
        lines += ["## Incidents", "", *[f"- {note}" for note in summary["notes"]], ""]
    leftovers = summary["leftover_processes"]
    lines.append(f"Run took {summary['duration_s'] / 60:.1f} minutes; "
                 + ("no server process was left behind." if not leftovers
                    else f"server processes left behind: {leftovers}"))
    return "\n".join(lines) + "\n"


def cpu_warnings(summary: dict) -> list[str]:
    warnings = []
    for scenario in summary["scenarios"]:
        for server, check in scenario["cpu"].items():
            if check["ok"] is False:
                warnings.append(f"{scenario['name']} vs {server}: load generator {check['client_cpu']:.2f} s CPU "
                                f"({check['client_busy']:.0%} busy), server {check['server_cpu']:.2f} s")
    return warnings
