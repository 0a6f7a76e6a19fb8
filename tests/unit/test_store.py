"""The store's operations, one process, real files in a temporary partition."""

from __future__ import annotations

import os
import time

import pytest

from pillarbox.config import Config
from pillarbox.store import (DELETED, FLAGGED, INBOX, SEEN, InvalidMailboxName, MailboxExists,
                             MailboxNotEmptyOrSpecial, MailboxNotFound, MessageNotFound, QuotaExceeded, UserStore)
from pillarbox.store.index import INDEX_FILE

MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Hello there\r\n"
           b"Message-ID: <m1@example.org>\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\n\r\nBody text with zebra.\r\n")


def message(n: int, body: str = "") -> bytes:
    return (f"From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\n"
            f"body {n} {body}\r\n").encode()


@pytest.fixture
def store(config):
    with UserStore.open(config, "alice") as opened:
        yield opened


def folder(store, name="INBOX"):
    from pillarbox import mailboxname
    return store.folder_path(mailboxname.to_maildir(name))


def test_new_user_gets_a_maildir_with_inbox_and_index(store):
    assert {"tmp", "new", "cur", INDEX_FILE} <= set(os.listdir(store.root))
    (inbox,) = store.list_mailboxes()
    assert inbox.name == INBOX and inbox.uidnext == 1 and inbox.messages == 0


def test_append_round_trip_is_byte_exact_and_fsynced_into_cur(store):
    result = store.append(INBOX, MESSAGE, flags=[SEEN], internaldate=1_700_000_000)
    assert result.uid == 1
    assert store.read_message(INBOX, 1) == MESSAGE
    (record,) = store.messages(INBOX)
    assert record.flags == {SEEN} and record.internaldate == 1_700_000_000 and record.size == len(MESSAGE)
    (name,) = os.listdir(os.path.join(store.root, "cur"))
    assert name.endswith(":2,S") and f",S={len(MESSAGE)}," in name
    assert os.listdir(os.path.join(store.root, "tmp")) == []
    assert os.stat(os.path.join(store.root, "cur", name)).st_mtime == 1_700_000_000


def test_uids_ascend_and_counters_follow(store):
    uids = [store.append(INBOX, message(n)).uid for n in range(5)]
    assert uids == [1, 2, 3, 4, 5]
    info = store.info(INBOX)
    assert (info.messages, info.unseen, info.uidnext) == (5, 5, 6)


def test_envelope_and_body_are_cached_at_append(store):
    store.append(INBOX, MESSAGE)
    envelope, body = store.parsed(INBOX, 1)
    assert envelope[1] == "Hello there"
    assert body["type"] == "text" and body["subtype"] == "plain"
    (record,) = store.messages(INBOX)
    assert record.emailid.startswith("M") and record.threadid.startswith("T")


def test_store_flags_modes_modseq_and_unchangedsince(store):
    for n in range(3):
        store.append(INBOX, message(n))
    start = store.info(INBOX).highestmodseq
    changed, failed = store.store_flags(INBOX, [1, 2], "add", [SEEN, "$Label1"])
    assert [r.uid for r in changed] == [1, 2] and not failed
    assert all(r.modseq == start + 1 and r.flags == {SEEN, "$Label1"} for r in changed)
    changed, _ = store.store_flags(INBOX, [1], "remove", ["$Label1"])
    assert changed[0].flags == {SEEN}
    changed, _ = store.store_flags(INBOX, [3], "replace", [FLAGGED])
    assert changed[0].flags == {FLAGGED}
    unchanged, _ = store.store_flags(INBOX, [3], "add", [FLAGGED])
    assert unchanged == []                                  # no change, no new MODSEQ
    _, failed = store.store_flags(INBOX, [1, 2], "add", [DELETED], unchanged_since=start + 1)
    assert failed == [1]                                     # 1 changed after start+1
    assert store.info(INBOX).unseen == 1
    names = sorted(os.listdir(os.path.join(store.root, "cur")))
    assert any(n.endswith(":2,a") or n.endswith(":2,F") for n in names)
    assert "0 $Label1" in open(os.path.join(store.root, "dovecot-keywords")).read()


def test_changes_since_reports_updates_and_expunges(store):
    for n in range(4):
        store.append(INBOX, message(n))
    mark = store.info(INBOX).highestmodseq
    store.store_flags(INBOX, [2, 3], "add", [DELETED])
    store.store_flags(INBOX, [1], "add", [SEEN])
    expunged = store.expunge(INBOX, uids=[2])
    assert expunged == [2]
    changes = store.changes_since(INBOX, mark)
    assert [r.uid for r in changes.updated] == [1, 3] and changes.expunged == [2]
    assert store.expunge(INBOX) == [3]
    assert [r.uid for r in store.messages(INBOX)] == [1, 4]
    assert len(os.listdir(os.path.join(store.root, "cur"))) == 2


