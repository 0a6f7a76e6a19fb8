"""Login policy every daemon shares: session limits across processes
(maxlogins_per_user, maxlogins_per_host) and the pacing of failed logins
(Cyrus's failedloginpause, multiplied by the failures so far; max_login_failures)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pillarbox.proclist import ProcessRegistry

if TYPE_CHECKING:
    from pillarbox.service import Session

MAX_PAUSE = 15.0


def pause_after_failure(config, failures: int) -> None:
    """Sleep failedloginpause x failures (at most MAX_PAUSE) to slow down password guessing."""
    pause = config.getduration("failedloginpause") * failures
    if pause > 0:
        time.sleep(min(pause, MAX_PAUSE))


class LoginGuard:
    def __init__(self, session: "Session"):
        self.session = session
        self.config = session.config
        self.registry = ProcessRegistry(self.config.getpath("configdirectory"))
        self.failures = 0

    def over_limit(self, user: str) -> str | None:
        """Why `user` may not log in now (logged as a failed login), or None."""
        per_user = self.config.getint("maxlogins_per_user")
        per_host = self.config.getint("maxlogins_per_host")
        if per_user and self.registry.count(user=user) >= per_user:
            self.session.login_failed(user, "LIMIT", f"maxlogins_per_user {per_user} reached")
            return f"too many sessions for {user}"
        if per_host and self.registry.count(host=self.session.peer_host) >= per_host:
            self.session.login_failed(user, "LIMIT", f"maxlogins_per_host {per_host} reached")
            return "too many sessions from your address"
        return None

    def failed(self, user: str | None, mechanism: str, reason: str) -> bool:
        """Log and pace a failed login; True when the connection must now close.
        The caller flushes its pending replies first, so the client is not kept waiting blind."""
        self.session.login_failed(user, mechanism, reason)
        self.failures += 1
        pause_after_failure(self.config, self.failures)
        return self.failures >= self.config.getint("max_login_failures")

    def logged_in(self, user: str, mailbox: str = "") -> None:
        self.registry.register(self.session.spec.name, self.session.peer_host, user, mailbox)

    def logged_out(self) -> None:
        self.registry.unregister()
