"""idled's bookkeeping of parked sessions, and the proc files it writes for them."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import time

import pytest

from idled.lot import KEEPALIVE, BadState, Parked, check_state, due, next_due, park
from pillarbox.proclist import ProcessRegistry


def state(**overrides) -> dict:
    described = {
        "version": 1,
        "session": {"id": "s1", "user": "alice", "peer": "[192.0.2.1]:4000", "started": 1.0e9,
                    "commands": 3, "bytes_in": 10, "bytes_out": 20, "mechanism": "PLAIN"},
        "idle": {"tag": "a1", "deadline": time.time() + 1800},
        "imap": {"enabled": [], "saved_search": "", "selected": None},
        "watch": {"directories": ["/x/new", "/x/cur"], "fingerprint": [None, None]},
    }
    described.update(overrides)
    return described


def without(path: str) -> dict:
    """A state with the dotted key removed."""
    broken = state()
    *parents, last = path.split(".")
    target = broken
    for key in parents:
        target = target[key]
    del target[last]
    return broken


def parked(deadline: float, next_keepalive: float) -> Parked:
    return Parked(object(), state(), deadline, next_keepalive)


# ---------------------------------------------------------------------------
# check_state


@pytest.mark.parametrize("described", [state(), state(watch=None), without("watch"),
                                       state(idle={"tag": "a", "deadline": "1700000000.5"})])
def test_check_state_accepts(described):
    check_state(described)


@pytest.mark.parametrize(
    "broken",
    [
        without("session"),
        without("idle"),
        without("session.id"),
        without("session.user"),
        without("session.peer"),
        without("session.started"),
        without("session.commands"),
        without("session.bytes_in"),
        without("session.bytes_out"),
        without("idle.deadline"),
        state(session=None),
        state(session="alice"),
        state(idle={"deadline": "soon"}),
        state(idle={"deadline": None}),
        state(idle=[]),
        state(watch={"directories": "/x/new"}),
        state(watch={"directories": None}),
        state(watch={}),
        state(watch=[]),
        state(watch="x"),
        state(watch=5),
        state(watch={"directories": ["/x/new"]}),
        state(watch={"directories": ["/x/new"], "fingerprint": None}),
    ],
)
def test_check_state_refuses(broken):
    with pytest.raises(BadState):
        check_state(broken)


def test_bad_state_is_a_value_error():
    assert issubclass(BadState, ValueError)


# ---------------------------------------------------------------------------
# park and the timers


def test_park_converts_the_wall_clock_deadline_to_monotonic():
    described = state(idle={"tag": "a1", "deadline": time.time() + 600})
    spot = park("client", described, now_monotonic=1000.0)
    assert spot.deadline == pytest.approx(1600.0, abs=1.0)
    assert spot.next_keepalive == 1000.0 + KEEPALIVE
    assert spot.client == "client" and spot.state is described


def test_park_with_a_past_deadline_is_already_due():
    spot = park("client", state(idle={"deadline": time.time() - 10}), now_monotonic=500.0)
    assert spot.deadline < 500.0
    assert due([spot], 500.0) == ([spot], [])


def test_park_refuses_a_broken_state():
    with pytest.raises(BadState):
        park("client", without("session.user"), now_monotonic=0.0)


def test_park_defaults_to_the_monotonic_clock():
    spot = park("client", state(idle={"deadline": time.time() + 60}))
    assert spot.deadline == pytest.approx(time.monotonic() + 60, abs=1.0)


def test_parked_sessions_get_distinct_serials():
    first, second = parked(1, 1), parked(1, 1)
    assert first.serial != second.serial


def test_due_splits_expired_from_keepalive():
    expired = parked(deadline=100, next_keepalive=50)
    exactly = parked(deadline=200, next_keepalive=300)
    keepalive = parked(deadline=300, next_keepalive=150)
    quiet = parked(deadline=300, next_keepalive=250)
    assert due([expired, exactly, keepalive, quiet], 200) == ([expired, exactly], [keepalive])


def test_due_of_nothing():
    assert due([], 100.0) == ([], [])


def test_next_due_is_the_earliest_of_any_timer():
    assert next_due([parked(500, 300), parked(250, 400), parked(900, 800)]) == 250


def test_next_due_of_no_sessions_is_infinite():
    assert next_due([]) == math.inf


def test_wrote_counts_bytes_out_in_the_state():
    spot = parked(1, 1)
    spot.wrote(17)
    spot.wrote(0)
    assert spot.session["bytes_out"] == 37 and spot.state["session"]["bytes_out"] == 37


def test_describe_names_peer_user_and_session():
    assert parked(1, 1).describe() == "[192.0.2.1]:4000 alice session=s1"


def test_watch_is_optional():
    assert Parked(None, without("watch"), 1, 1).watch is None
    assert parked(1, 1).watch["directories"] == ["/x/new", "/x/cur"]


def test_state_is_kept_as_given():
    described = state()
    original = copy.deepcopy(described)
    park("client", described, now_monotonic=0.0)
    assert described == original


# ---------------------------------------------------------------------------
# ProcessRegistry keys: idled writes <pid>.<key> for each session it holds


@pytest.fixture
def configdir(tmp_path):
    return str(tmp_path / "config")


def test_keyed_registry_writes_pid_dot_key(configdir):
    registry = ProcessRegistry(configdir, key="7")
    registry.register("imap", "192.0.2.1", "alice")
    assert os.listdir(os.path.join(configdir, "proc")) == [f"{os.getpid()}.7"]
    with open(registry.path, encoding="utf-8") as handle:
        assert handle.read() == "imap\t192.0.2.1\talice\t\n"


@pytest.mark.parametrize("other_key", [None, "8"])
def test_other_registries_of_the_same_process_count_a_keyed_session(configdir, other_key):
    ProcessRegistry(configdir, key="7").register("imap", "192.0.2.1", "alice")
    other = ProcessRegistry(configdir, key=other_key)
    assert other.sessions() == [(os.getpid(), "imap", "192.0.2.1", "alice")]
    assert other.count(user="alice") == 1 and other.count(host="192.0.2.9") == 0


def test_keyed_registry_does_not_count_itself(configdir):
    registry = ProcessRegistry(configdir, key="7")
    registry.register("imap", "192.0.2.1", "alice")
    assert registry.sessions() == []


def test_several_keys_count_separately(configdir):
    for key in ("1", "2", "3"):
        ProcessRegistry(configdir, key=key).register("imap", "192.0.2.1", "alice")
    assert ProcessRegistry(configdir).count(user="alice") == 3
    assert ProcessRegistry(configdir, key="2").count(user="alice") == 2


def test_unregister_removes_only_the_keyed_file(configdir):
    plain, keyed = ProcessRegistry(configdir), ProcessRegistry(configdir, key="7")
    plain.register("imap", "192.0.2.1", "bob")
    keyed.register("imap", "192.0.2.1", "alice")
    keyed.unregister()
    assert os.listdir(os.path.join(configdir, "proc")) == [str(os.getpid())]


@pytest.mark.parametrize("name", ["{pid}.7.tmp", "{pid}.tmp", "{pid}.x", "notes"])
def test_temporary_and_foreign_files_are_ignored(configdir, name):
    directory = os.path.join(configdir, "proc")
    os.makedirs(directory)
    with open(os.path.join(directory, name.format(pid=os.getpid())), "w", encoding="utf-8") as handle:
        handle.write("imap\t192.0.2.1\talice\t\n")
    assert ProcessRegistry(configdir).sessions() == []


def test_keyed_file_of_a_dead_process_is_removed(configdir):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = os.path.join(configdir, "proc", f"{child.stdout.strip()}.7")
    os.makedirs(os.path.dirname(dead))
    with open(dead, "w", encoding="utf-8") as handle:
        handle.write("imap\t192.0.2.1\talice\t\n")
    assert ProcessRegistry(configdir).sessions() == []
    assert not os.path.exists(dead)
