"""fork + exec of children with the descriptors and limits master promises them."""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import signal
import sys

_PR_SET_PDEATHSIG = 1
_HANDLED_SIGNALS = (signal.SIGCHLD, signal.SIGHUP, signal.SIGTERM, signal.SIGINT,
                    signal.SIGUSR1, signal.SIGALRM, signal.SIGPIPE)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (workers forked by a template), so master
    can reap and count them. False where the kernel cannot do it."""
    if _libc is None:
        return False
    return _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def child_path() -> str:
    """PATH for children: the directory holding master's own executables first,
    so `cmd="imapd"` finds the imapd installed beside master (in a venv too)."""
    bindir = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else ""
    envdir = os.path.dirname(sys.executable)
    parts = [d for d in (bindir, envdir) if d]
    parts.append(os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
    return os.pathsep.join(dict.fromkeys(":".join(parts).split(os.pathsep)))


def spawn(argv: tuple[str, ...] | list[str], env: dict[str, str], *,
          fds: dict[int, int] | None = None, maxfds: int | None = None,
          death_signal: int | None = signal.SIGHUP) -> int:
    """Start argv with `fds` ({child fd: our fd}) and nothing else above fd 2.

    death_signal is delivered to the child if master dies, so a killed master
    leaves no workers behind (a worker finishes its session on SIGHUP)."""
    fds = fds or {}
    pid = os.fork()
    if pid:
        return pid
    try:
        _become_child(argv, env, fds, maxfds, death_signal)
    except BaseException as exc:  # still in the forked copy of master: never return
        try:
            os.write(2, f"master: cannot exec {' '.join(argv)}: {exc}\n".encode())
        finally:
            os._exit(127)
    os._exit(127)


def _become_child(argv, env, fds, maxfds, death_signal) -> None:
    signal.set_wakeup_fd(-1)
    for signum in _HANDLED_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    # Ctrl-C reaches the whole process group; master alone decides what
    # happens then. SIG_IGN survives exec, so a worker still importing is safe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    if death_signal and _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
    _install_fds(fds)
    if maxfds:
        _limit_fds(maxfds)
    os.execvpe(argv[0], list(argv), env)


def _install_fds(fds: dict[int, int]) -> None:
    # move every source out of the way first: a source may be another's target
    floor = max(fds, default=2) + 10
    staged = {target: fcntl.fcntl(source, fcntl.F_DUPFD, floor) for target, source in fds.items()}
    for target, temporary in staged.items():
        os.dup2(temporary, target, inheritable=True)
    keep = sorted(set(fds) | {0, 1, 2})
    low = 3
    for fd in keep:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, _fd_ceiling())


def _fd_ceiling() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def _limit_fds(maxfds: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and maxfds > hard:
        if os.geteuid() == 0:
            hard = maxfds
        else:
            maxfds = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (maxfds, hard))
