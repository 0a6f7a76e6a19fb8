"""IDLE (RFC 2177): report changes by anyone as they happen until the client says DONE.

A quiet IDLE may hibernate (imapd/hibernate.py): the connection moves to idled
and comes back to a resume worker, which continues here through `resume`.
"""

import math
import select
import time

from imapd import args, hibernate
from imapd.errors import Bad, Bye
from pillarbox import log
from pillarbox.handoff import HandoffError
from pillarbox.service import HandedOff

KEEPALIVE = 120.0
RETRY_HIBERNATE = 1.0


def handle(server, command):
    args.count(command.args, 0)
    server.send(b"+ idling\r\n")
    server.flush()
    timeout = server.config.getduration("imapidletimeout") or server.config.getduration("timeout")
    deadline = time.monotonic() + max(timeout or 0, 30 * 60)       # RFC 2177: at least 30 minutes
    return idle(server, command.tag, deadline)


def resume(server, tag: str, wall_deadline: float) -> str:
    """Continue an IDLE that hibernated; `wall_deadline` is on the time.time() clock."""
    return idle(server, tag, time.monotonic() + (wall_deadline - time.time()))


def idle(server, tag: str, deadline: float) -> str:
    watcher = server.store.watcher(server.selected.name) if server.selected is not None else None
    server.session.title("IDLE", server.selected.external if server.selected is not None else None)
    try:
        return _idle(server, tag, watcher, deadline)
    finally:
        if watcher is not None:
            watcher.close()


def _idle(server, tag, watcher, deadline):
    next_keepalive = time.monotonic() + KEEPALIVE
    quiet_for = hibernate.delay(server)
    hibernate_at = time.monotonic() + quiet_for if quiet_for else math.inf
    while True:
        server.tell_updates(None, allow_expunge=True)
        if server.out and quiet_for:
            hibernate_at = time.monotonic() + quiet_for
        server.flush()
        if _client_spoke(server, watcher, min(deadline, next_keepalive, hibernate_at)):
            line = server.conn.readline(server.max_line)
            if line.strip().upper() == b"DONE":
                return "IDLE terminated"
            raise Bad("expected DONE to end IDLE")
        now = time.monotonic()
        if now >= deadline:
            raise Bye("idle for too long, logging out")
        if now >= hibernate_at:
            hibernate_at = _try_hibernating(server, tag, deadline, watcher)
        if now >= next_keepalive:
            server.untagged("OK still here")
            next_keepalive = now + KEEPALIVE


def _try_hibernating(server, tag: str, deadline: float, watcher) -> float:
    """Hand the session to idled (raises HandedOff); else when to try again."""
    try:
        parked = hibernate.park(server, tag, deadline, watcher)
    except HandoffError as error:
        log.debug(f"IDLE stays here (session={server.session.id}): {error}")
        return math.inf
    if parked:
        raise HandedOff()
    return time.monotonic() + RETRY_HIBERNATE


def _client_spoke(server, watcher, until: float) -> bool:
    """Wait until the client sends something (True) or the mailbox may have changed (False)."""
    conn = server.conn
    if conn.has_pending_input():
        return True
    remaining = max(0.0, until - time.monotonic())
    watch_fd = watcher.fileno() if watcher is not None else None
    if watcher is not None and watch_fd is None:       # polling fallback
        remaining = min(remaining, 0.25)
    fds = [conn.fileno()] + ([watch_fd] if watch_fd is not None else [])
    readable, _, _ = select.select(fds, [], [], remaining)
    if conn.fileno() in readable:
        return True
    if watch_fd is not None and watch_fd in readable:
        watcher.wait(0)
    elif watcher is not None and watch_fd is None:
        watcher.wait(0)
    return False
