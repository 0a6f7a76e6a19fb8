"""Durability under kill -9: no acknowledged message is lost or doubled, nothing unacknowledged appears.

Several LMTP clients (threads, over TCP and the UNIX socket) deliver numbered
messages, each with its own Message-ID, to one to three users per
transaction through a real master, while a killer SIGKILLs random lmtpd
workers (mostly busy ones, so many die mid-DATA or mid-commit) and, twice,
master itself (its workers then get master's death signal, SIGTERM); master
is restarted after each of those. Afterwards every user's store is read
back and:

* every (recipient, message) that got 250 is in that recipient's INBOX
  exactly once, octet for octet what was sent after the Return-Path and
  Received fields;
* every other message there was in flight at a kill: its DATA had been
  sent but no reply had arrived. Nothing that got a 4xx/5xx or was never
  sent is there. An in-flight message may be there or not, at most once:
  lmtpd acknowledges only after the store committed (file fsync'd and
  renamed, directory fsync'd, index row and duplicate record committed
  with the WAL fsync'd), so a kill between that COMMIT and the 250 reaching
  the client leaves a stored message the client does not know about.

That commit-before-reply window is what an MTA's retry covers: for each
in-flight message that is stored and has its duplicate record, the test
retries it as an MTA would (same Message-ID and Date) and requires 250 and
still exactly one copy. A kill in the narrower window between the store's
rename into cur/ and its COMMIT leaves a complete file without index row
or duplicate record; the next look at the folder adopts it (the store
never drops a complete message), and an MTA retry would then store it a
second time. Such messages are counted and reported, not retried (see
lmtpd/duplicate.py and lmtpd(8), DURABILITY).
"""

from __future__ import annotations

import os
import random
import signal
import smtplib
import threading
import time

from lmtpd import duplicate
from pillarbox.config import Config
from pillarbox.store import INBOX, UserStore
from tests.integration.conftest import alive, wait_for
from tests.integration.test_lmtpd import lmtp, setup_lmtp_master

RECIPIENTS = ("alice", "bob", "carol", "admin")
CLIENTS = 6
DURATION = 14.0
MASTER_KILLS_AT = (4.5, 9.5)


