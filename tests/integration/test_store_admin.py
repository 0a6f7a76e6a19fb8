"""pillarbox mailbox/reconstruct/quota/deliver, run as the admin runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pillarbox.config import Config
from pillarbox.store import INBOX, SEEN, UserStore
from pillarbox.store.index import INDEX_FILE

BIN = Path(sys.executable).parent
MESSAGE = b"From: a@example.org\r\nSubject: admin test\r\n\r\nhello\r\n"


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "imapd.conf"
    path.write_text(f"configdirectory: {tmp_path}/config\npartition-default: {tmp_path}/spool\n")
    from pillarbox.auth.passwd import PasswdFile
    PasswdFile(str(tmp_path / "config" / "passwd")).set_password("alice", "pw", create=True, replace=False)
    return path


def admin(conf, *args, stdin: bytes = b""):
    result = subprocess.run([str(BIN / "pillarbox"), "-C", str(conf), *args], input=stdin,
                            capture_output=True, timeout=60)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def store_for(conf) -> UserStore:
    return UserStore.open(Config.load(str(conf)), "alice")


def test_deliver_and_mailbox_commands(conf):
    assert admin(conf, "deliver", "alice", stdin=MESSAGE)[0] == 0
    code, out, _ = admin(conf, "deliver", "alice", "INBOX", "--flag", "\\Seen", stdin=MESSAGE)
    assert code == 0 and "UID 2" in out
    assert admin(conf, "mailbox", "create", "alice", "Sent", "--special-use", "\\Sent")[0] == 0
    assert admin(conf, "mailbox", "create", "alice", "Projects/2026")[0] == 0
    code, _, err = admin(conf, "mailbox", "create", "alice", "Sent")
    assert code == 1 and "already exists" in err
    code, _, err = admin(conf, "mailbox", "create", "alice", "../escape")
    assert code == 1 and "'..'" in err
    assert admin(conf, "mailbox", "rename", "alice", "Projects", "Work")[0] == 0
    code, out, _ = admin(conf, "mailbox", "list", "alice")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["INBOX", "Sent", "Work", "Work/2026"]
    assert "\\Sent" in next(line for line in lines if line.startswith("Sent"))
    inbox = next(line for line in lines if line.startswith("INBOX")).split()
    assert inbox[1:3] == ["2", "1"]                        # 2 messages, 1 unseen
    assert admin(conf, "mailbox", "delete", "alice", "Work/2026")[0] == 0
    code, _, err = admin(conf, "mailbox", "delete", "alice", "INBOX")
    assert code == 1 and "INBOX" in err
    code, _, err = admin(conf, "deliver", "alice", "Nowhere", stdin=MESSAGE)
    assert code == 1 and "does not exist" in err


def test_quota_commands_and_enforcement(conf):
    admin(conf, "deliver", "alice", stdin=MESSAGE)
    code, out, _ = admin(conf, "quota", "set", "alice", "--messages", "1", "--storage", "100")
    assert code == 0 and "MESSAGE  1 of 1" in out and "STORAGE  1 KiB of 100 KiB" in out
    code, _, err = admin(conf, "deliver", "alice", stdin=MESSAGE)
    assert code == 1 and "over quota" in err
    assert admin(conf, "quota", "set", "alice", "--messages", "none")[0] == 0
    assert "MESSAGE  1 of unlimited" in admin(conf, "quota", "get", "alice")[1]
    code, _, err = admin(conf, "quota", "get", "nobody-here")
    assert code == 1 and "no such user 'nobody-here'" in err


def test_reconstruct_keeps_known_uids_and_adopts_the_rest(conf):
    for _ in range(3):
        admin(conf, "deliver", "alice", stdin=MESSAGE)
    with store_for(conf) as store:
        root = store.root
        uidvalidity = store.info(INBOX).uidvalidity
        store.store_flags(INBOX, [2], "add", [SEEN])
        (first,) = store.db.execute("SELECT filename FROM messages WHERE uid = 1").fetchone()
    os.unlink(os.path.join(root, first))                                 # UID 1 lost behind our back
    with open(os.path.join(root, "new", "1700000000.dropped.host"), "wb") as handle:
        handle.write(MESSAGE)
    code, out, _ = admin(conf, "reconstruct", "alice")
    assert code == 0 and "INBOX: 3 -> 3 messages" in out
    with store_for(conf) as store:
        records = store.messages(INBOX)
        assert [r.uid for r in records] == [2, 3, 4]
        assert records[0].flags == {SEEN}
        assert store.info(INBOX).uidvalidity == uidvalidity


def test_reconstruct_replaces_a_corrupt_index(conf):
    for _ in range(2):
        admin(conf, "deliver", "alice", stdin=MESSAGE)
    with store_for(conf) as store:
        root = store.root
        old_uidvalidity = store.info(INBOX).uidvalidity
    for suffix in ("-wal", "-shm"):
        if os.path.exists(os.path.join(root, INDEX_FILE + suffix)):
            os.unlink(os.path.join(root, INDEX_FILE + suffix))
    with open(os.path.join(root, INDEX_FILE), "wb") as handle:
        handle.write(b"this is not a database" * 100)
    code, out, _ = admin(conf, "reconstruct", "alice")
    assert code == 0 and "index unreadable" in out and "INBOX: 0 -> 2 messages" in out
    with store_for(conf) as store:
        assert [r.uid for r in store.messages(INBOX)] == [1, 2]
        assert store.info(INBOX).uidvalidity > old_uidvalidity
        assert store.read_message(INBOX, 1) == MESSAGE


def test_user_delete_purge_removes_the_store(conf, tmp_path):
    admin(conf, "deliver", "alice", stdin=MESSAGE)
    root = tmp_path / "spool" / "user" / "alice"
    assert root.is_dir()
    assert admin(conf, "user", "delete", "alice", "--purge")[0] == 0
    assert not root.exists()


def test_store_commands_refuse_unknown_users_and_leave_no_store(conf, tmp_path):
    code, _, err = admin(conf, "deliver", "typo", stdin=MESSAGE)
    assert code == 1 and "no such user 'typo'" in err
    code, _, err = admin(conf, "reconstruct", "typo")
    assert code == 1 and "no mail store" in err
    assert not (tmp_path / "spool" / "user" / "typo").exists()


def test_quota_set_is_all_or_nothing(conf):
    admin(conf, "deliver", "alice", stdin=MESSAGE)
    admin(conf, "quota", "set", "alice", "--storage", "100")
    code, _, err = admin(conf, "quota", "set", "alice", "--storage", "none", "--messages", "lots")
    assert code == 1 and "'lots'" in err
    assert "STORAGE  1 KiB of 100 KiB" in admin(conf, "quota", "get", "alice")[1]


def test_a_broken_index_gives_advice_not_a_traceback(conf):
    admin(conf, "deliver", "alice", stdin=MESSAGE)
    with store_for(conf) as store:
        root = store.root
    for suffix in ("-wal", "-shm"):
        if os.path.exists(os.path.join(root, INDEX_FILE + suffix)):
            os.unlink(os.path.join(root, INDEX_FILE + suffix))
    Path(root, INDEX_FILE).write_bytes(b"garbage" * 1000)
    code, _, err = admin(conf, "mailbox", "list", "alice")
    assert code == 1 and "pillarbox reconstruct" in err and "Traceback" not in err
