"""popminpoll and poppollpadding: how often one maildrop may be polled.

Cyrus's accounting, kept in the user's index (meta key
"pop3_last_login/<mailbox>"): a "virtual last login" time L. A login at time
t is refused with [LOGIN-DELAY] while L + popminpoll > t. An accepted login
moves L on: to t when poppollpadding is 1 (the default); with a padding of
N > 1, by popminpoll from max(L, t - N * popminpoll), so that a client that
was quiet for a while may log in up to N times in a row before the delay
applies.

Unlike Cyrus, which moves L only at a clean QUIT, pop3d records the login
when it is accepted, in the same index transaction that checked it: two
sessions racing cannot both pass, and a client that drops the connection
instead of sending QUIT is held to the same limit as one that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pillarbox.store import UserStore

META_PREFIX = "pop3_last_login/"


def refused_for(last: float | None, now: float, minpoll: float) -> float:
    """Seconds the login must still wait (0: allowed)."""
    if minpoll <= 0 or last is None:
        return 0.0
    return max(0.0, last + minpoll - now)


def advance(last: float | None, now: float, minpoll: float, padding: int) -> float:
    """The new virtual last-login time after an accepted login at `now`."""
    if minpoll > 0 and padding > 1:
        earliest = now - minpoll * padding
        base = earliest if last is None or last < earliest else last
        return base + minpoll
    return now


def check_and_record(store: "UserStore", mailbox: str, now: float, minpoll: float, padding: int) -> float:
    """0 and the login recorded, or the seconds still to wait (nothing recorded)."""
    if minpoll <= 0:
        return 0.0
    key = META_PREFIX + mailbox
    with store.index.write():
        last = _number(store.index.meta(key))
        remaining = refused_for(last, now, minpoll)
        if remaining:
            return remaining
        store.index.set_meta(key, repr(advance(last, now, minpoll, padding)))
    return 0.0


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