def test_create_list_rename_delete_with_children(store):
    store.create_mailbox("Archive/2024/Q1")
    names = [m.name for m in store.list_mailboxes()]
    assert names == ["Archive", "Archive/2024", "Archive/2024/Q1", INBOX]
    with pytest.raises(MailboxExists):
        store.create_mailbox("Archive")
    store.append("Archive/2024", message(1))
    uidvalidity = store.info("Archive/2024").uidvalidity
    store.subscribe("Archive/2024")
    store.rename_mailbox("Archive", "Old")
    names = [m.name for m in store.list_mailboxes()]
    assert names == [INBOX, "Old", "Old/2024", "Old/2024/Q1"]
    assert store.read_message("Old/2024", 1) == message(1)
    assert store.info("Old/2024").uidvalidity == uidvalidity
    assert store.subscriptions() == ["Old/2024"]
    store.delete_mailbox("Old/2024")
    assert "Old/2024" not in [m.name for m in store.list_mailboxes()]
    assert not any(d.startswith(".Old.2024") and not d.startswith(".Old.2024.") for d in os.listdir(store.root))
    with pytest.raises(MailboxNotFound):
        store.info("Old/2024")


def test_recreated_mailbox_gets_a_new_uidvalidity(store):
    first = store.create_mailbox("Box").uidvalidity
    store.delete_mailbox("Box")
    assert store.create_mailbox("Box").uidvalidity > first


def test_inbox_rules(store):
    with pytest.raises(MailboxNotEmptyOrSpecial):
        store.delete_mailbox("inbox")
    store.append(INBOX, message(1))
    store.append(INBOX, message(2))
    store.rename_mailbox(INBOX, "Saved")
    assert store.info(INBOX).messages == 0
    assert [r.uid for r in store.messages("Saved")] == [1, 2]
    assert store.read_message("Saved", 2) == message(2)


@pytest.mark.parametrize("bad", ["", "a//b", "../etc", "a/../b", "x\x00y", "bad\r\nname", "/abs", "a/", "*", "%"])
def test_hostile_names_touch_nothing(store, bad):
    before = sorted(os.listdir(store.root))
    with pytest.raises(InvalidMailboxName):
        store.create_mailbox(bad)
    assert sorted(os.listdir(store.root)) == before


def test_copy_and_move_keep_flags_and_report_uids(store):
    store.create_mailbox("Dest")
    for n in range(3):
        store.append(INBOX, message(n), flags=[FLAGGED] if n == 1 else [])
    uidvalidity, pairs = store.copy(INBOX, [2, 3], "Dest")
    assert pairs == [(2, 1), (3, 2)] and uidvalidity == store.info("Dest").uidvalidity
    assert store.messages("Dest")[0].flags == {FLAGGED}
    assert store.read_message("Dest", 1) == message(1)
    mark = store.info(INBOX).highestmodseq
    _, moved = store.move(INBOX, [1], "Dest")
    assert moved == [(1, 3)]
    assert [r.uid for r in store.messages(INBOX)] == [2, 3]
    assert store.changes_since(INBOX, mark).expunged == [1]
    assert store.read_message("Dest", 3) == message(0)
    with pytest.raises(MailboxNotFound):
        store.copy(INBOX, [2], "Nowhere")


def test_recent_is_claimed_once(store):
    store.append(INBOX, message(1))
    assert store.claim_recent(INBOX) == {1}
    assert store.claim_recent(INBOX) == set()
    store.append(INBOX, message(2))
    assert store.claim_recent(INBOX) == {2}


def test_quota_storage_and_messages(store):
    store.set_quota("MESSAGE", 2)
    store.append(INBOX, message(1))
    store.append(INBOX, message(2))
    with pytest.raises(QuotaExceeded) as error:
        store.append(INBOX, message(3))
    assert error.value.resource == "MESSAGE"
    store.set_quota("MESSAGE", None)
    store.set_quota("STORAGE", 1)
    with pytest.raises(QuotaExceeded, match="STORAGE"):
        store.append(INBOX, b"x" * 2000)
    assert store.quota()["MESSAGE"] == (2, None)
    assert store.info(INBOX).messages == 2


def test_search_text_is_substring_and_case_insensitive(store):
    store.append(INBOX, MESSAGE)
    store.append(INBOX, message(2, "nothing here"))
    assert store.search_text(INBOX, "ZEBRA", "body") == {1}
    assert store.search_text(INBOX, "hello THERE", "header") == {1}
    assert store.search_text(INBOX, "message 2", "text") == {2}
    assert store.search_text(INBOX, "50%_off", "text") == set()