class Ledger:
    """What the clients know: acknowledged, refused and in-flight (recipient, message id) pairs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked: dict[tuple[str, str], bytes] = {}
        self.refused: set[tuple[str, str]] = set()
        self.in_flight: dict[tuple[str, str], bytes] = {}
        self.sent_messages = 0
        self.errors: list[str] = []


def numbered_message(client: int, number: int) -> tuple[str, bytes]:
    message_id = f"<c{client}-n{number}@durability.test>"
    filler = f"line of message {client}-{number} " * 3
    body = "".join(f"{filler}{i}\r\n" for i in range(random.randint(1, 60)))
    data = (f"From: c{client}@example.org\r\nSubject: message {client}-{number}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Sat, 21 Nov 2026 07:00:00 +0000\r\n\r\n.{body}").encode()
    return message_id, data


def run_client(server, index: int, stop: threading.Event, ledger: Ledger) -> None:
    rng = random.Random(index)
    number = 0
    client = None
    while not stop.is_set():
        try:
            if client is None:
                client = lmtp(server, "lmtpunix" if index % 2 else "lmtp")
                client.ehlo(f"client{index}.test")
            number += 1
            message_id, data = numbered_message(index, number)
            deliver(client, rng.sample(RECIPIENTS, rng.randint(1, 3)), message_id, data, ledger)
        except (OSError, smtplib.SMTPException):
            if client is not None:
                try:
                    client.close()
                except OSError:
                    pass
            client = None
            time.sleep(0.02)
    if client is not None:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass


def deliver(client: smtplib.LMTP, recipients: list[str], message_id: str, data: bytes, ledger: Ledger) -> None:
    code, text = client.mail("sender@durability.test")
    if code != 250:
        raise smtplib.SMTPResponseException(code, text)
    accepted = []
    for user in recipients:
        code, text = client.rcpt(user)
        if code == 250:
            accepted.append(user)
        else:
            with ledger.lock:
                ledger.errors.append(f"RCPT {user}: {code} {text!r}")
    if not accepted:
        client.rset()
        return
    client.putcmd("data")
    code, text = client.getreply()
    if code != 354:
        raise smtplib.SMTPResponseException(code, text)
    with ledger.lock:
        for user in accepted:
            ledger.in_flight[(user, message_id)] = data
        ledger.sent_messages += 1
    client.send(smtplib._quote_periods(data) + b".\r\n")
    for user in accepted:
        code, text = client.getreply()          # raises when the worker died: the rest stay in flight
        with ledger.lock:
            ledger.in_flight.pop((user, message_id))
            if code == 250:
                ledger.acked[(user, message_id)] = data
            else:
                ledger.refused.add((user, message_id))
                ledger.errors.append(f"DATA {user}: {code} {text!r}")


def lmtpd_workers(server) -> tuple[list[int], list[int]]:
    """(busy, idle) lmtpd worker pids of the current master."""
    busy, idle = [], []
    for pid, title in server.children().items():
        if title.startswith("lmtpd"):
            (idle if "ready" in title else busy).append(pid)
    return busy, idle


def kill_master_and_restart(server, rng: random.Random, orphans: set[int]) -> None:
    """SIGKILL master; its workers lose their listeners at once (exec'd ones get SIGTERM, forked
    ones SIGHUP) and finish the session they are in; some of them are SIGKILLed too. Restart."""
    children = server.descendants()
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()
    orphans |= children
    for pid in children:
        if rng.random() < 0.3:
            _kill(pid)
    server.ready_file.unlink(missing_ok=True)
    for attempt in range(50):          # an exec'd worker finishing a delivery may hold the port a moment
        try:
            server.start()
            return
        except AssertionError:
            server.ready_file.unlink(missing_ok=True)
            time.sleep(0.1)
    raise AssertionError(f"master does not restart: {server.log()[-2000:]}")


def _kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def killer(server, stop: threading.Event, counts: dict, orphans: set[int]) -> None:
    rng = random.Random(1234)
    started = time.monotonic()
    pending_master_kills = list(MASTER_KILLS_AT)
    while not stop.is_set():
        time.sleep(rng.uniform(0.03, 0.25))
        elapsed = time.monotonic() - started
        if pending_master_kills and elapsed >= pending_master_kills[0]:
            pending_master_kills.pop(0)
            kill_master_and_restart(server, rng, orphans)
            counts["master"] += 1
            continue
        busy, idle = lmtpd_workers(server)
        pool = busy if busy and rng.random() < 0.85 else busy + idle
        living_orphans = [pid for pid in orphans if alive(pid)]
        if living_orphans and rng.random() < 0.1:
            pool = living_orphans
        if pool and _kill(rng.choice(pool)):
            counts["workers"] += 1


def stored_messages(config: Config, user: str) -> list[tuple[str | None, bytes]]:
    with UserStore.open(config, user, create=False) as store:
        result = []
        for record in store.messages(INBOX):
            data = store.read_message(INBOX, record.uid)
            ident = duplicate.identity(data)
            result.append((ident[0] if ident else None, data))
        return result


def test_kill_9_during_concurrent_deliveries(master):
    setup_lmtp_master(master)
    master.cyrus_conf.write_text(master.cyrus_conf.read_text().replace("prefork=1", "prefork=3 maxchild=30"))
    master.start()
    ledger, stop = Ledger(), threading.Event()
    counts = {"master": 0, "workers": 0}
    orphans: set[int] = set()
    clients = [threading.Thread(target=run_client, args=(master, i, stop, ledger), daemon=True)
               for i in range(CLIENTS)]
    chaos = threading.Thread(target=killer, args=(master, stop, counts, orphans), daemon=True)
    for thread in clients:
        thread.start()
    chaos.start()
    try:
        time.sleep(DURATION)
    finally:
        stop.set()
        chaos.join(timeout=60)
        for thread in clients:
            thread.join(timeout=60)
        try:        # orphaned workers finish their sessions (the clients quit) and leave
            wait_for(lambda: not any(alive(pid) for pid in orphans), timeout=20, what="orphaned workers to leave")
        finally:
            for pid in orphans:
                _kill(pid)
    assert not chaos.is_alive() and not any(t.is_alive() for t in clients)
    assert counts["master"] == len(MASTER_KILLS_AT) and counts["workers"] >= 20, counts
    assert len(ledger.acked) >= 100, f"only {len(ledger.acked)} deliveries acknowledged"
    assert not ledger.errors, ledger.errors[:5]

    config = Config.load(str(master.imapd_conf))
    found: dict[tuple[str, str], list[bytes]] = {}
    for user in RECIPIENTS:
        for message_id, data in stored_messages(config, user):
            found.setdefault((user, message_id), []).append(data)

    for key, sent in ledger.acked.items():
        copies = found.get(key, [])
        assert len(copies) == 1, f"{key} acknowledged but stored {len(copies)} times"
        assert copies[0].endswith(sent) and copies[0].startswith(b"Return-Path: <sender@durability.test>\r\n")
    unexplained = set(found) - set(ledger.acked) - set(ledger.in_flight)
    assert not unexplained, f"stored without 250 and not in flight: {sorted(unexplained)[:5]}"
    for key in ledger.in_flight:
        copies = found.get(key, [])
        assert len(copies) <= 1, f"{key} in flight but stored {len(copies)} times"
        if copies:
            assert copies[0].endswith(ledger.in_flight[key])
    assert not (ledger.refused & set(found))

    # an MTA retries what it never saw acknowledged: committed ones must be recognised
    retried = adopted = 0
    client = lmtp(master)
    client.ehlo("mta.test")
    for (user, message_id), data in sorted(ledger.in_flight.items()):
        if (user, message_id) not in found:
            continue
        with UserStore.open(config, user, create=False) as store:
            if not duplicate.delivered(store, duplicate.key(duplicate.identity(data), INBOX)):
                adopted += 1      # killed between the rename into cur/ and COMMIT: found by its token
        code, text = client.mail("sender@durability.test")
        assert client.rcpt(user)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(smtplib._quote_periods(data) + b".\r\n")
        code, text = client.getreply()
        assert code == 250 and b"duplicate suppressed" in text, (code, text)
        retried += 1
    client.quit()
    for user in RECIPIENTS:
        ids = [message_id for message_id, _ in stored_messages(config, user)]
        assert len(ids) == len(set(ids)), f"{user} has a message twice after the retries"
    print(f"\ndurability: {ledger.sent_messages} messages sent, {len(ledger.acked)} deliveries acknowledged, "
          f"{len(ledger.in_flight)} in flight at kills ({sum(k in found for k in ledger.in_flight)} stored, "
          f"{retried} retried and suppressed, {adopted} of them adopted after a kill before COMMIT); "
          f"{counts['workers']} workers and {counts['master']} masters killed")
    master.stop()
