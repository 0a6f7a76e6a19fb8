"""The machine: installing the reference server, the benchmark system user, limits, facts."""

from __future__ import annotations

import os
import platform
import pwd
import resource
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOVECOT_PACKAGES = ("dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd")
BENCH_ACCOUNT = "pbbench"
REPO = Path(__file__).resolve().parents[1]


class SetupError(Exception):
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise SetupError("the benchmark runs as root: it installs Dovecot with apt-get, creates the system "
                         f"user {BENCH_ACCOUNT} and starts both servers as root so they can drop to it")


def ensure_dovecot() -> None:
    """Debian's Dovecot, installed with apt-get when missing (its system service is not used)."""
    if shutil.which("dovecot") and all(_installed(package) for package in DOVECOT_PACKAGES):
        return
    print(f"installing {' '.join(DOVECOT_PACKAGES)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *DOVECOT_PACKAGES], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_account() -> pwd.struct_passwd:
    """The unprivileged user both servers run their mail processes as."""
    try:
        return pwd.getpwnam(BENCH_ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", BENCH_ACCOUNT], check=True)
        return pwd.getpwnam(BENCH_ACCOUNT)


def raise_fd_limit(wanted: int = 65536) -> None:
    """Enough descriptors for 500 client sockets here and in the servers (inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return
        except (ValueError, OSError):
            wanted = hard            # a container may forbid raising the hard limit, even to root
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")


@contextmanager
def inotify_instances(wanted: int = 8192) -> Iterator[str]:
    """Both servers give every IDLE session an inotify instance; the kernel's default of
    128 per user would make most of 500 connections fall back to polling. Raised for the
    run and put back afterwards; yields what the report says about it."""
    try:
        current = int(INOTIFY_INSTANCES.read_text())
    except (OSError, ValueError):
        yield "unknown"
        return
    if current >= wanted:
        yield str(current)
        return
    try:
        INOTIFY_INSTANCES.write_text(str(wanted))
    except OSError:
        yield f"{current} (could not raise it: 500 IDLE sessions may fall back to polling)"
        return
    try:
        yield f"{wanted} for the run (raised from {current}, restored afterwards)"
    finally:
        INOTIFY_INSTANCES.write_text(str(current))


def command_output(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_facts(workdir: Path) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    filesystem = command_output("findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", str(workdir))
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{int(memory) // 1024 // 1024} GiB",
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "filesystem": f"{' '.join(filesystem.split())} ({workdir})",
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def pillarbox_version() -> str:
    from importlib.metadata import version
    commit = command_output("git", "-C", str(REPO), "rev-parse", "--short", "HEAD")
    dirty = command_output("git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no")
    return f"{version('pillarbox')} (git {commit}{' + local changes' if dirty else ''})"


def dovecot_version() -> str:
    return command_output("dovecot", "--version")
