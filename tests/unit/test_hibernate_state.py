"""IDLE hibernation: the state a session exports, and the mailbox view rebuilt from it."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from idled.lot import check_state
from imapd.hibernate import STATE_VERSION, export_state, reselect
from imapd.selected import SelectedMailbox, UidValidityChanged
from pillarbox.store import DELETED, FLAGGED, INBOX, SEEN, UserStore

SESSION = {"id": "s1", "user": "alice", "mechanism": "PLAIN", "peer": "[192.0.2.1]:4000", "started": 1.7e9,
           "commands": 4, "bytes_in": 100, "bytes_out": 2000}
POLL = dict(allow_expunge=True, qresync=False, condstore=False, imap4rev2=False)


def message(n: int) -> bytes:
    return f"From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def store(config):
    with UserStore.open(config, "alice") as opened:
        for n in range(1, 4):
            opened.append(INBOX, message(n))
        yield opened


def select(store: UserStore, name: str = INBOX, readonly: bool = False) -> SelectedMailbox:
    """As imapd/commands/select.py does."""
    info = store.info(name)
    records = store.messages(name)
    recent = set() if readonly else store.claim_recent(name)
    return SelectedMailbox(name, name, readonly, info, records, recent)


def server(config, store, selected=None, enabled=(), saved_search=()):
    return SimpleNamespace(config=config, store=store, selected=selected, enabled=set(enabled),
                           saved_search=list(saved_search), conn=None,
                           session=SimpleNamespace(export=lambda: dict(SESSION)))


def exported(config, store, selected, **extra) -> dict:
    """export_state's result as idled and the resume worker see it: through JSON."""
    state = export_state(server(config, store, selected, **extra), "a7", time.monotonic() + 1800)
    return json.loads(json.dumps(state))


# ---------------------------------------------------------------------------
# export_state


def test_export_state_is_json_and_describes_the_session(config, store):
    selected = select(store)
    state = export_state(server(config, store, selected, enabled={"QRESYNC", "CONDSTORE"}, saved_search=[3, 1, 2]),
                         "a7", time.monotonic() + 1800)
    assert json.loads(json.dumps(state))["session"] == SESSION
    assert state["version"] == STATE_VERSION
    assert state["idle"]["tag"] == "a7"
    assert state["idle"]["deadline"] == pytest.approx(time.time() + 1800, abs=2)
    assert state["imap"]["enabled"] == ["CONDSTORE", "QRESYNC"]
    assert state["imap"]["saved_search"] == "1:3"


def test_export_state_describes_the_selected_mailbox(config, store):
    selected = select(store)
    info = store.info(INBOX)
    saved = exported(config, store, selected)["imap"]["selected"]
    assert saved == {"name": INBOX, "external": INBOX, "readonly": False, "uidvalidity": info.uidvalidity,
                     "uidnext": 4, "modseq": info.highestmodseq, "uids": "1:3", "recent": "1:3"}


def test_export_state_watches_the_mailbox_folders(config, store):
    state = exported(config, store, select(store))
    directories, _ = store.watch_paths(INBOX)
    assert state["watch"]["directories"] == directories
    assert len(state["watch"]["fingerprint"]) == len(directories)
    assert all(stamp is not None for stamp in state["watch"]["fingerprint"])


def test_export_state_with_nothing_selected(config, store):
    state = exported(config, store, None)
    assert state["imap"]["selected"] is None and state["watch"] is None


def test_export_state_of_a_past_deadline_is_now(config, store):
    state = export_state(server(config, store), "a7", time.monotonic() - 50)
    assert state["idle"]["deadline"] == pytest.approx(time.time(), abs=2)


def test_idled_accepts_what_imapd_exports(config, store):
    check_state(exported(config, store, select(store)))
    check_state(exported(config, store, None))


def test_export_state_keeps_gaps_in_the_uids(config, store):
    store.store_flags(INBOX, [2], "add", [DELETED])
    store.expunge(INBOX)
    store.append(INBOX, message(4))
    saved = exported(config, store, select(store, readonly=True))["imap"]["selected"]
    assert saved["uids"] == "1,3:4" and saved["recent"] == "" and saved["readonly"] is True


# ---------------------------------------------------------------------------
# reselect


