"""Store benchmarks (issue 3): numbers, not pass/fail.

    .venv/bin/python bench/store.py [--messages 100000] [--appends 500]

1. append throughput with fsync: single appends (file fsync, directory fsync,
   WAL fsync each) and batches of 100 (one transaction: group commit);
2. opening a mailbox of N messages: first sight of a Maildir written by
   another program (adopting every file), then an ordinary open (clean: two
   stat calls) and listing every message (what SELECT + FETCH 1:* (UID FLAGS) need);
3. a flag change on 10,000 messages (one STORE, one rename per file);
4. a body SEARCH over N messages: the first one indexes the text, then a warm one.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pillarbox.config import Config  # noqa: E402
from pillarbox.store import INBOX, SEEN, UserStore  # noqa: E402

WORDS = ("mail server python maildir index message folder client search quota delivery flag "
         "archive project meeting report invoice holiday schedule budget review").split()


def message(n: int, rng: random.Random) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(300))
    return (f"From: Sender {n % 97} <s{n % 97}@example.org>\r\nTo: user@example.org\r\n"
            f"Subject: report {n} {rng.choice(WORDS)}\r\nMessage-ID: <{n}.{rng.random()}@example.org>\r\n"
            f"Date: Sat, 21 Nov 2026 07:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{text}\r\n").encode()


def timed(label: str, function, count: int | None = None):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    rate = f"  ({count / elapsed:,.0f}/s)" if count else ""
    print(f"  {label:58s} {elapsed * 1000:10.1f} ms{rate}")
    return result


def bench_appends(root: Path, count: int, rng: random.Random) -> None:
    config = Config.from_text(f"partition-default: {root}/appends\n")
    with UserStore.open(config, "bench") as store:
        data = [message(n, rng) for n in range(count)]
        timed(f"{count} single appends (3 fsyncs each)", lambda: [store.append(INBOX, d) for d in data], count)
        batches = [data[i:i + 100] for i in range(0, count, 100)]
        timed(f"{count} appends in batches of 100 (group commit)",
              lambda: [store.append_many(INBOX, [(d, (), None) for d in b]) for b in batches], count)


def write_foreign_maildir(folder: Path, count: int, rng: random.Random) -> None:
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / "cur" / f"{1_700_000_000 + n}.M{n}P1.bench,S=0:2,{'S' if n % 3 else ''}").write_bytes(message(n, rng))


def bench_big_mailbox(root: Path, count: int, rng: random.Random) -> None:
    config = Config.from_text(f"partition-default: {root}/big\n")
    folder = root / "big" / "user" / "bench"
    timed(f"writing {count} message files (setup, not the store)", lambda: write_foreign_maildir(folder, count, rng))
    with UserStore.open(config, "bench") as store:
        timed(f"first sight: adopt {count} foreign files", lambda: store.info(INBOX), count)
    with UserStore.open(config, "bench") as store:
        timed("open again: clean mailbox status (2 stats)", lambda: store.info(INBOX))
        records = timed(f"list all {count} messages (UID FLAGS)", lambda: store.messages(INBOX), count)
        uids = [r.uid for r in records[:10_000]]
        timed("flag change on 10,000 messages (one STORE)", lambda: store.store_flags(INBOX, uids, "add", ["$Bench"]),
              len(uids))
        timed("remove \\Seen from 10,000 messages", lambda: store.store_flags(INBOX, uids, "remove", [SEEN]), len(uids))
        hits = timed(f"body SEARCH over {count}, first (indexes all text)",
                     lambda: store.search_text(INBOX, "holiday schedule", "body"), count)
        timed(f"body SEARCH over {count}, warm", lambda: store.search_text(INBOX, "invoice budget", "body"), count)
        timed(f"header SEARCH over {count}, warm", lambda: store.search_text(INBOX, "report 4242", "header"), count)
        print(f"  (first search matched {len(hits)} messages)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(42)
    root = Path(tempfile.mkdtemp(prefix="pillarbox-bench-", dir=os.environ.get("BENCH_DIR")))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"filesystem of {root}")
    try:
        bench_appends(root, args.appends, rng)
        bench_big_mailbox(root, args.messages, rng)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
