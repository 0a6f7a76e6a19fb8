"""The store under several real processes at once, and under kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pillarbox.config import Config
from pillarbox.store import INBOX, UserStore

WORKER = Path(__file__).with_name("store_worker.py")


def open_store(spool: Path) -> UserStore:
    return UserStore.open(Config.from_text(f"partition-default: {spool}\n"), "hammer")


def test_many_processes_on_one_mailbox(tmp_path):
    spool = tmp_path / "spool"
    with open_store(spool) as store:
        store.create_mailbox("Copies")
    workers = [subprocess.Popen([sys.executable, str(WORKER), "hammer", str(spool), str(w), "4", str(100 + w)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(4)]
    reports = []
    for process in workers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err          # no SQLITE_BUSY or anything else surfaced
        reports.append(json.loads(out))
    all_uids = [uid for r in reports for uid in r["appended"]]
    assert len(all_uids) == len(set(all_uids)), "a UID was handed out twice"
    for report in reports:
        assert report["appended"] == sorted(report["appended"]), "UIDs of one process not ascending"
        assert report["order_ok"], "a session saw changes out of order"
        assert sum(len(r["appended"]) for r in reports) > 40
    with open_store(spool) as store:
        final = {r.uid: r.flags for r in store.messages(INBOX)}
        expunged = {uid for r in reports for uid in r["expunged"]}
        assert set(final) == set(all_uids) - expunged
        for report in reports:
            for uid, keyword in report["keywords"]:
                if uid in final:
                    assert keyword in final[uid], f"flag change {keyword} on UID {uid} was lost"
        assert_index_matches_directory(store)


def assert_index_matches_directory(store: UserStore) -> None:
    for info in store.list_mailboxes():
        folder = store.folder_path(store.db.execute("SELECT dirname FROM mailboxes WHERE name = ?",
                                                    (info.name,)).fetchone()[0])
        files = sorted(os.listdir(os.path.join(folder, "cur")) + os.listdir(os.path.join(folder, "new")))
        rows = sorted(os.path.basename(r[0]) for r in store.db.execute(
            "SELECT filename FROM messages m JOIN mailboxes b ON b.id = m.mailbox WHERE b.name = ?", (info.name,)))
        assert files == rows, f"index and directory disagree in {info.name}"
        assert info.messages == len(rows)


def test_kill_9_during_appends_loses_nothing_acknowledged(tmp_path):
    spool = tmp_path / "spool"
    rng = random.Random(7)
    acknowledged: dict[int, int] = {}
    start = 0
    for _ in range(12):
        process = subprocess.Popen([sys.executable, str(WORKER), "appender", str(spool), str(start)],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(0.3 + rng.random() * 0.4)
        os.kill(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        for line in out.splitlines():
            _, uid, n = line.split()
            acknowledged[int(n)] = int(uid)
        start += 100_000
    assert len(acknowledged) > 20
    with open_store(spool) as store:
        records = store.messages(INBOX)
        bodies = {}
        for record in records:
            data = store.read_message(INBOX, record.uid)
            n = int(data.split(b"payload 0-")[1].split(b"\r\n")[0])
            assert n not in bodies, f"message {n} is there twice"
            bodies[n] = record.uid
            assert data.endswith(b"\r\n") and b"Subject: w0 n" in data     # never half a message
        for n, uid in acknowledged.items():
            assert bodies.get(n) == uid, f"acknowledged message {n} (UID {uid}) is missing"
        assert_index_matches_directory(store)
