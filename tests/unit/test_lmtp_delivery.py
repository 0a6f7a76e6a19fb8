"""lmtpd's policy on a real store: recipients, plus addressing, quota, duplicates, the stored bytes."""

from __future__ import annotations

import os
import time

import pytest

from lmtpd import duplicate
from lmtpd.data import ReceivedMessage
from lmtpd.delivery import Origin, trace_fields
from lmtpd.folders import choose_folder, set_allowed_folders
from lmtpd.machine import Accepted, Envelope
from lmtpd.policy import StorePolicy
from lmtpd.protocol import Address, Path, parse_rcpt_to
from lmtpd.prune import main as prune_main, user_ids
from lmtpd.recipients import RecipientResolver, Target, UnknownRecipient
from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.store import INBOX, UserStore

MESSAGE = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n"
           b"Date: Sat, 21 Nov 2026 07:00:00 +0000\r\n\r\nbody line\r\n.dot line\r\n")


@pytest.fixture
def config(tmp_path):
    text = (f"configdirectory: {tmp_path / 'config'}\npartition-default: {tmp_path / 'spool'}\n"
            "servername: store.test\nfailedloginpause: 0\n")

    def make(extra: str = "") -> Config:
        path = tmp_path / "imapd.conf"
        path.write_text(text + extra)
        return Config.load(str(path), service="lmtp")

    (tmp_path / "config").mkdir()
    users = PasswdFile(str(tmp_path / "config" / "passwd"))
    for user in ("alice", "bob", "admin", "carol@example.com", "odd+name"):
        users.set_password(user, "pw", create=True, replace=False)
    return make


def rcpt(text: str) -> Address:
    return parse_rcpt_to(f"TO:<{text}>".encode()).address


def resolve(config: Config, text: str) -> list[Target]:
    return RecipientResolver(config).resolve(rcpt(text))


# ---------------------------------------------------------------- recipients

def test_plain_users_domains_ignored_without_virtdomains(config):
    conf = config()
    assert resolve(conf, "alice") == [Target("alice")]
    assert resolve(conf, "alice@anything.example") == [Target("alice")]
    assert resolve(conf, "ALICE@x.example") == [Target("alice")]          # lmtp_downcase_rcpt
    with pytest.raises(UnknownRecipient):
        resolve(config("lmtp_downcase_rcpt: no\n"), "ALICE")
    with pytest.raises(UnknownRecipient):
        resolve(conf, "nobody@x.example")


def test_plus_detail_keeps_its_case(config):
    assert resolve(config(), "Bob+Lists/Python@x.example") == [Target("bob", "Lists/Python")]
    assert resolve(config(), "bob+@x.example") == [Target("bob")]
    assert resolve(config(), "odd+name@x.example") == [Target("odd+name")]   # a user name with "+"


def test_virtual_domains(config):
    conf = config("virtdomains: userid\ndefaultdomain: main.example\n")
    assert resolve(conf, "carol@Example.COM") == [Target("carol@example.com")]
    assert resolve(conf, "alice@main.example") == [Target("alice")]
    assert resolve(conf, "alice") == [Target("alice")]
    with pytest.raises(UnknownRecipient):
        resolve(conf, "alice@example.com")
    with pytest.raises(UnknownRecipient):
        resolve(config("virtdomains: off\n"), "carol@example.com")


def test_postmaster_alias(config):
    assert resolve(config("admins: admin bob\n"), "PostMaster") == [Target("admin"), Target("bob")]
    assert resolve(config("admins: admin\npostmaster: alice\n"), "postmaster@x.example") == [Target("alice")]
    with pytest.raises(UnknownRecipient):
        resolve(config(), "postmaster")


def test_catchall(config):
    assert resolve(config("lmtp_catchall_mailbox: bob\n"), "nobody") == [Target("bob")]


# ---------------------------------------------------------------- plus addressing folders

