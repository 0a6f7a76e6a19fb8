"""IDLE hibernation (Dovecot's imap-hibernate, in the Cyrus process model).

A session that has sat in IDLE for `imapidlehibernate` seconds hands its
client connection and a description of itself to idled (`idlesocket`) and
this worker goes back to the pool. idled holds many such connections in one
small process. When the client speaks or the mailbox changes, idled passes
the connection to a worker of the resume service (`imapd -R`, listening on
`imapresumesocket`), which rebuilds the session from the description and
carries on with the IDLE as if nothing had happened.

Only what the client's view depends on travels: the user, the ENABLEd
extensions, $, and for a selected mailbox its UIDVALIDITY, MODSEQ, UIDNEXT
and the UIDs the client knows in sequence order. Flags and arrivals are read
again from the store on resume; what changed meanwhile is told as untagged
responses exactly as a session that never left would have told it.
"""

from __future__ import annotations

import select
import time

from imapd.protocol.sequence import expand_sequence_set, format_sequence_set
from imapd.selected import SelectedMailbox, UidValidityChanged
from pillarbox import log
from pillarbox.handoff import hand_over
from pillarbox.store import MailboxNotFound, MessageRecord, UserStore
from pillarbox.notify import fingerprint

STATE_VERSION = 1
# flags no message can have: a record known with these is reported again on resume
_STALE = frozenset({"\\Stale-while-hibernated"})


def delay(server) -> float:
    """Seconds of quiet IDLE before hibernating; 0 when this session cannot."""
    seconds = server.config.getduration("imapidlehibernate")
    if not seconds or seconds <= 0 or not server.config.getpath("idlesocket"):
        return 0.0
    conn = server.conn
    if not conn.is_socket or conn.tls or server.user is None:
        return 0.0        # a TLS session's keys live in this process: it cannot move
    return float(seconds)


def park(server, tag: str, deadline: float, watcher) -> bool:
    """Hand the IDLE session to idled. True: it is gone from this process; False: not
    now, try again shortly. HandoffError: idled cannot take it (stay for this IDLE)."""
    if server.out or server.conn.has_pending_input() or (server.selected is not None and
                                                         server.selected.pending_expunges):
        return False
    state = export_state(server, tag, deadline)
    if state["watch"] is not None and _recently_changed(state["watch"]["fingerprint"]):
        return False          # idled compares stamps: a second change in the same clock tick would hide
    if watcher is not None and watcher.fileno() is not None and select.select([watcher.fileno()], [], [], 0)[0]:
        return False          # something changed since the last look: tell it first
    hand_over(server.config.getpath("idlesocket"), server.conn.raw_socket(), state, timeout=5.0)
    log.debug(f"hibernate: {server.session.peer} {server.user} session={server.session.id} "
              f"mailbox={server.selected.name if server.selected is not None else '-'}")
    return True


def _recently_changed(stamps: list, quiet_ns: int = 1_000_000_000) -> bool:
    now = time.time_ns()
    return any(stamp is not None and now - stamp[0] < quiet_ns for stamp in stamps)


def export_state(server, tag: str, deadline: float) -> dict:
    """What idled and the resuming worker need; `deadline` is on the monotonic clock."""
    selected = server.selected
    state = {
        "version": STATE_VERSION,
        "session": server.session.export(),
        "idle": {"tag": tag, "deadline": time.time() + max(0.0, deadline - time.monotonic())},
        "imap": {
            "enabled": sorted(server.enabled),
            "saved_search": format_sequence_set(server.saved_search),
            "selected": None if selected is None else _export_selected(selected),
        },
        "watch": None,
    }
    if selected is not None:
        # only the folders: deliveries, flag changes and expunges rename, add or remove a file
        # there (a keyword past the 26 Maildir letters does not: it waits for the next wake-up),
        # while the index's WAL also changes when this very worker closes the store
        directories, _ = server.store.watch_paths(selected.name)
        state["watch"] = {"directories": directories, "fingerprint": fingerprint(directories)}
    return state


def _export_selected(selected: SelectedMailbox) -> dict:
    return {
        "name": selected.name, "external": selected.external, "readonly": selected.readonly,
        "uidvalidity": selected.uidvalidity, "uidnext": selected.uidnext, "modseq": selected.modseq,
        "uids": format_sequence_set(selected.uids), "recent": format_sequence_set(selected.recent),
    }


def restore(server, state: dict) -> None:
    """Make `server` the session described by `state`: logged in, mailbox selected.
    Raises UidValidityChanged when the mailbox went away meanwhile."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"hibernated session state version {state.get('version')!r} is not {STATE_VERSION}")
    user = state["session"]["user"]
    server.store = UserStore.open(server.config, user)
    server.user = user
    server.state = "authenticated"
    server.session.adopt(state["session"])
    server.guard.logged_in(user)
    imap = state["imap"]
    server.enabled = set(imap["enabled"])
    server.saved_search = expand_sequence_set(imap["saved_search"])
    if imap["selected"] is not None:
        server.selected = reselect(server.store, imap["selected"])
        server.state = "selected"


def reselect(store: UserStore, saved: dict) -> SelectedMailbox:
    """The mailbox as the client last saw it: whatever changed since is still to be told."""
    name = saved["name"]
    try:
        info = store.info(name)
    except MailboxNotFound:
        raise UidValidityChanged(name) from None
    if info.uidvalidity != saved["uidvalidity"]:
        raise UidValidityChanged(name)
    current = {record.uid: record for record in store.messages(name)}
    known, gone = [], []
    for uid in expand_sequence_set(saved["uids"]):
        record = current.get(uid)
        if record is None:
            gone.append(uid)
            record = MessageRecord(uid, _STALE, 0, 0, 0, 0, None, None)
        elif record.modseq > saved["modseq"]:
            record = record._replace(flags=_STALE)
        known.append(record)
    selected = SelectedMailbox(name, saved["external"], saved["readonly"], info, known,
                               set(expand_sequence_set(saved["recent"])))
    selected.uidnext, selected.modseq = saved["uidnext"], saved["modseq"]
    selected.pending_expunges.update(gone)
    return selected
