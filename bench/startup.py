"""Connection set-up cost: connect-to-greeting latency with the preforked pool
warm (prefork=N) and exhausted (prefork=0, every connection waits for a fork+exec).

    .venv/bin/python bench/startup.py [--connections 200]

Prints p50/p99 in milliseconds and the ratio cold/warm. Runs a real master on
loopback ephemeral ports with imapd workers; nothing else is needed.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_master(root: Path, prefork: int, port: int) -> subprocess.Popen:
    (root / "config").mkdir(exist_ok=True)
    (root / "imapd.conf").write_text(f"configdirectory: {root / 'config'}\n")
    (root / "cyrus.conf").write_text(
        f'SERVICES {{\n  imap cmd="imapd -U 1000" listen=127.0.0.1:{port} prefork={prefork}\n}}\n')
    ready = root / "ready"
    process = subprocess.Popen([str(BIN / "master"), "-C", str(root / "imapd.conf"), "-M", str(root / "cyrus.conf"),
                                "-L", str(root / "master.log"), "-r", str(ready)])
    deadline = time.monotonic() + 30
    while not ready.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"master did not start: {(root / 'master.log').read_text()}")
        time.sleep(0.02)
    return process


def greeting_latencies(port: int, count: int, hold: bool) -> list[float]:
    """ms from connect() to the first greeting byte. With hold=False each
    connection closes before the next opens (a warm worker is reused)."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.recv(1)
        samples.append((time.perf_counter() - started) * 1000)
        sock.sendall(b"a LOGOUT\r\n")
        sock.close()
        if not hold:
            time.sleep(0.002)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(prefork: int, count: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        process = start_master(Path(directory), prefork, port)
        try:
            if prefork == 0:
                # every connection needs a new worker: make each worker serve one connection only
                (Path(directory) / "cyrus.conf").write_text(
                    f'SERVICES {{\n  imap cmd="imapd -U 1" listen=127.0.0.1:{port} prefork=0\n}}\n')
                process.send_signal(signal.SIGHUP)
                time.sleep(0.5)
            greeting_latencies(port, 5, hold=False)          # warm-up
            return greeting_latencies(port, count, hold=False)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    warm = measure(prefork=2, count=args.connections)
    cold = measure(prefork=0, count=max(20, args.connections // 4))
    for name, samples in (("pool warm (prefork=2)", warm), ("pool exhausted (a new worker per connection)", cold)):
        print(f"{name:45s} p50 {statistics.median(samples):7.2f} ms   p99 {percentile(samples, 0.99):7.2f} ms"
              f"   n={len(samples)}")
    print(f"cold/warm p50 ratio: {statistics.median(cold) / statistics.median(warm):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
