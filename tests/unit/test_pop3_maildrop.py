"""pop3d's pieces that sit on the store and the password file: the maildrop
snapshot and its UPDATE, UIDLs, the maildrop lock, popminpoll accounting,
popsubfolders names, and APOP."""

from __future__ import annotations

import hashlib
import multiprocessing
import os

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.store import DELETED, SEEN, MailboxNotFound, UserStore
from pop3d import apop, logindelay
from pop3d.errors import Err
from pop3d.lock import MaildropLock, lock_path
from pop3d.maildrop import Maildrop, format_uidl
from pop3d.subfolders import BadFolder, mailbox_for, split_login


def message(n: int) -> bytes:
    return f"Subject: message {n}\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def store(config):
    with UserStore.open(config, "demo") as opened:
        for n in range(1, 5):
            opened.append("INBOX", message(n))
        yield opened


# ---------------------------------------------------------------- the maildrop

def test_snapshot_numbers_messages_in_uid_order(store):
    drop = Maildrop.open(store, "INBOX")
    assert [(m.number, m.uid, m.size) for m in drop.messages] == [(n, n, len(message(n))) for n in range(1, 5)]
    assert drop.stat() == (4, sum(len(message(n)) for n in range(1, 5)))
    assert drop.read(drop.message(2)) == message(2)


def test_message_lookup_errors(store):
    drop = Maildrop.open(store, "INBOX")
    for number in (None, 0, 5, 10**9):
        with pytest.raises(Err, match="no such message"):
            drop.message(number)
    drop.delete(drop.message(3))
    with pytest.raises(Err, match="already deleted"):
        drop.message(3)


def test_dele_changes_nothing_until_commit_and_rset_undoes(store):
    drop = Maildrop.open(store, "INBOX")
    drop.delete(drop.message(1))
    assert drop.stat()[0] == 3 and len(store.messages("INBOX")) == 4
    drop.reset()
    assert drop.stat()[0] == 4
    assert drop.commit() == 0
    assert len(store.messages("INBOX")) == 4


def test_commit_removes_exactly_the_deleted_messages(store):
    store.store_flags("INBOX", [4], "add", [DELETED])       # an IMAP client's \Deleted: not ours
    drop = Maildrop.open(store, "INBOX")
    drop.delete(drop.message(1))
    drop.delete(drop.message(3))
    assert drop.commit() == 2
    remaining = store.messages("INBOX")
    assert [r.uid for r in remaining] == [2, 4] and DELETED in remaining[1].flags
    assert store.changes_since("INBOX", 0).expunged == [1, 3]


def test_commit_tolerates_messages_expunged_meanwhile(store):
    drop = Maildrop.open(store, "INBOX")
    drop.delete(drop.message(2))
    drop.delete(drop.message(3))
    store.store_flags("INBOX", [2], "add", [DELETED])
    store.expunge("INBOX")
    with pytest.raises(Err, match="removed by another session"):
        drop.read(drop.messages[1])
    assert drop.commit() == 1
    assert [r.uid for r in store.messages("INBOX")] == [1, 4]


def test_commit_marks_retrieved_messages_seen_when_asked(store):
    drop = Maildrop.open(store, "INBOX")
    drop.messages[0].retrieved = True
    drop.messages[1].retrieved = True
    drop.delete(drop.message(2))
    drop.commit(mark_seen=True)
    flags = {r.uid: r.flags for r in store.messages("INBOX")}
    assert SEEN in flags[1] and 2 not in flags and SEEN not in flags[3]


def test_hide_deleted_leaves_out_imap_deleted_messages(store):
    store.store_flags("INBOX", [2], "add", [DELETED])
    drop = Maildrop.open(store, "INBOX", hide_deleted=True)
    assert [m.uid for m in drop.messages] == [1, 3, 4] and [m.number for m in drop.messages] == [1, 2, 3]


def test_a_missing_mailbox(store):
    with pytest.raises(MailboxNotFound):
        Maildrop.open(store, "Nowhere")