def test_reselect_with_nothing_changed(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    selected = reselect(store, saved)
    assert selected.uids == [1, 2, 3]
    assert selected.records == {record.uid: record for record in store.messages(INBOX)}
    assert selected.recent == {1, 2, 3}
    assert not selected.pending_expunges
    assert selected.poll(store, **POLL) == []


def test_reselect_keeps_what_the_client_was_told(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    selected = reselect(store, saved)
    assert (selected.name, selected.external, selected.readonly) == (INBOX, INBOX, False)
    assert (selected.uidvalidity, selected.uidnext, selected.modseq) == \
        (saved["uidvalidity"], saved["uidnext"], saved["modseq"])


def test_flags_changed_meanwhile_are_reported_on_resume(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.store_flags(INBOX, [2], "add", [SEEN, FLAGGED])
    selected = reselect(store, saved)
    assert selected.records[2].flags != store.messages(INBOX)[1].flags        # marked stale
    assert selected.records[1] == store.messages(INBOX)[0]
    assert selected.poll(store, **POLL) == [b"* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"]
    assert selected.records[2].flags == {SEEN, FLAGGED}
    assert selected.poll(store, **POLL) == []


def test_flags_changed_meanwhile_with_condstore(config, store):
    saved = exported(config, store, select(store, readonly=True))["imap"]["selected"]
    changed, _ = store.store_flags(INBOX, [3], "add", [SEEN])
    responses = reselect(store, saved).poll(store, allow_expunge=True, qresync=True, condstore=True,
                                            imap4rev2=True)
    assert responses == [b"* 3 FETCH (FLAGS (\\Seen) UID 3 MODSEQ (%d))\r\n" % changed[0].modseq]


@pytest.mark.parametrize("gone, lines", [([2], [b"* 2 EXPUNGE\r\n"]),
                                         ([1, 3], [b"* 3 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"])])
def test_expunged_meanwhile_is_reported_on_resume(config, store, gone, lines):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.store_flags(INBOX, gone, "add", [DELETED])
    store.expunge(INBOX)
    selected = reselect(store, saved)
    assert selected.pending_expunges == set(gone)
    assert selected.poll(store, **POLL) == lines
    assert selected.uids == [uid for uid in (1, 2, 3) if uid not in gone]


def test_expunged_meanwhile_waits_while_expunges_are_not_allowed(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.store_flags(INBOX, [2], "add", [DELETED])
    store.expunge(INBOX)
    selected = reselect(store, saved)
    assert selected.poll(store, **{**POLL, "allow_expunge": False}) == []
    assert len(selected) == 3
    assert selected.poll(store, **POLL) == [b"* 2 EXPUNGE\r\n"]


def test_expunged_meanwhile_with_qresync_is_vanished(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.store_flags(INBOX, [1, 2], "add", [DELETED])
    store.expunge(INBOX)
    assert reselect(store, saved).poll(store, **{**POLL, "qresync": True}) == [b"* VANISHED 1:2\r\n"]


def test_arrivals_meanwhile_are_reported_on_resume(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.append(INBOX, message(4))
    selected = reselect(store, saved)
    assert selected.uids == [1, 2, 3]
    responses = selected.poll(store, **POLL)
    assert b"* 4 EXISTS\r\n" in responses and b"* 4 RECENT\r\n" in responses
    assert selected.uids == [1, 2, 3, 4] and selected.uidnext == 5


def test_everything_at_once(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    store.store_flags(INBOX, [1], "add", [DELETED])
    store.expunge(INBOX)
    store.store_flags(INBOX, [3], "add", [SEEN])
    store.append(INBOX, message(4))
    responses = reselect(store, saved).poll(store, **POLL)
    assert responses[0] == b"* 1 EXPUNGE\r\n"
    assert b"* 3 EXISTS\r\n" in responses
    assert b"* 2 FETCH (FLAGS (\\Seen \\Recent))\r\n" in responses


def test_reselect_of_a_changed_uidvalidity(config, store):
    saved = exported(config, store, select(store))["imap"]["selected"]
    saved["uidvalidity"] += 1
    with pytest.raises(UidValidityChanged):
        reselect(store, saved)


def test_reselect_of_a_deleted_mailbox(config, store):
    store.create_mailbox("Work")
    store.append("Work", message(1))
    saved = exported(config, store, select(store, "Work"))["imap"]["selected"]
    store.delete_mailbox("Work")
    with pytest.raises(UidValidityChanged):
        reselect(store, saved)


def test_reselect_of_a_mailbox_deleted_and_recreated(config, store):
    store.create_mailbox("Work")
    saved = exported(config, store, select(store, "Work"))["imap"]["selected"]
    store.delete_mailbox("Work")
    store.create_mailbox("Work")
    with pytest.raises(UidValidityChanged):
        reselect(store, saved)


def test_reselect_from_another_process_store(config, store):
    """The resume worker opens its own store."""
    saved = exported(config, store, select(store))["imap"]["selected"]
    with UserStore.open(config, "alice") as other:
        other.store_flags(INBOX, [1], "add", [SEEN])
    with UserStore.open(config, "alice") as resumed:
        assert reselect(resumed, saved).poll(resumed, **POLL) == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n"]
