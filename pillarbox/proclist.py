"""Who is logged in where: {configdirectory}/proc/<pid>, one file per busy worker
(and <pid>.<key> for each session idled holds for hibernating IMAP clients).

Enough for maxlogins_per_user and maxlogins_per_host across processes, and for
an admin to see sessions (`cat var/lib/proc/*`). A file left by a process that
died is recognised (its pid is gone) and removed.
"""

from __future__ import annotations

import os


class ProcessRegistry:
    def __init__(self, configdirectory: str | None, key: str | None = None):
        self.directory = os.path.join(configdirectory, "proc") if configdirectory else None
        name = str(os.getpid()) if key is None else f"{os.getpid()}.{key}"
        self.path = os.path.join(self.directory, name) if self.directory else None

    def register(self, service: str, host: str, user: str, mailbox: str = "") -> None:
        if self.directory is None:
            return
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(f"{service}\t{host}\t{user}\t{mailbox}\n")
        os.replace(temporary, self.path)

    def unregister(self) -> None:
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def sessions(self) -> list[tuple[int, str, str, str]]:
        """(pid, service, host, user) of live sessions other than this process."""
        if self.directory is None or not os.path.isdir(self.directory):
            return []
        found = []
        for name in os.listdir(self.directory):
            pid_text, _, key = name.partition(".")
            if not pid_text.isdigit() or not (key == "" or key.isdigit()) or \
                    os.path.join(self.directory, name) == self.path:
                continue
            pid = int(pid_text)
            if not _alive(pid):
                try:
                    os.unlink(os.path.join(self.directory, name))
                except OSError:
                    pass
                continue
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
                    service, host, user, *_ = handle.read().rstrip("\n").split("\t")
            except (OSError, ValueError):
                continue
            found.append((pid, service, host, user))
        return found

    def count(self, *, user: str | None = None, host: str | None = None) -> int:
        return sum(1 for _, _, h, u in self.sessions() if (user is None or u == user) and (host is None or h == host))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
