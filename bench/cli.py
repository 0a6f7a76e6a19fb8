"""`python -m bench`: run the benchmark, write bench/results/<timestamp>/."""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

from bench import report
from bench.plot import write_plot
from bench.runner import Runner
from bench.scenarios import ALL
from bench.settings import Settings, quick
from bench.system import SetupError

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run: 1 round, small mailboxes")
    parser.add_argument("--rounds", type=int, help="rounds to take the median over (default 3; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--scenario", action="append", choices=[s.name for s in ALL], dest="scenarios",
                        help="run only this scenario (repeatable); default: all")
    parser.add_argument("--big-messages", type=int, help="messages in the big mailbox (default 100,000)")
    parser.add_argument("--workdir", type=Path, help="where mail and servers live (default: a temp dir, removed)")
    parser.add_argument("--keep-workdir", action="store_true", help="do not remove the work directory")
    parser.add_argument("--output", type=Path, help="results directory (default bench/results/<timestamp>)")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings(seed=args.seed, workdir=args.workdir, keep_workdir=args.keep_workdir,
                        scenarios=tuple(args.scenarios or ()))
    if args.quick:
        settings = quick(settings)
    if args.rounds:
        settings = replace(settings, rounds=args.rounds)
    if args.big_messages:
        settings = replace(settings, big_messages=args.big_messages)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    output = args.output or RESULTS / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output.mkdir(parents=True, exist_ok=True)
    try:
        results = Runner(settings, output).run()
    except SetupError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    summary = report.summarize(results)
    report.write_json(summary, output / "results.json")
    text = report.markdown(summary)
    (output / "results.md").write_text(text)
    plotted = write_plot(results, output / "latency.png")
    print()
    print(text)
    for warning in report.cpu_warnings(summary):
        print(f"WARNING: the load generator may be the bottleneck: {warning}")
    print(f"results: {output / 'results.md'}, {output / 'results.json'}"
          + (f", {output / 'latency.png'}" if plotted else ""))
    return 1 if summary["leftover_processes"] else 0