def test_files_dropped_by_other_programs_are_adopted(store, tmp_path):
    store.append(INBOX, message(1))
    inbox = store.root
    dropped = os.path.join(inbox, "new", "1700000000.foreign.host")
    with open(dropped, "wb") as handle:
        handle.write(b"Subject: from procmail\nFrom: x@y\n\nbare LF body\n")
    os.utime(dropped, (1_700_000_000, 1_700_000_000))         # INTERNALDATE is the file's mtime
    store.create_mailbox("Other")
    records = store.messages(INBOX)
    assert [r.uid for r in records] == [1, 2]
    served = store.read_message(INBOX, 2)
    assert served == b"Subject: from procmail\r\nFrom: x@y\r\n\r\nbare LF body\r\n"
    assert records[1].size == len(served) and records[1].internaldate == 1_700_000_000
    assert os.listdir(os.path.join(inbox, "new")) == []            # moved to cur/
    assert store.search_text(INBOX, "bare lf", "body") == {2}


def test_flag_renames_and_deletions_behind_our_back(store):
    store.append(INBOX, message(1))
    store.append(INBOX, message(2))
    mark = store.info(INBOX).highestmodseq
    cur = os.path.join(store.root, "cur")
    # by UID: Maildir names need not sort in delivery order
    first, second = (os.path.basename(row[0]) for row in
                     store.db.execute("SELECT filename FROM messages ORDER BY uid"))
    time.sleep(0.06)
    base = first.split(":2,")[0]
    os.rename(os.path.join(cur, first), os.path.join(cur, base + ":2,FS"))
    os.unlink(os.path.join(cur, second))
    changes = store.changes_since(INBOX, mark)
    assert [(r.uid, r.flags) for r in changes.updated] == [(1, {SEEN, FLAGGED})]
    assert changes.expunged == [2]
    with pytest.raises(MessageNotFound):
        store.read_message(INBOX, 2)


def test_folders_created_and_removed_by_other_programs(store):
    os.makedirs(os.path.join(store.root, ".Courier.Sub", "cur"))
    os.makedirs(os.path.join(store.root, ".Courier.Sub", "new"))
    os.makedirs(os.path.join(store.root, ".Courier.Sub", "tmp"))
    assert "Courier/Sub" in [m.name for m in store.list_mailboxes()]
    import shutil
    shutil.rmtree(os.path.join(store.root, ".Courier.Sub"))
    assert "Courier/Sub" not in [m.name for m in store.list_mailboxes()]


def test_dovecot_keywords_of_foreign_maildirs_are_read(store):
    with open(os.path.join(store.root, "dovecot-keywords"), "w") as handle:
        handle.write("0 $Junk\n1 Work\n")
    with open(os.path.join(store.root, "cur", "1700000001.x.host:2,Sab"), "wb") as handle:
        handle.write(b"Subject: k\r\n\r\nx\r\n")
    (record,) = store.messages(INBOX)
    assert record.flags == {SEEN, "$Junk", "Work"}


def test_virtual_domains_map_to_per_domain_trees(tmp_path):
    config = Config.from_text(f"partition-default: {tmp_path}/spool\nvirtdomains: userid\n")
    with UserStore.open(config, "bob@Example.ORG") as bob:
        assert bob.root == f"{tmp_path}/spool/domain/example.org/user/bob"
    with UserStore.open(config, "carol") as carol:
        assert carol.root == f"{tmp_path}/spool/user/carol"


def test_watcher_wakes_on_a_change_by_another_store(config, store):
    store.append(INBOX, message(1))
    with store.watcher(INBOX) as watcher:
        assert watcher.uses_inotify
        assert watcher.wait(0.05) is False
        with UserStore.open(config, "alice") as other:
            other.store_flags(INBOX, [1], "add", [SEEN])
        started = time.monotonic()
        assert watcher.wait(2.0) is True
        assert time.monotonic() - started < 0.5


def test_polling_watcher_fallback(config, store, monkeypatch):
    monkeypatch.setenv("PILLARBOX_NO_INOTIFY", "1")
    store.append(INBOX, message(1))
    with store.watcher(INBOX) as watcher:
        assert not watcher.uses_inotify
        with UserStore.open(config, "alice") as other:
            other.append(INBOX, message(2))
        started = time.monotonic()
        assert watcher.wait(2.0) is True
        assert time.monotonic() - started < 0.5


