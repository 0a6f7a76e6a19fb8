"""WatchSet: one inotify instance shared by many watchers (idled), and fingerprint()."""

from __future__ import annotations

import os
import shutil

import pytest

from pillarbox.notify import WatchSet, fingerprint


@pytest.fixture
def watches():
    watchset = WatchSet()
    if watchset.fileno() is None:
        watchset.close()
        pytest.skip("no inotify here")
    yield watchset
    watchset.close()


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "folder"
    path.mkdir()
    return str(path)


def kernel_watches(watchset: WatchSet) -> int:
    """How many watches the kernel holds on the instance (Linux /proc)."""
    with open(f"/proc/self/fdinfo/{watchset.fileno()}", encoding="ascii") as handle:
        return sum(line.startswith("inotify wd:") for line in handle)


def touch(directory: str, name: str = "message") -> None:
    with open(os.path.join(directory, name), "wb"):
        pass


def test_owners_of_the_same_directory_share_one_watch(watches, folder):
    assert watches.add("one", [folder], None) and watches.add("two", [folder], None)
    assert kernel_watches(watches) == 1


def test_no_events_no_owners(watches, folder):
    watches.add("one", [folder], None)
    assert watches.changed() == set()


def test_a_new_file_wakes_every_owner_of_the_directory(watches, folder, tmp_path):
    other = str(tmp_path / "other")
    os.mkdir(other)
    watches.add("one", [folder], None)
    watches.add("two", [folder], None)
    watches.add("three", [other], None)
    touch(folder)
    assert watches.changed() == {"one", "two"}
    assert watches.changed() == set()            # events are consumed


@pytest.mark.parametrize("change", ["create", "delete", "rename in", "rename out"])
def test_directory_changes_are_seen(watches, folder, tmp_path, change):
    outside = str(tmp_path / "outside")
    touch(folder, "old")
    touch(str(tmp_path), "outside")
    watches.add("one", [folder], None)
    if change == "create":
        touch(folder)
    elif change == "delete":
        os.unlink(os.path.join(folder, "old"))
    elif change == "rename in":
        os.rename(outside, os.path.join(folder, "new"))
    else:
        os.rename(os.path.join(folder, "old"), outside)
    assert watches.changed() == {"one"}


def test_wal_file_modification_is_seen(watches, folder, tmp_path):
    wal = str(tmp_path / "index.db-wal")
    touch(str(tmp_path), "index.db-wal")
    watches.add("one", [folder], wal)
    with open(wal, "ab") as handle:
        handle.write(b"x")
    assert watches.changed() == {"one"}


def test_missing_wal_is_not_a_failure(watches, folder, tmp_path):
    assert watches.add("one", [folder], str(tmp_path / "no-wal-yet"))
    assert kernel_watches(watches) == 1


def test_removing_one_owner_keeps_the_other(watches, folder):
    watches.add("one", [folder], None)
    watches.add("two", [folder], None)
    watches.remove("one")
    assert kernel_watches(watches) == 1
    touch(folder)
    assert watches.changed() == {"two"}


def test_removing_every_owner_drops_the_watch(watches, folder):
    watches.add("one", [folder], None)
    watches.add("two", [folder], None)
    watches.remove("one")
    watches.remove("two")
    assert kernel_watches(watches) == 0
    touch(folder)
    assert watches.changed() == set()


def test_removing_an_unknown_owner_is_harmless(watches, folder):
    watches.add("one", [folder], None)
    watches.remove("stranger")
    touch(folder)
    assert watches.changed() == {"one"}


def test_a_deleted_directory_does_not_break_later_watches(watches, folder, tmp_path):
    watches.add("one", [folder], None)
    shutil.rmtree(folder)
    assert watches.changed() == {"one"}           # DELETE_SELF, then IGNORED
    watches.remove("one")                          # the owner wakes and goes: nothing left to remove
    assert watches.changed() == set()
    fresh = str(tmp_path / "fresh")
    os.mkdir(fresh)
    assert watches.add("two", [fresh], None)
    touch(fresh)
    assert watches.changed() == {"two"}
    assert kernel_watches(watches) == 1


