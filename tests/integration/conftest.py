"""Real master processes on loopback ephemeral ports, and ways to watch them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ECHO = Path(__file__).with_name("echo_service.py")
ECHO_CMD = f'"{sys.executable} {ECHO}'


def echo_cmd(*flags: str) -> str:
    """cmd= value running the test service with worker flags."""
    return f'"{sys.executable} {ECHO} {" ".join(flags)}"'.replace("  ", " ").replace(' "', '"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_children(pid: int) -> dict[int, str]:
    """Direct children of pid: {child pid: process title}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def read_line(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def command(sock: socket.socket, line: bytes) -> list[str]:
    """Send one tagged IMAP command; its response lines up to the tagged one."""
    sock.sendall(line + b"\r\n")
    tag = line.split(b" ", 1)[0].decode()
    lines = []
    while True:
        text = read_line(sock)
        lines.append(text)
        if text.startswith(tag + " ") or not text:
            return lines


def scram_client(user: str, password: str):
    """A SCRAM-SHA-256 client (RFC 5802/7677) as a generator: client-first, then
    (after .send(server-first)) client-final."""
    nonce = base64.b64encode(os.urandom(12)).decode()
    first_bare = f"n={user},r={nonce}"
    yield ("n,," + first_bare).encode()
    server_first = yield
    fields = dict(part.split("=", 1) for part in server_first.decode().split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first.decode()},{final_bare}".encode()
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    yield f"{final_bare},p={proof}".encode()


class Master:
    """A master process with its own imapd.conf, cyrus.conf and log."""

    def __init__(self, root: Path):
        self.root = root
        self.configdir = root / "config"
        self.imapd_conf = root / "imapd.conf"
        self.cyrus_conf = root / "cyrus.conf"
        self.logfile = root / "master.log"
        self.ready_file = root / "ready"
        self.process: subprocess.Popen | None = None
        self.imapd_conf.write_text(textwrap.dedent(f"""\
            configdirectory: {self.configdir}
            partition-default: {root / 'spool'}
            allowplaintext: yes
            """))

    def write_services(self, services: str = "", *, start: str = "", events: str = "", daemon: str = "") -> None:
        self.cyrus_conf.write_text(
            f"START {{\n{start}\n}}\nSERVICES {{\n{services}\n}}\nEVENTS {{\n{events}\n}}\nDAEMON {{\n{daemon}\n}}\n")

    def add_imapd_conf(self, text: str) -> None:
        with open(self.imapd_conf, "a") as handle:
            handle.write(textwrap.dedent(text))

    def command(self, *extra: str) -> list[str]:
        return [str(BIN / "master"), "-C", str(self.imapd_conf), "-M", str(self.cyrus_conf),
                "-L", str(self.logfile), "-r", str(self.ready_file), *extra]

    def start(self, *extra: str, wait: bool = True) -> "Master":
        self.configdir.mkdir(exist_ok=True)
        self.process = subprocess.Popen(self.command(*extra), stdin=subprocess.DEVNULL, cwd=self.root)
        if wait:
            wait_for(lambda: self.ready_file.exists() or self.process.poll() is not None,
                     timeout=20, what="master ready file")
            assert self.process.poll() is None, f"master exited: {self.log()}"
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> dict[int, str]:
        return proc_children(self.pid)

    def workers(self, name: str = "echo", state: str | None = None) -> dict[int, str]:
        prefix = f"{name}: " + (state or "")
        return {pid: title for pid, title in self.children().items()
                if title.startswith(prefix) and title != f"{name}: template"}

    def templates(self, name: str = "echo") -> dict[int, str]:
        return {pid: title for pid, title in self.children().items() if title == f"{name}: template"}

    def log(self) -> str:
        return self.logfile.read_text() if self.logfile.exists() else ""

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def descendants(self) -> set[int]:
        result, frontier = set(), [self.pid]
        while frontier:
            kids = proc_children(frontier.pop())
            result.update(kids)
            frontier.extend(kids)
        return result

    def stop(self, timeout: float = 20.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        known = self.descendants()
        self.signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        wait_for(lambda: not any(alive(pid) for pid in known), timeout=5, what="children to exit")
        return code


@pytest.fixture
def master(tmp_path):
    instance = Master(tmp_path)
    yield instance
    if instance.process is not None and instance.process.poll() is None:
        for pid in instance.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        instance.process.kill()
        instance.process.wait()