def test_mail_and_index_are_private_whatever_the_umask(config):
    previous = os.umask(0o022)
    try:
        with UserStore.open(config, "private") as store:
            store.append(INBOX, MESSAGE, flags=["$Label"])
            paths = [store.root, os.path.join(store.root, INDEX_FILE),
                     os.path.join(store.root, "cur", os.listdir(os.path.join(store.root, "cur"))[0]),
                     os.path.join(store.root, "dovecot-keywords")]
            for path in paths:
                assert os.stat(path).st_mode & 0o077 == 0, path
    finally:
        os.umask(previous)


@pytest.mark.parametrize("flags, error", [(["\\Bogus"], "not a system flag"), (["two words"], "invalid keyword"),
                                          (["x)"], "invalid keyword"), (["caf\u00e9"], "invalid keyword")])
def test_unknown_system_flags_and_bad_keywords_are_refused(store, flags, error):
    from pillarbox.store import StoreError
    with pytest.raises(StoreError, match=error):
        store.append(INBOX, MESSAGE, flags=flags)
    store.append(INBOX, MESSAGE)
    with pytest.raises(StoreError, match=error):
        store.store_flags(INBOX, [1], "add", flags)
    assert store.info(INBOX).messages == 1


def test_system_flags_are_case_insensitive(store):
    store.append(INBOX, MESSAGE, flags=["\\seen", "\\FLAGGED"])
    assert store.messages(INBOX)[0].flags == {SEEN, FLAGGED}


def test_special_use_must_be_one_of_rfc_6154(store):
    from pillarbox.store import StoreError
    store.create_mailbox("Sent", special_use="\\Sent")
    assert store.info("Sent").special_use == "\\Sent"
    with pytest.raises(StoreError, match="not a special-use"):
        store.create_mailbox("Other", special_use="\\Bogus")


def test_search_folds_case_beyond_ascii(store):
    store.append(INBOX, "Subject: \u00c4rger im B\u00fcro\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                        "Stra\u00dfe und \u00c9T\u00c9\r\n".encode())
    assert store.search_text(INBOX, "\u00e4rger", "header") == {1}
    assert store.search_text(INBOX, "\u00e9t\u00e9", "body") == {1}
    assert store.search_text(INBOX, "STRASSE", "body") == {1}


def test_courier_keyword_files_are_read_at_first_sight(store):
    keywords = os.path.join(store.root, "courierimapkeywords")
    os.makedirs(keywords)
    with open(os.path.join(keywords, ":list"), "w") as handle:
        handle.write("$Work\nUrgent\nbad keyword\n\n1700000001.a.host:0 1\n1700000002.b.host:1 2\n")
    with open(os.path.join(keywords, ".3.1700000002.b.host"), "w") as handle:
        handle.write("$Later\n")
    for base in ("1700000001.a.host", "1700000002.b.host"):
        with open(os.path.join(store.root, "cur", base + ":2,S"), "wb") as handle:
            handle.write(b"Subject: courier\r\n\r\nx\r\n")
    first, second = store.messages(INBOX)
    assert first.flags == {SEEN, "$Work", "Urgent"}
    assert second.flags == {SEEN, "$Later"}            # the update file overrides :list


def test_a_prepared_message_is_parsed_once_for_many_mailboxes(config, monkeypatch):
    from pillarbox.store import prepare_message
    from pillarbox.store import userstore
    prepared = prepare_message(MESSAGE)
    calls = []
    monkeypatch.setattr(userstore, "_parse", lambda served: calls.append(served))
    for user in ("one", "two", "three"):
        with UserStore.open(config, user) as store:
            assert store.append(INBOX, prepared).uid == 1
            assert store.read_message(INBOX, 1) == MESSAGE
            assert store.parsed(INBOX, 1)[0][1] == "Hello there"
    assert calls == []


@pytest.mark.parametrize("data", [
    MESSAGE,
    b"Subject: lf only\nFrom: x@y\n\nbody\n",
    b"Subject: " + b"x" * 20000 + b"\r\n\r\nlong header line\r\n",
    b"Subject: no body at all\r\n",
])
def test_read_header_returns_exactly_the_header_block(store, data):
    uid = store.append(INBOX, data).uid
    served = store.read_message(INBOX, uid)
    end = served.find(b"\r\n\r\n")
    assert store.read_header(INBOX, uid) == (served if end < 0 else served[:end + 4])


def test_listing_a_mailbox_reads_only_the_covering_index(store):
    """SELECT's scan must not read the rows with their cached envelope and body structure."""
    from pillarbox.store.userstore import MESSAGE_COLUMNS
    plan = store.db.execute(f"EXPLAIN QUERY PLAN SELECT {MESSAGE_COLUMNS} FROM messages "
                            "WHERE mailbox = ? ORDER BY uid", (1,)).fetchall()
    assert "COVERING INDEX messages_view" in " ".join(str(tuple(row)) for row in plan)