@pytest.fixture
def bob_store(config):
    conf = config()
    store = UserStore.open(conf, "bob")
    store.create_mailbox("Lists/Python")
    store.create_mailbox("Work")
    store.create_mailbox("Sent", special_use="\\Sent")
    yield conf, store
    store.close()


def test_plus_folder_exact_missing_and_special_use(bob_store):
    conf, store = bob_store
    assert choose_folder(conf, store, "Lists/Python") == "Lists/Python"
    assert choose_folder(conf, store, "Work") == "Work"
    assert choose_folder(conf, store, "work") == INBOX                # exact unless fuzzy
    assert choose_folder(conf, store, "Nope") == INBOX
    assert choose_folder(conf, store, "Sent") == INBOX                # special-use: never
    assert choose_folder(conf, store, "INBOX") == INBOX
    assert choose_folder(conf, store, None) == INBOX
    assert choose_folder(conf, store, "bad//name") == INBOX


def test_plus_folder_with_dot_separator(config):
    conf = config("unixhierarchysep: no\n")
    with UserStore.open(conf, "bob") as store:
        store.create_mailbox("Lists/Python")
        assert choose_folder(conf, store, "Lists.Python") == "Lists/Python"


def test_fuzzy_mailbox_match(bob_store, config):
    _, store = bob_store
    fuzzy = config("lmtp_fuzzy_mailbox_match: yes\n")
    assert choose_folder(fuzzy, store, "work") == "Work"
    assert choose_folder(fuzzy, store, "lists/py thon") == "Lists/Python"
    assert choose_folder(fuzzy, store, "LISTS/PYTHON") == "Lists/Python"
    assert choose_folder(fuzzy, store, "Lists/Python/Old") == "Lists/Python"     # falls back to the parent
    assert choose_folder(fuzzy, store, "wo rk") == "Work"                          # whitespace ignored


def test_the_user_limits_plus_delivery(bob_store):
    conf, store = bob_store
    set_allowed_folders(store, {"Work"})
    assert choose_folder(conf, store, "Work") == "Work"
    assert choose_folder(conf, store, "Lists/Python") == INBOX
    set_allowed_folders(store, set())
    assert choose_folder(conf, store, "Work") == INBOX
    set_allowed_folders(store, None)
    assert choose_folder(conf, store, "Lists/Python") == "Lists/Python"


# ---------------------------------------------------------------- delivery

ORIGIN = Origin("store.test", "192.0.2.7", "42-1-1")


def envelope(*recipients: str, sender: str = "s@example.org", tls=False, auth=None) -> Envelope:
    env = Envelope(Path(Address(*sender.split("@")) if sender else None), None, None, "mta.example", tls, auth)
    return env


def run(policy: StorePolicy, env: Envelope, recipients: list[str], data: bytes = MESSAGE):
    for text in recipients:
        path = parse_rcpt_to(f"TO:<{text}>".encode())
        reply, target = policy.handle_rcpt(env, path)
        if reply.positive:
            env.recipients.append(Accepted(path, target))
    return [str(r) for r in policy.handle_data(env, ReceivedMessage(data, len(data)))]


def messages(conf: Config, user: str, folder: str = INBOX) -> list[bytes]:
    with UserStore.open(conf, user) as store:
        return [store.read_message(folder, m.uid) for m in store.messages(folder)]


def test_stored_bytes_are_trace_fields_plus_the_message(config):
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    replies = run(policy, envelope(), ["alice@x.example"])
    policy.close()
    assert replies == ["250 2.0.0 <alice@x.example> Ok, delivered"]
    (stored,) = messages(conf, "alice")
    head, _, rest = stored.partition(b"\r\nSubject")
    assert stored.endswith(MESSAGE) and stored.startswith(b"Return-Path: <s@example.org>\r\nReceived: from mta.example ([192.0.2.7])\r\n\tby store.test (pillarbox lmtpd) with LMTP\r\n\tid 42-1-1.1\r\n\tfor <alice@x.example>; ")


