"""Per-user protocol telemetry, as Cyrus keeps it.

If the admin creates {configdirectory}/log/<user>/, every session of that user
appends its protocol traffic to {configdirectory}/log/<user>/<pid>: input
chunks as "<timestamp<data" and output as ">timestamp>data". Deleting the
directory turns it off; nothing is logged for users without one.
"""

from __future__ import annotations

import os
import time


class TelemetryLog:
    def __init__(self, fd: int):
        self._fd = fd

    def _write(self, marker: str, data: bytes) -> None:
        stamp = int(time.time())
        try:
            os.write(self._fd, f"{marker}{stamp}{marker}".encode() + data)
        except OSError:
            pass

    def incoming(self, data: bytes) -> None:
        self._write("<", data)

    def outgoing(self, data: bytes) -> None:
        self._write(">", data)

    def close(self) -> None:
        os.close(self._fd)


def telemetry_dir(configdirectory: str, user: str) -> str | None:
    """The user's telemetry directory, or None for a name that could escape it."""
    if not user or "/" in user or user.startswith(".") or "\0" in user:
        return None
    return os.path.join(configdirectory, "log", user)


def open_telemetry(configdirectory: str, user: str, service: str) -> TelemetryLog | None:
    directory = telemetry_dir(configdirectory, user)
    if directory is None or not os.path.isdir(directory):
        return None
    path = os.path.join(directory, str(os.getpid()))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    header = f"---------- {service} {user} {time.strftime('%a %b %d %H:%M:%S %Y')}\n"
    os.write(fd, header.encode())
    return TelemetryLog(fd)
