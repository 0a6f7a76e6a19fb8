"""Processes that exercise one user's store, for the concurrency and crash tests.

    store_worker.py hammer SPOOL WORKER SECONDS SEED   -> JSON report on stdout
    store_worker.py appender SPOOL START               -> "ACK <uid> <n>" lines until killed
"""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pillarbox.config import Config  # noqa: E402
from pillarbox.store import DELETED, INBOX, MessageNotFound, UserStore  # noqa: E402


def open_store(spool: str) -> UserStore:
    return UserStore.open(Config.from_text(f"partition-default: {spool}\n"), "hammer")


def body(worker: int, n: int) -> bytes:
    return f"From: w{worker}@example.org\r\nSubject: w{worker} n{n}\r\n\r\npayload {worker}-{n}\r\n".encode()


class View:
    """What one session knows of INBOX, kept current only through changes_since."""

    def __init__(self, store: UserStore):
        self.store = store
        self.modseq = 0
        self.flags: dict[int, frozenset] = {}
        self.order_ok = True

    def refresh(self) -> None:
        changes = self.store.changes_since(INBOX, self.modseq)
        if changes.highestmodseq < self.modseq:
            self.order_ok = False
        for record in changes.updated:
            if record.modseq <= self.modseq:
                self.order_ok = False
            self.flags[record.uid] = record.flags
        for uid in changes.expunged:
            self.flags.pop(uid, None)
        self.modseq = changes.highestmodseq


def hammer(spool: str, worker: int, seconds: float, seed: int) -> dict:
    rng = random.Random(seed)
    store = open_store(spool)
    view = View(store)
    appended, keywords_added, expunged, copies = [], [], [], 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        action = rng.random()
        if action < 0.4:
            appended.append(store.append(INBOX, body(worker, n)).uid)
        elif action < 0.75 and view.flags:
            uid = rng.choice(list(view.flags))
            keyword = f"k{worker}x{n}"
            changed, _ = store.store_flags(INBOX, [uid], "add", [keyword])
            if changed:
                keywords_added.append([uid, keyword])
        elif action < 0.85 and appended:
            mine = [u for u in appended if u not in expunged]
            if mine:
                uid = rng.choice(mine)
                store.store_flags(INBOX, [uid], "add", [DELETED])
                expunged += store.expunge(INBOX, uids=[uid])
        elif appended:
            store.copy(INBOX, [rng.choice(appended)], "Copies")
            copies += 1
        view.refresh()
        try:
            if appended:
                store.read_message(INBOX, appended[-1])
        except MessageNotFound:
            pass
    view.refresh()
    return {"worker": worker, "appended": appended, "keywords": keywords_added, "expunged": expunged,
            "copies": copies, "order_ok": view.order_ok, "final_view": sorted(view.flags)}


def appender(spool: str, start: int) -> None:
    store = open_store(spool)
    n = start
    while True:
        result = store.append(INBOX, body(0, n))
        sys.stdout.write(f"ACK {result.uid} {n}\n")
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "hammer":
        print(json.dumps(hammer(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))))
    elif mode == "appender":
        appender(sys.argv[2], int(sys.argv[3]))
