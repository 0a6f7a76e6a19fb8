"""Waiting for a mailbox to change, whoever changes it.

Linux inotify on the folder's new/ and cur/ (every delivery, flag rename and
expunge by any program touches one of them) and on the index's WAL file
(every committed change by a pillarbox process writes it). Where inotify is
missing, a polling fallback compares directory and WAL mtimes every 250 ms.
Wake-ups are hints: the caller then asks the store what actually changed.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import time

POLL_INTERVAL = 0.25

IN_MODIFY = 0x002
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
DIRECTORY_EVENTS = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF
FILE_EVENTS = IN_MODIFY

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _inotify_init1 = _libc.inotify_init1
    _inotify_add_watch = _libc.inotify_add_watch
    _inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    _inotify_rm_watch = _libc.inotify_rm_watch
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _inotify_init1 = None


class ChangeWatcher:
    def __init__(self, directories: list[str], wal_path: str | None = None):
        self.directories = directories
        self.wal_path = wal_path
        self._fd = self._inotify(directories, wal_path)
        self._last = self._fingerprint()

    @property
    def uses_inotify(self) -> bool:
        return self._fd is not None

    @staticmethod
    def _inotify(directories: list[str], wal_path: str | None) -> int | None:
        if _inotify_init1 is None or os.environ.get("PILLARBOX_NO_INOTIFY"):
            return None
        fd = _inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        watches = [(d, DIRECTORY_EVENTS) for d in directories]
        if wal_path:
            watches.append((wal_path, FILE_EVENTS))
        for path, mask in watches:
            if _inotify_add_watch(fd, os.fsencode(path), mask) < 0 and path != wal_path:
                os.close(fd)
                return None
        return fd

    def fileno(self) -> int | None:
        return self._fd

    def _fingerprint(self) -> tuple:
        return fingerprint([*self.directories, self.wal_path])

    def wait(self, timeout: float | None) -> bool:
        """True when something may have changed; False after timeout with nothing."""
        if self._fd is not None:
            readable, _, _ = select.select([self._fd], [], [], timeout)
            if readable:
                self._drain()
                return True
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self._fingerprint()
            if current != self._last:
                self._last = current
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL if deadline is None else min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))

    def _drain(self) -> None:
        _drain(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "ChangeWatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fingerprint(paths: list[str | None]) -> tuple:
    """Modification stamps of the watched paths: different after any change."""
    stamps = []
    for path in paths:
        try:
            info = os.stat(path) if path else None
            stamps.append((info.st_mtime_ns, info.st_size) if info else None)
        except FileNotFoundError:
            stamps.append(None)
    return tuple(stamps)


def _drain(fd: int) -> bytes:
    events = b""
    try:
        while chunk := os.read(fd, 65536):
            events += chunk
    except BlockingIOError:
        pass
    return events


_EVENT = struct.Struct("iIII")       # wd, mask, cookie, name length


class WatchSet:
    """One inotify instance for many watchers of many mailboxes (idled's view).
    Watches on the same path are shared and counted; `changed()` says which
    owners may have seen a change. Without inotify every owner is polled."""

    def __init__(self) -> None:
        self._fd = None
        if _inotify_init1 is not None and not os.environ.get("PILLARBOX_NO_INOTIFY"):
            fd = _inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            self._fd = fd if fd >= 0 else None
        self._paths: dict[str, int] = {}               # path -> watch descriptor
        self._owners: dict[int, set[object]] = {}      # watch descriptor -> owners
        self._watched: dict[object, list[str]] = {}    # owner -> paths

    def fileno(self) -> int | None:
        return self._fd

    def add(self, owner: object, directories: list[str], wal_path: str | None) -> bool:
        """Watch the paths for `owner`; False when a directory cannot be watched."""
        self._watched[owner] = []
        if self._fd is None:
            return True
        watches = [(d, DIRECTORY_EVENTS) for d in directories] + ([(wal_path, FILE_EVENTS)] if wal_path else [])
        for path, mask in watches:
            wd = self._paths.get(path)
            if wd is None:
                wd = _inotify_add_watch(self._fd, os.fsencode(path), mask)
                if wd < 0:
                    if path == wal_path:
                        continue      # no WAL yet: the folders still show every delivery
                    self.remove(owner)
                    return False
                self._paths[path] = wd
            self._owners.setdefault(wd, set()).add(owner)
            self._watched[owner].append(path)
        return True

    def remove(self, owner: object) -> None:
        for path in self._watched.pop(owner, []):
            wd = self._paths.get(path)
            owners = self._owners.get(wd)
            if owners is None:
                continue
            owners.discard(owner)
            if not owners:
                self._owners.pop(wd, None)
                del self._paths[path]
                _inotify_rm_watch(self._fd, wd)

    def changed(self) -> set[object]:
        """Owners whose paths had events since the last call (read without blocking)."""
        if self._fd is None:
            return set()
        data = _drain(self._fd)
        touched: set[object] = set()
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size + length
            touched |= self._owners.get(wd, set())
            if mask & IN_Q_OVERFLOW:      # events were dropped: anyone may have missed one
                touched |= set(self._watched)
            if mask & IN_IGNORED:         # the path is gone and the kernel may reuse wd
                for owner in self._owners.pop(wd, set()):
                    self._watched[owner] = [p for p in self._watched[owner] if self._paths.get(p) != wd]
                self._paths = {p: w for p, w in self._paths.items() if w != wd}
        return touched

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
