"""Workers forked from a pre-imported template (the zygote of master's pools).

Exec'ing a Python worker costs ~60 ms of imports; forking one from a
process that already imported everything costs about a millisecond, and
the forked workers share the template's memory copy-on-write (gc.freeze()
keeps the collector from touching, and so copying, those pages).

master execs the service's cmd with PILLARBOX_TEMPLATE set and a control
socket on fd 5. The template imports the daemon (spec.preload), says ready,
then forks a worker per request. It forks twice so the worker is orphaned
at once and adopted by master, which is a child subreaper: master reaps,
counts and signals a forked worker exactly like an exec'd one.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from typing import Callable

from pillarbox import log
from pillarbox.masterproto import ENV_MASTER_PID, ENV_TEMPLATE, FORK_REQUEST, PID_RECORD, TEMPLATE_FD, TEMPLATE_READY
from pillarbox.proctitle import set_title

_PR_SET_PDEATHSIG = 1


def serve_as_template(name: str, preload: Callable[[], None] | None, run_worker: Callable[[], None]) -> None:
    """Import, freeze, and fork a worker for every request until master goes away."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if preload is not None:
        preload()
    gc.collect()
    gc.freeze()
    set_title(name, "template")
    os.write(TEMPLATE_FD, TEMPLATE_READY)
    while True:
        try:
            request = os.read(TEMPLATE_FD, 1)
        except InterruptedError:
            continue
        if request != FORK_REQUEST:
            return                      # master closed the control socket
        pid = _fork_worker(run_worker)
        os.write(TEMPLATE_FD, PID_RECORD.pack(pid))


def _fork_worker(run_worker: Callable[[], None]) -> int:
    read_end, write_end = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        os.close(read_end)
        worker = os.fork()
        if worker == 0:
            os.close(write_end)
            _become_worker(run_worker)
        os.write(write_end, PID_RECORD.pack(worker))
        os._exit(0)
    os.close(write_end)
    data = _read_exactly(read_end, PID_RECORD.size)
    os.close(read_end)
    os.waitpid(intermediate, 0)
    return PID_RECORD.unpack(data)[0] if len(data) == PID_RECORD.size else -1


def _become_worker(run_worker: Callable[[], None]) -> None:
    code = 0
    try:
        os.close(TEMPLATE_FD)
        os.environ.pop(ENV_TEMPLATE, None)
        _wait_for_adoption()
        _die_with_master()
        run_worker()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException as error:  # never fall back into the template's loop
        log.error(f"forked worker failed: {error!r}")
        code = 1
    finally:
        os._exit(code)


def _wait_for_adoption(limit: float = 2.0) -> None:
    """Until master (a child subreaper) has adopted us, our parent death signal
    would fire at once: the intermediate process exits right after forking us."""
    master = int(os.environ.get(ENV_MASTER_PID, "0") or 0)
    deadline = time.monotonic() + limit
    while master and os.getppid() != master and time.monotonic() < deadline:
        time.sleep(0.0005)


def _die_with_master() -> None:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGHUP), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def read_pid(fd: int) -> int:
    data = _read_exactly(fd, PID_RECORD.size)
    return PID_RECORD.unpack(data)[0] if len(data) == PID_RECORD.size else -1


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


SHARED_STDLIB = ("base64", "calendar", "getpass", "hashlib", "hmac", "json", "secrets", "shutil", "sqlite3",
                 "ssl", "uuid", "email.utils", "email.header", "ctypes", "fcntl", "select", "struct", "bisect")


def preload_packages(*packages: str) -> None:
    """Import every module of the given packages and the stdlib modules sessions
    use, so each forked worker shares them instead of importing its own copy."""
    import importlib
    import pkgutil
    for name in SHARED_STDLIB:
        importlib.import_module(name)
    for package_name in packages:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if not info.name.endswith(("__main__", ".admin", ".devsetup")):
                importlib.import_module(info.name)


def template_requested() -> bool:
    return bool(os.environ.get(ENV_TEMPLATE))
