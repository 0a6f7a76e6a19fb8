"""LMTP delivery benchmark: deliveries per second into the store, fsync on.

    .venv/bin/python bench/lmtp.py [--duration 5] [--sizes 10k,1m] [--clients 1,8] [--socket tcp|unix]

Starts a real master on loopback (a temporary configdirectory and
partition; lmtpd with -a, a pool of 8 preforked workers), then for every
message size and number of concurrent clients delivers as many messages as
it can for --duration seconds: each client is a thread with one LMTP
connection (smtplib.LMTP) sending one message per transaction to one of 8
users, every message with its own Message-ID. A delivery counts when its
250 arrived, which lmtpd sends only after the store fsync'd the file and
the directory and committed the index (see lmtpd(8), DURABILITY).

Prints a table: deliveries/s, MB/s of message data, and the latency of a
transaction (MAIL..DATA reply) at the median and the 99th percentile.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

USERS = [f"bench{n}" for n in range(1, 9)]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    return int(text.rstrip("km")) * factor


def human(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def make_message(client: int, number: int, size: int) -> bytes:
    header = (f"From: bench@example.org\r\nTo: user@example.org\r\nSubject: benchmark {client}-{number}\r\n"
              f"Message-ID: <bench-{client}-{number}-{time.monotonic_ns()}@example.org>\r\n"
              f"Date: Sat, 21 Nov 2026 07:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog, again and again and again 0123.\r\n"
    body = line * max(1, (size - len(header)) // len(line))
    return header + body


class Server:
    def __init__(self, root: Path, transport: str):
        self.root = root
        self.transport = transport
        self.port = _free_port()
        self.socket_path = root / "socket" / "lmtp"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from pillarbox.auth.passwd import PasswdFile
        config = self.root / "config"
        config.mkdir(parents=True)
        (self.root / "imapd.conf").write_text(f"configdirectory: {config}\npartition-default: {self.root / 'spool'}\n"
                                              "servername: bench.test\nduplicatesuppression: yes\n")
        listen = f'"{self.socket_path}"' if self.transport == "unix" else f"127.0.0.1:{self.port}"
        (self.root / "cyrus.conf").write_text(
            f'SERVICES {{\n  lmtp cmd="lmtpd -a -U 100000" listen={listen} prefork=8 maxchild=32\n}}\n')
        users = PasswdFile(str(config / "passwd"))
        for user in USERS:
            users.set_password(user, "bench", create=True, replace=False)
        master = Path(sys.executable).parent / "master"
        self.process = subprocess.Popen(
            [str(master), "-C", str(self.root / "imapd.conf"), "-M", str(self.root / "cyrus.conf"),
             "-L", str(self.root / "master.log"), "-r", str(self.root / "ready")],
            stdin=subprocess.DEVNULL, cwd=self.root)
        deadline = time.monotonic() + 30
        while not (self.root / "ready").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"master did not start:\n{(self.root / 'master.log').read_text()}")
            time.sleep(0.05)
        # warm every preforked worker once
        threads = [threading.Thread(target=lambda: self.connect().quit()) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def connect(self) -> smtplib.LMTP:
        if self.transport == "unix":
            return smtplib.LMTP(str(self.socket_path), timeout=120)
        return smtplib.LMTP("127.0.0.1", self.port, timeout=120)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deliver_one(client: smtplib.LMTP, recipient: str, message: bytes) -> None:
    code, text = client.mail("bench@example.org", [f"SIZE={len(message)}"])
    if code != 250:
        raise RuntimeError(f"MAIL: {code} {text!r}")
    code, text = client.rcpt(recipient)
    if code != 250:
        raise RuntimeError(f"RCPT: {code} {text!r}")
    code, text = client.data(message)
    if code != 250:
        raise RuntimeError(f"DATA: {code} {text!r}")


def run(server: Server, clients: int, size: int, duration: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        client = server.connect()
        client.ehlo("bench.client")
        messages = [make_message(index, n, size) for n in range(2)]
        start.wait()
        number = 0
        while time.monotonic() < stop_at[0]:
            number += 1
            message = messages[number % 2].replace(b"<bench-", f"<n{number}-bench-".encode(), 1)
            began = time.perf_counter()
            try:
                deliver_one(client, USERS[(index + number) % len(USERS)], message)
            except Exception as exc:          # report, do not count
                errors.append(str(exc))
                break
            latencies[index].append(time.perf_counter() - began)
        client.quit()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + duration
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    flat = sorted(x for per in latencies for x in per)
    count = len(flat)
    return {
        "clients": clients, "size": size, "count": count, "elapsed": elapsed, "errors": errors,
        "rate": count / elapsed if elapsed else 0.0,
        "mbps": count * size / elapsed / (1024 * 1024) if elapsed else 0.0,
        "p50": statistics.median(flat) * 1000 if flat else 0.0,
        "p99": flat[min(count - 1, int(count * 0.99))] * 1000 if flat else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--sizes", default="10k,1m", help="message sizes (default 10k,1m)")
    parser.add_argument("--clients", default="1,8", help="concurrent LMTP clients (default 1,8)")
    parser.add_argument("--socket", choices=("tcp", "unix"), default="tcp")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    concurrency = [int(c) for c in args.clients.split(",")]
    root = Path(tempfile.mkdtemp(prefix="pillarbox-bench-lmtp-"))
    server = Server(root, args.socket)
    print(f"pillarbox lmtpd, {args.socket} on loopback, {len(USERS)} users, fsync on (file, directory, WAL)")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, store in {root}")
    results = []
    try:
        server.start()
        print(f"\n{'size':>7} {'clients':>7} {'deliveries':>10} {'per second':>11} {'MB/s':>7} "
              f"{'p50 ms':>8} {'p99 ms':>8}")
        for size in sizes:
            for clients in concurrency:
                result = run(server, clients, size, args.duration)
                results.append(result)
                print(f"{human(size):>7} {clients:>7} {result['count']:>10} {result['rate']:>11.1f} "
                      f"{result['mbps']:>7.1f} {result['p50']:>8.1f} {result['p99']:>8.1f}"
                      + (f"   errors: {result['errors'][:2]}" if result["errors"] else ""), flush=True)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