def test_received_names_tls_and_auth_and_the_null_sender():
    env = envelope(sender="", tls=True, auth="admin")
    env.recipients = [Accepted(Path(Address("a", "x")), None), Accepted(Path(Address("b", "x")), None)]
    fields = trace_fields(env, Origin("store.test", "unix", "1"), when=0).decode()
    assert fields.startswith("Return-Path: <>\r\nReceived: from mta.example (UNIX socket)\r\n")
    assert "with LMTPSA\r\n\tid 1; Thu, 01 Jan 1970" in fields and "for <" not in fields


def test_same_user_and_folder_twice_gets_one_copy(config):
    conf = config("admins: alice\n")
    policy = StorePolicy(conf, ORIGIN)
    replies = run(policy, envelope(), ["alice", "ALICE@x", "postmaster"], data=b"Subject: no id\r\n\r\nx\r\n")
    policy.close()
    assert [r[:3] for r in replies] == ["250"] * 3
    assert len(messages(conf, "alice")) == 1


def test_plus_delivery_into_the_folder(config):
    conf = config()
    with UserStore.open(conf, "bob") as store:
        store.create_mailbox("Work")
    policy = StorePolicy(conf, ORIGIN)
    run(policy, envelope(), ["bob+Work@x", "bob+Nothing@x"])
    policy.close()
    assert len(messages(conf, "bob", "Work")) == 1 and len(messages(conf, "bob")) == 1


def test_duplicates_are_suppressed_per_folder_and_date(config):
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    assert run(policy, envelope(), ["alice"])[0].startswith("250 2.0.0")
    again = run(policy, envelope(), ["alice"])
    assert "duplicate suppressed" in again[0] and again[0].startswith("250 2.0.0")
    other_date = MESSAGE.replace(b"07:00:00", b"08:00:00")
    run(policy, envelope(), ["alice"], data=other_date)
    policy.close()
    assert len(messages(conf, "alice")) == 2
    off = StorePolicy(config("duplicatesuppression: no\n"), ORIGIN)
    run(off, envelope(), ["alice"])
    off.close()
    assert len(messages(conf, "alice")) == 3


def test_a_crash_between_rename_and_commit_is_recognised_on_retry(config, monkeypatch):
    """The store's file is in cur/ but its row and the final record never committed (a kill
    at that instant): the folder adopts the file, and the MTA's retry must not add a second copy."""
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    real_record = duplicate.record

    def crash(store, dup_key, when=None):
        raise OSError(5, "simulated crash before COMMIT")

    monkeypatch.setattr(duplicate, "record", crash)
    assert run(policy, envelope(), ["alice"])[0].startswith("451 4.3.0")
    monkeypatch.setattr(duplicate, "record", real_record)
    policy.close()
    assert len(messages(conf, "alice")) == 1                 # adopted: the store never drops a complete file
    retry = StorePolicy(conf, Origin("store.test", "192.0.2.7", "43-1-1"))
    again = run(retry, envelope(), ["alice"])
    assert "duplicate suppressed" in again[0]
    assert len(messages(conf, "alice")) == 1
    with UserStore.open(conf, "alice") as store:
        assert duplicate.delivered(store, duplicate.key(duplicate.identity(MESSAGE), INBOX))
    other = run(retry, envelope(), ["bob"])                    # bob never had it
    retry.close()
    assert other[0].endswith("Ok, delivered") and len(messages(conf, "bob")) == 1


def test_a_crash_before_the_rename_delivers_on_retry(config, monkeypatch):
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    store = policy.stores.get("alice")

    def crash(*args, **kwargs):
        raise OSError(5, "simulated crash before the rename")

    monkeypatch.setattr(store, "append", crash)
    assert run(policy, envelope(), ["alice"])[0].startswith("451")
    policy.close()
    retry = StorePolicy(conf, ORIGIN)
    assert run(retry, envelope(), ["alice"])[0].endswith("Ok, delivered")
    retry.close()
    assert len(messages(conf, "alice")) == 1


