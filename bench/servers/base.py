"""What both servers have in common: ports, a process tree, start/stop, CPU and memory."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from bench import procfs


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Ports:
    imap: int            # preforked / warm pool
    imap_cold: int       # every connection needs a process started for it
    pop3: int
    lmtp: int

    @classmethod
    def allocate(cls) -> "Ports":
        return cls(free_port(), free_port(), free_port(), free_port())


def wait_for_port(port: int, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"exited with {process.returncode}: {tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ServerError(f"port {port} not listening after {timeout:.0f}s: {tail(log)}") from None
            time.sleep(0.05)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Server(ABC):
    name: str            # "pillarbox" | "dovecot"
    label: str           # for people

    def __init__(self, root: Path, account: pwd.struct_passwd, prefork: int, idle_hibernate: int):
        self.root = root
        self.account = account
        self.prefork = prefork
        self.idle_hibernate = idle_hibernate      # seconds in IDLE before a session hibernates
        self.ports = Ports.allocate()
        self.process: subprocess.Popen | None = None
        root.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ layout and config

    @abstractmethod
    def maildir(self, user: str) -> Path:
        """Where user's Maildir++ (INBOX at its root) lives."""

    @abstractmethod
    def configure(self) -> None:
        """Write config files and the passwd file (before mail is installed)."""

    @abstractmethod
    def description(self) -> dict[str, str]:
        """How it is set up, for the report: processes, fsync, password hash."""

    @abstractmethod
    def version(self) -> str: ...

    @property
    @abstractmethod
    def log_path(self) -> Path: ...

    # ------------------------------------------------------------ processes

    @abstractmethod
    def _launch(self) -> subprocess.Popen: ...

    def start(self, timeout: float = 30.0) -> None:
        self.process = self._launch()
        for port in (self.ports.imap, self.ports.imap_cold, self.ports.pop3, self.ports.lmtp):
            wait_for_port(port, self.process, timeout, self.log_path)
        self.wait_until_settled()

    def wait_until_settled(self, timeout: float = 20.0) -> None:
        """Until the preforked pool is up and the process count stops changing."""
        deadline = time.monotonic() + timeout
        previous = -1
        while time.monotonic() < deadline:
            count = len(procfs.tree(self.pid))
            if count == previous and count >= self.minimum_processes():
                return
            previous = count
            time.sleep(0.3)

    def minimum_processes(self) -> int:
        return 1

    def idle_settle_seconds(self) -> float:
        """How long after the last IDLE began its memory reaches its steady state."""
        return self.idle_hibernate + 3.0

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the top process, then make sure nothing of the tree is left."""
        if self.process is None:
            return
        known = set(procfs.tree(self.pid))
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + 5
        while any(procfs.alive(pid) for pid in known) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in known:
            if procfs.alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError(f"{self.label} is not running")
        return self.process.pid

    def cpu_seconds(self) -> float:
        return procfs.cpu_seconds(self.pid)

    def pss_kib(self) -> tuple[int, int]:
        return procfs.tree_pss_kib(self.pid)

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise ServerError(f"{self.label} is not running: {tail(self.log_path)}")