def test_uidl_formats():
    assert format_uidl("cyrus", 1700000000, 42) == "1700000000.42"
    assert format_uidl("uidonly", 1700000000, 42) == "42"
    assert format_uidl("dovecot", 1700000000, 42) == "0000002a6553f100"
    assert format_uidl("courier", 1700000000, 42) == "1700000000-42"


def test_uidl_stays_with_the_message(store):
    first = Maildrop.open(store, "INBOX")
    ids = {m.uid: first.uidl(m) for m in first.messages}
    store.store_flags("INBOX", [1], "add", [DELETED])
    store.expunge("INBOX")
    store.append("INBOX", message(5))
    second = Maildrop.open(store, "INBOX")
    again = {m.uid: second.uidl(m) for m in second.messages}
    assert {uid: again[uid] for uid in (2, 3, 4)} == {uid: ids[uid] for uid in (2, 3, 4)}
    assert again[5] not in ids.values()


# ---------------------------------------------------------------- the lock

def _try_lock(path, queue):
    queue.put(MaildropLock(path).acquire())


def test_the_lock_excludes_other_processes_until_released(tmp_path):
    path = lock_path(str(tmp_path), "INBOX")
    assert os.path.basename(path) == "pillarbox-pop3.lock"
    assert os.path.basename(lock_path(str(tmp_path), "Lists/pillarbox")) == "pillarbox-pop3.Lists.pillarbox.lock"
    lock = MaildropLock(path)
    assert lock.acquire() and lock.held
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_try_lock, args=(path, queue))
    child.start()
    child.join(10)
    assert queue.get(timeout=5) is False
    assert MaildropLock(path).acquire() is False          # a second session in this process too
    lock.release()
    assert not lock.held
    again = MaildropLock(path)
    assert again.acquire()
    again.release()


# ---------------------------------------------------------------- popminpoll

def test_login_delay_without_padding():
    assert logindelay.refused_for(None, 1000, 60) == 0
    assert logindelay.advance(None, 1000, 60, 1) == 1000
    assert logindelay.refused_for(1000, 1030, 60) == 30
    assert logindelay.refused_for(1000, 1060, 60) == 0
    assert logindelay.refused_for(1000, 1001, 0) == 0            # popminpoll 0: no limit


def test_login_delay_padding_allows_a_burst_after_a_quiet_time():
    minpoll, padding = 60, 3
    last, now, accepted = None, 10_000.0, 0
    while logindelay.refused_for(last, now, minpoll) == 0:
        last = logindelay.advance(last, now, minpoll, padding)
        accepted += 1
        now += 1
    assert accepted == 3
    assert logindelay.refused_for(last, now + 60, minpoll) == 0     # then one per popminpoll


def test_check_and_record_uses_the_index(store):
    assert logindelay.check_and_record(store, "INBOX", 5000, 60, 1) == 0
    assert logindelay.check_and_record(store, "INBOX", 5010, 60, 1) == 50
    assert logindelay.check_and_record(store, "Other", 5010, 60, 1) == 0      # per maildrop
    assert logindelay.check_and_record(store, "INBOX", 5061, 60, 1) == 0
    assert logindelay.check_and_record(store, "INBOX", 5062, 0, 1) == 0       # switched off
    with store.index.write():
        store.index.set_meta(logindelay.META_PREFIX + "INBOX", "garbage")
    assert logindelay.check_and_record(store, "INBOX", 5063, 60, 1) == 0


# ---------------------------------------------------------------- popsubfolders

def conf(text: str = "") -> Config:
    return Config.from_text(text)


@pytest.mark.parametrize("settings, name, expected", [
    ("", "demo+Lists", ("demo+Lists", None)),
    ("popsubfolders: yes", "demo", ("demo", None)),
    ("popsubfolders: yes", "demo+Lists", ("demo", "Lists")),
    ("popsubfolders: yes", "demo+", ("demo", None)),
    ("popsubfolders: yes", "demo+Lists@example.org", ("demo", "Lists@example.org")),
    ("popsubfolders: yes\nvirtdomains: userid", "demo+Lists@example.org", ("demo@example.org", "Lists")),
])
def test_split_login(settings, name, expected):
    assert split_login(conf(settings), name) == expected