def test_removing_an_owner_whose_directory_just_vanished(watches, folder, tmp_path):
    other = str(tmp_path / "other")
    os.mkdir(other)
    watches.add("one", [folder, other], None)
    shutil.rmtree(folder)
    watches.remove("one")                          # before the IGNORED event was read
    assert watches.changed() == set()
    assert kernel_watches(watches) == 0


def test_a_directory_recreated_at_the_same_path_can_be_watched_again(watches, folder):
    watches.add("one", [folder], None)
    shutil.rmtree(folder)
    watches.changed()
    watches.remove("one")
    os.mkdir(folder)
    assert watches.add("two", [folder], None)
    touch(folder)
    assert watches.changed() == {"two"}


def test_a_recreated_directory_gets_a_new_watch_while_the_old_owner_lingers(watches, folder):
    watches.add("one", [folder], None)
    shutil.rmtree(folder)
    assert watches.changed() == {"one"}
    os.mkdir(folder)
    assert watches.add("two", [folder], None)
    touch(folder)
    assert watches.changed() == {"two"}            # "one" watched the old directory
    watches.remove("one")
    watches.remove("two")
    assert kernel_watches(watches) == 0


def test_adding_a_missing_directory_fails_and_leaves_no_watch(watches, folder, tmp_path):
    missing = str(tmp_path / "missing")
    assert not watches.add("one", [folder, missing], None)
    assert kernel_watches(watches) == 0
    touch(folder)
    assert watches.changed() == set()


def test_a_failed_add_leaves_other_owners_watching(watches, folder, tmp_path):
    watches.add("one", [folder], None)
    assert not watches.add("two", [folder, str(tmp_path / "missing")], None)
    touch(folder)
    assert watches.changed() == {"one"}
    assert kernel_watches(watches) == 1


def test_a_queue_overflow_wakes_every_owner(watches, tmp_path):
    busy, quiet = tmp_path / "busy", tmp_path / "quiet"
    busy.mkdir(), quiet.mkdir()
    watches.add("busy", [str(busy)], None)
    watches.add("quiet", [str(quiet)], None)
    with open("/proc/sys/fs/inotify/max_queued_events") as handle:
        limit = int(handle.read())
    if limit > 100_000:
        pytest.skip(f"max_queued_events is {limit}: too many files to overflow it")
    for n in range(limit + 10):           # the kernel drops events past its queue limit
        touch(str(busy), f"m{n}")
    touch(str(quiet))                      # this one is lost in the overflow
    assert watches.changed() == {"busy", "quiet"}


def test_without_inotify_nothing_is_watched(monkeypatch, folder, tmp_path):
    monkeypatch.setenv("PILLARBOX_NO_INOTIFY", "1")
    watchset = WatchSet()
    assert watchset.fileno() is None
    assert watchset.add("one", [folder], None)
    assert watchset.add("two", [str(tmp_path / "missing")], None)
    touch(folder)
    assert watchset.changed() == set()
    watchset.remove("one")
    watchset.close()


def test_close_is_idempotent(watches):
    watches.close()
    watches.close()
    assert watches.fileno() is None


# ---------------------------------------------------------------------------
# fingerprint


def test_fingerprint_changes_when_a_file_is_added(folder):
    os.utime(folder, (1_000_000_000, 1_000_000_000))   # a coarse clock must still show the change
    before = fingerprint([folder])
    touch(folder)
    assert fingerprint([folder]) != before


def test_fingerprint_is_stable_without_changes(folder):
    touch(folder)
    assert fingerprint([folder, None]) == fingerprint([folder, None])


def test_fingerprint_of_missing_and_absent_paths_is_none(tmp_path, folder):
    stamps = fingerprint([str(tmp_path / "missing"), None, folder])
    assert stamps[:2] == (None, None) and stamps[2] is not None


def test_fingerprint_sees_a_file_growing(tmp_path):
    wal = tmp_path / "wal"
    wal.write_bytes(b"x")
    os.utime(wal, (1_000_000_000, 1_000_000_000))
    before = fingerprint([str(wal)])
    with open(wal, "ab") as handle:
        handle.write(b"y")
    os.utime(wal, (1_000_000_000, 1_000_000_000))       # same mtime: the size still tells
    assert fingerprint([str(wal)]) != before