def test_duplicate_identity():
    assert duplicate.identity(MESSAGE) == ("<m1@example.org>", "Sat, 21 Nov 2026 07:00:00 +0000")
    assert duplicate.identity(b"Message-ID:\r\n <folded@x>\r\n\r\n") == ("<folded@x>", "")
    assert duplicate.identity(b"Subject: none\r\n\r\nMessage-ID: <in-body@x>\r\n") is None


def test_quota_at_rcpt_and_at_data(config):
    conf = config()
    with UserStore.open(conf, "alice") as store:
        store.set_quota("STORAGE", 1)
    policy = StorePolicy(conf, ORIGIN)
    env = envelope()
    big = b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n"
    replies = run(policy, env, ["alice"], data=big)
    assert replies == ["452 4.2.2 <alice>: mailbox is full (over quota), try again later"]
    perm = StorePolicy(config("lmtp_over_quota_perm_failure: yes\n"), ORIGIN)
    assert run(perm, envelope(), ["alice"], data=big)[0].startswith("552 5.2.2")
    small = b"Subject: small\r\n\r\nx\r\n"
    assert run(policy, envelope(), ["alice"], data=small)[0].startswith("250")
    # now at the limit: refused at RCPT already
    reply, _ = policy.handle_rcpt(envelope(), parse_rcpt_to(b"TO:<alice>"))
    assert str(reply).startswith("452 4.2.2")
    policy.close()
    perm.close()


def test_strict_quota_checks_the_declared_size_at_rcpt(config):
    conf = config("lmtp_strict_quota: yes\n")
    with UserStore.open(conf, "alice") as store:
        store.set_quota("STORAGE", 10)
    policy = StorePolicy(conf, ORIGIN)
    env = envelope()
    env.size = 50_000
    reply, _ = policy.handle_rcpt(env, parse_rcpt_to(b"TO:<alice>"))
    assert str(reply).startswith("452 4.2.2")
    env.size = 1000
    reply, _ = policy.handle_rcpt(env, parse_rcpt_to(b"TO:<alice>"))
    assert reply.positive
    policy.close()


def test_store_failure_is_a_temporary_error(config, monkeypatch):
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    env = envelope()
    path = parse_rcpt_to(b"TO:<alice>")
    reply, target = policy.handle_rcpt(env, path)
    env.recipients.append(Accepted(path, target))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(policy.stores.get("alice"), "append", disk_full)
    replies = policy.handle_data(env, ReceivedMessage(MESSAGE, len(MESSAGE)))
    assert str(replies[0]).startswith("451 4.3.0")
    policy.close()
    assert messages(conf, "alice") == []
    with UserStore.open(conf, "alice") as store:
        assert not duplicate.delivered(store, duplicate.key(duplicate.identity(MESSAGE), INBOX))


@pytest.fixture
def keep_umask():
    """The command-line entry points set umask 077 as the daemons do; give the test process its own back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def test_prune_removes_old_records_only(config, tmp_path, keep_umask):
    conf = config()
    policy = StorePolicy(conf, ORIGIN)
    run(policy, envelope(), ["alice", "bob"])
    policy.close()
    with UserStore.open(conf, "alice") as store:
        with store.index.write():
            duplicate.record(store, duplicate.PREFIX + "old", when=time.time() - 10 * 86400)
        assert duplicate.count(store) == 2
    assert sorted(user_ids(conf)) == ["alice", "bob"]
    assert prune_main(["-C", str(tmp_path / "imapd.conf"), "--quiet"]) == 0
    with UserStore.open(conf, "alice") as store:
        assert duplicate.count(store) == 1
    assert prune_main(["-C", str(tmp_path / "imapd.conf"), "--days", "0", "--quiet"]) == 0
    with UserStore.open(conf, "bob") as store:
        assert duplicate.count(store) == 0