def test_mailbox_for_folder_names():
    assert mailbox_for(conf(), None) == "INBOX"
    assert mailbox_for(conf(), "inbox") == "INBOX"
    assert mailbox_for(conf(), "Lists/pillarbox") == "Lists/pillarbox"
    assert mailbox_for(conf("unixhierarchysep: no"), "Lists.pillarbox") == "Lists/pillarbox"
    assert mailbox_for(conf("altnamespace: no"), "Lists/pillarbox") == "Lists/pillarbox"
    assert mailbox_for(conf(), "Caf&AOk-") == "Caf\u00e9"
    assert mailbox_for(conf(), "Caf\u00e9") == "Caf\u00e9"
    with pytest.raises(BadFolder):
        mailbox_for(conf(), "a//b")


# ---------------------------------------------------------------- APOP

@pytest.fixture
def passwd_config(tmp_path):
    (tmp_path / "config").mkdir()
    return Config.from_text(f"configdirectory: {tmp_path}/config\n"), tmp_path / "config" / "passwd"


def test_apop_is_offered_only_with_a_plaintext_entry(passwd_config):
    config, path = passwd_config
    assert not apop.offered(config, no_password=False)                 # no password file at all
    PasswdFile(str(path)).set_password("hashed", "pw", create=True, replace=False)
    assert not apop.offered(config, no_password=False)
    assert apop.offered(config, no_password=True)
    with open(path, "a") as handle:
        handle.write("plain:{PLAIN}secret\n")
    os.utime(path, ns=(1, 1))                  # a different mtime, even within the same clock tick
    assert apop.offered(config, no_password=False)
    assert not apop.offered(Config.from_text(f"configdirectory: {path.parent}\ntls_required: yes\n"),
                            no_password=False)


def test_apop_verify(passwd_config):
    config, path = passwd_config
    PasswdFile(str(path)).set_password("hashed", "pw", create=True, replace=False)
    with open(path, "a") as handle:
        handle.write("plain:{PLAIN}tanstaaf\nbare:tanstaaf\n")
    # RFC 1939 section 7's example
    timestamp = "<1896.697170952@dbc.mtview.ca.us>"
    digest = "c4c9334bac560ecc979e58001b3e22fb"
    assert hashlib.md5((timestamp + "tanstaaf").encode()).hexdigest() == digest
    apop.verify(config, timestamp, "plain", digest)
    apop.verify(config, timestamp, "bare", digest.upper())
    for user, given in (("plain", "0" * 32), ("nobody", digest), ("plain", "short"), ("hashed", digest)):
        with pytest.raises(apop.ApopFailed):
            apop.verify(config, timestamp, user, given)
    with pytest.raises(apop.ApopFailed, match=r"needs a \{PLAIN\} password entry"):
        apop.verify(config, timestamp, "hashed", digest)
    apop.verify(config, timestamp, "anyone", "0" * 32, no_password=True)


def test_apop_timestamps_are_unique_msg_ids():
    first, second = apop.make_timestamp("mail.example.org"), apop.make_timestamp("mail.example.org")
    assert first != second
    assert first.startswith(f"<{os.getpid()}.") and first.endswith("@mail.example.org>")
    assert apop.make_timestamp("bad host_name!").endswith("@badhostname>")


def test_allowapop_no_switches_apop_off(tmp_path):
    from pillarbox.auth.passwd import PasswdFile
    from pillarbox.config import Config
    from pop3d import apop
    (tmp_path / "passwd").write_text("alice:{PLAIN}secret\n")
    assert PasswdFile(str(tmp_path / "passwd")).lookup("alice")
    on = Config.from_text(f"configdirectory: {tmp_path}\n")
    off = Config.from_text(f"configdirectory: {tmp_path}\nallowapop: no\n")
    assert apop.offered(on, no_password=False) is True
    assert apop.offered(off, no_password=False) is False
