"""One log for master and every worker.

Where lines go is decided once, by master, and handed to workers in the
environment (masterproto.ENV_LOG): syslog when /dev/log exists, otherwise
master's stderr (which may be a -L logfile; workers inherit it). Each line is
written with a single write() so lines from many processes never interleave.
"""

from __future__ import annotations

import os
import sys
import time

from pillarbox.masterproto import ENV_LOG

SYSLOG = "syslog"
STDERR = "stderr"

_LEVELS = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "error": 3, "critical": 2}


class _State:
    ident = os.path.basename(sys.argv[0]) or "pillarbox"
    destination = STDERR
    debug_enabled = False
    syslog = None
    muted = False


_state = _State()


def default_destination() -> str:
    chosen = os.environ.get(ENV_LOG)
    if chosen in (SYSLOG, STDERR):
        return chosen
    return SYSLOG if os.path.exists("/dev/log") else STDERR


def setup(name: str, *, prefix: str | None = None, facility: str | None = None,
          destination: str | None = None, debug: bool = False) -> None:
    """Name this process in the log and choose where lines go."""
    _state.ident = f"{prefix}/{name}" if prefix else name
    _state.destination = destination or default_destination()
    _state.debug_enabled = debug
    if _state.destination == SYSLOG:
        import syslog
        facility_code = getattr(syslog, "LOG_" + (facility or "mail").upper(), syslog.LOG_MAIL)
        syslog.openlog(_state.ident, syslog.LOG_PID | syslog.LOG_NDELAY, facility_code)
        _state.syslog = syslog


def destination() -> str:
    return _state.destination


class muted:
    """Within `with log.muted():` nothing is logged (a template's warm-up session)."""

    def __enter__(self) -> None:
        self.previous, _state.muted = _state.muted, True

    def __exit__(self, *exc) -> None:
        _state.muted = self.previous


def _emit(level: str, message: str) -> None:
    if _state.muted or (level == "debug" and not _state.debug_enabled):
        return
    if _state.syslog is not None:
        _state.syslog.syslog(_LEVELS[level], message)
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    marker = "" if level in ("info", "notice", "debug") else level + ": "
    line = f"{stamp} {_state.ident}[{os.getpid()}]: {marker}{message}\n"
    try:
        os.write(2, line.encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def debug(message: str) -> None:
    _emit("debug", message)


def info(message: str) -> None:
    _emit("info", message)


def notice(message: str) -> None:
    _emit("notice", message)


def warning(message: str) -> None:
    _emit("warning", message)


def error(message: str) -> None:
    _emit("error", message)


def critical(message: str) -> None:
    _emit("critical", message)
