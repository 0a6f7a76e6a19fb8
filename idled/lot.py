"""The parked sessions and when each needs attention: pure bookkeeping, no I/O."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

KEEPALIVE = 120.0        # as imapd's IDLE: "* OK still here" keeps NAT tables warm


class BadState(ValueError):
    """A handed-over session description idled cannot use."""


@dataclass(eq=False)
class Parked:
    """One hibernating session. `state` goes back to the resume worker unchanged
    except for the bytes idled itself wrote."""
    client: object                   # the client's socket
    state: dict
    deadline: float                  # monotonic: autologout
    next_keepalive: float
    serial: int = field(default_factory=itertools.count(1).__next__)

    @property
    def session(self) -> dict:
        return self.state["session"]

    @property
    def watch(self) -> dict | None:
        return self.state.get("watch")

    def wrote(self, count: int) -> None:
        self.session["bytes_out"] += count

    def describe(self) -> str:
        return f"{self.session['peer']} {self.session['user']} session={self.session['id']}"


def check_state(state: dict) -> None:
    """Refuse a description missing what idled relies on (before taking the connection)."""
    try:
        session, idle = state["session"], state["idle"]
        for key in ("id", "user", "peer", "started", "commands", "bytes_in", "bytes_out"):
            session[key]
        float(idle["deadline"])
        watch = state.get("watch")
        if watch is not None and not (isinstance(watch, dict) and isinstance(watch.get("directories"), list)
                                      and isinstance(watch.get("fingerprint"), list)):
            raise BadState("watch needs a directories list and a fingerprint list")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadState(f"incomplete session state: {exc!r}") from None


def park(client: object, state: dict, now_monotonic: float | None = None) -> Parked:
    check_state(state)
    now = time.monotonic() if now_monotonic is None else now_monotonic
    remaining = float(state["idle"]["deadline"]) - time.time()
    return Parked(client, state, now + remaining, now + KEEPALIVE)


def next_due(parked: list[Parked]) -> float:
    """The earliest monotonic time any session needs a keepalive or its autologout."""
    return min((min(p.deadline, p.next_keepalive) for p in parked), default=math.inf)


def due(parked: list[Parked], now: float) -> tuple[list[Parked], list[Parked]]:
    """(expired, needing a keepalive) at `now`."""
    expired = [p for p in parked if p.deadline <= now]
    keepalive = [p for p in parked if p.deadline > now and p.next_keepalive <= now]
    return expired, keepalive
