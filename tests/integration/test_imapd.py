"""imapd end to end: a real master, real imapd workers, Python's imaplib and imapclient."""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
import subprocess
import time

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.devsetup import write_self_signed_certificate
from tests.integration.conftest import BIN, command, connect, free_port, read_line, scram_client, wait_for

MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Quarterly report\r\n"
           b"Message-ID: <q1@example.org>\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe numbers look excellent this quarter.\r\n")


def other(n: int) -> bytes:
    return f"From: c@example.org\r\nSubject: note {n}\r\n\r\nnote body {n}\r\n".encode()


@pytest.fixture
def imap_server(master):
    tls = master.root / "tls"
    write_self_signed_certificate(str(tls / "cert.pem"), str(tls / "key.pem"))
    master.add_imapd_conf(f"partition-default: {master.root / 'spool'}\n"
                          f"tls_server_cert: {tls / 'cert.pem'}\ntls_server_key: {tls / 'key.pem'}\n"
                          "failedloginpause: 0\nadmins: admin\n")
    users = PasswdFile(str(master.configdir / "passwd"))
    for user in ("demo", "admin", "other"):
        users.set_password(user, user, create=True, replace=False)
    master.port = free_port()
    master.write_services(f'imap cmd="imapd -U 50" listen=127.0.0.1:{master.port} prefork=2')
    master.start()
    return master


def login(server, user="demo") -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.port)
    client.login(user, user)
    return client


def ok(result):
    status, data = result
    assert status == "OK", data
    return data


def test_capabilities_after_login(imap_server):
    client = login(imap_server)
    caps = set(ok(client.capability())[0].decode().upper().split())
    assert {"IMAP4REV1", "IMAP4REV2", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "ESEARCH", "LIST-STATUS",
            "SPECIAL-USE", "NAMESPACE", "UNSELECT", "LITERAL+", "MULTIAPPEND"} <= caps
    assert not any(c.startswith("AUTH=") for c in caps) and "STARTTLS" not in caps
    client.logout()


def test_append_fetch_round_trip_is_byte_identical(imap_server):
    client = login(imap_server)
    code = ok(client.append("INBOX", "(\\Seen $Label)", imaplib.Time2Internaldate(1_700_000_000), MESSAGE))
    assert re.search(rb"\[APPENDUID \d+ 1\]", code[0])
    data = ok(client.select("INBOX"))
    assert data == [b"1"]
    fetched = ok(client.fetch("1", "(RFC822.SIZE FLAGS INTERNALDATE UID BODY.PEEK[])"))
    header, body = fetched[0]
    assert body == MESSAGE
    assert f"RFC822.SIZE {len(MESSAGE)}".encode() in header and b"UID 1" in header
    assert b"\\Seen" in header and b"$Label" in header and b"14-Nov-2023 22:13:20 +0000" in header
    client.logout()


def test_select_reports_the_mailbox(imap_server):
    client = login(imap_server)
    client.append("INBOX", None, None, MESSAGE)
    typ, data = client.select("INBOX")
    assert client.untagged_responses["EXISTS"] == [b"1"]
    assert "UIDVALIDITY" in client.untagged_responses and client.untagged_responses["UIDNEXT"] == [b"2"]
    assert any(b"\\*" in p for p in client.untagged_responses["PERMANENTFLAGS"])
    assert client.untagged_responses["READ-WRITE"] == [b""]
    client.logout()


def test_store_search_copy_move_expunge(imap_server):
    client = login(imap_server)
    client.append("INBOX", None, None, MESSAGE)
    for n in range(3):
        client.append("INBOX", None, None, other(n))
    client.select("INBOX")
    assert ok(client.store("1:2", "+FLAGS", "(\\Flagged)"))
    assert ok(client.search(None, "FLAGGED")) == [b"1 2"]
    assert ok(client.search(None, "UNSEEN")) == [b"1 2 3 4"]
    assert ok(client.search(None, "SUBJECT", "quarterly")) == [b"1"]
    assert ok(client.search(None, "BODY", "EXCELLENT")) == [b"1"]
    assert ok(client.search(None, "OR", "SUBJECT", '"note 1"', "SUBJECT", '"note 2"')) == [b"3 4"]
    assert ok(client.uid("SEARCH", "NOT", "FLAGGED")) == [b"3 4"]
    ok(client.create("Archive"))
    typ, data = client.copy("1", "Archive")
    assert typ == "OK" and re.search(rb"\[COPYUID \d+ 1 1\]", data[0])
    typ, data = client.uid("MOVE", "2", "Archive")
    assert typ == "OK"
    assert client.untagged_responses.get("EXPUNGE") == [b"2"]
    client.store("1", "+FLAGS", "(\\Deleted)")
    client.untagged_responses.clear()
    assert ok(client.expunge()) == [b"1"]
    assert ok(client.search(None, "ALL")) == [b"1 2"]
    assert ok(client.status("Archive", "(MESSAGES UIDNEXT UNSEEN)")) == [b'"Archive" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)']
    client.logout()


def test_esearch_and_searchres(imap_server):
    client = login(imap_server)
    for n in range(5):
        client.append("INBOX", None, None, other(n))
    client.select("INBOX")
    typ, data = client.uid("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
    assert typ == "OK"
    assert client.untagged_responses["ESEARCH"][-1].endswith(b"UID MIN 1 MAX 5 COUNT 5")
    typ, _ = client.search(None, "RETURN", "(SAVE)", "SUBJECT", '"note 3"')
    assert typ == "OK"
    assert b"SUBJECT" not in b"".join(ok(client.fetch("$", "(UID)")))
    assert ok(client.fetch("$", "(UID)")) == [b"4 (UID 4)"]
    client.logout()


def test_conditional_store_and_changedsince(imap_server):
    client = login(imap_server)
    client.append("INBOX", None, None, other(1))
    client.append("INBOX", None, None, other(2))
    ok(client._simple_command("ENABLE", "CONDSTORE"))
    client.select("INBOX")
    data = ok(client.fetch("1:2", "(MODSEQ)"))
    modseq = max(int(re.search(rb"MODSEQ \((\d+)\)", line).group(1)) for line in data)
    client.store("1", "+FLAGS", "(\\Seen)")
    typ, data = client._simple_command("STORE", "1:2", f"(UNCHANGEDSINCE {modseq})", "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and data[0].startswith(b"[MODIFIED 1]")
    client.untagged_responses.clear()
    changed = ok(client.fetch("1:2", f"(FLAGS) (CHANGEDSINCE {modseq})"))
    assert len([d for d in changed if d]) == 2
    client.logout()


def test_mailbox_management_and_list(imap_server):
    client = login(imap_server)
    ok(client.create("Projects/2026"))
    ok(client._simple_command("CREATE", "Sent", "(USE (\\Sent))"))
    typ, data = client.create("Projects")
    assert typ == "NO" and b"[ALREADYEXISTS]" in data[0]
    listing = b"\n".join(ok(client.list()))
    assert b'(\\HasChildren) "/" "Projects"' in listing
    assert b'(\\HasNoChildren) "/" "Projects/2026"' in listing
    assert b'(\\HasNoChildren \\Sent) "/" "Sent"' in listing and b'"/" "INBOX"' in listing
    ok(client.subscribe("Projects/2026"))
    assert ok(client.lsub('""', "*")) == [b'() "/" "Projects/2026"']
    ok(client.rename("Projects", "Work"))
    names = b"\n".join(ok(client.list('""', "*")))
    assert b"Work/2026" in names and b"Projects" not in names
    ok(client.delete("Work/2026"))
    typ, _ = client.delete("INBOX")
    assert typ == "NO"
    typ, data = client.select("Nowhere")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    namespace = ok(client.namespace())
    assert namespace == [b'(("" "/")) NIL NIL']
    client.logout()


def test_changes_reach_the_other_session(imap_server):
    first, second = login(imap_server), login(imap_server)
    first.append("INBOX", None, None, other(1))
    first.select("INBOX")
    second.select("INBOX")
    second.append("INBOX", None, None, other(2))
    second.store("1", "+FLAGS", "(\\Flagged)")
    first.untagged_responses.clear()
    typ, _ = first.noop()
    assert first.untagged_responses.get("EXISTS") == [b"2"]
    assert any(b"\\Flagged" in line for line in first.untagged_responses.get("FETCH", []))
    second.store("1", "+FLAGS", "(\\Deleted)")
    second.expunge()
    first.untagged_responses.clear()
    first.noop()
    assert first.untagged_responses.get("EXPUNGE") == [b"1"]
    assert ok(first.fetch("1", "(UID)")) == [b"1 (UID 2)"]
    first.logout(), second.logout()


def test_recent_is_seen_by_exactly_one_session(imap_server):
    writer = login(imap_server, "demo")
    writer.append("INBOX", None, None, other(1))
    first, second = login(imap_server), login(imap_server)
    first.select("INBOX")
    second.select("INBOX")
    recent = [first.untagged_responses["RECENT"], second.untagged_responses["RECENT"]]
    assert sorted(recent) == [[b"0"], [b"1"]]
    for client in (writer, first, second):
        client.logout()


def raw_session(server):
    sock = connect(server.port)
    read_line(sock)
    return sock


def test_idle_hears_a_new_message_within_a_second(imap_server):
    watcher = raw_session(imap_server)
    command(watcher, b"a LOGIN demo demo")
    command(watcher, b"b SELECT INBOX")
    watcher.sendall(b"c IDLE\r\n")
    assert read_line(watcher).startswith("+ ")
    started = time.monotonic()
    sender = login(imap_server)
    sender.append("INBOX", None, None, other(1))
    watcher.settimeout(2)
    line = read_line(watcher)
    assert line == "* 1 EXISTS\r\n" and time.monotonic() - started < 1.5
    watcher.sendall(b"DONE\r\n")
    rest = [read_line(watcher) for _ in range(2)]
    assert any(r.startswith("c OK") for r in rest)
    sender.logout()


def test_idle_hears_a_local_delivery(imap_server):
    watcher = raw_session(imap_server)
    command(watcher, b"a LOGIN demo demo")
    command(watcher, b"b SELECT INBOX")
    watcher.sendall(b"c IDLE\r\n")
    read_line(watcher)
    started = time.monotonic()
    subprocess.run([str(BIN / "pillarbox"), "-C", str(imap_server.imapd_conf), "deliver", "demo"], input=other(9),
                   check=True, capture_output=True, timeout=30)
    watcher.settimeout(3)
    assert read_line(watcher) == "* 1 EXISTS\r\n"
    assert time.monotonic() - started < 2.5           # includes starting the pillarbox command
    watcher.sendall(b"DONE\r\n")


def test_authenticate_plain_with_initial_response_and_scram(imap_server):
    sock = raw_session(imap_server)
    initial = base64.b64encode(b"\0demo\0demo").decode()
    assert command(sock, f"a AUTHENTICATE PLAIN {initial}".encode())[-1].startswith("a OK")
    sock.close()
    sock = raw_session(imap_server)
    steps = scram_client("demo", "demo")
    first = next(steps)
    sock.sendall(b"b AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(first) + b"\r\n")
    challenge = read_line(sock)
    assert challenge.startswith("+ ")
    next(steps)
    final = steps.send(base64.b64decode(challenge[2:].strip()))
    sock.sendall(base64.b64encode(final) + b"\r\n")
    verifier = read_line(sock)
    assert verifier.startswith("+ ") and base64.b64decode(verifier[2:].strip()).startswith(b"v=")
    sock.sendall(b"\r\n")
    assert read_line(sock).startswith("b OK")
    sock.close()


def test_admin_acts_for_another_user_but_users_cannot(imap_server):
    sock = raw_session(imap_server)
    as_demo = base64.b64encode(b"demo\0admin\0admin").decode()
    reply = command(sock, f"a AUTHENTICATE PLAIN {as_demo}".encode())[-1]
    assert reply.startswith("a OK") and reply.endswith("demo authenticated\r\n")
    sock.close()
    sock = raw_session(imap_server)
    as_admin = base64.b64encode(b"admin\0other\0other").decode()
    assert "AUTHENTICATIONFAILED" in command(sock, f"a AUTHENTICATE PLAIN {as_admin}".encode())[-1]


def test_wrong_password_and_too_many_failures(imap_server):
    sock = raw_session(imap_server)
    for attempt in range(2):
        assert "[AUTHENTICATIONFAILED]" in command(sock, b"a LOGIN demo wrong")[-1]
    lines = command(sock, b"b LOGIN demo wrong")
    assert any(line.startswith("* BYE") for line in lines)


def test_starttls_then_login(imap_server):
    client = imaplib.IMAP4("127.0.0.1", imap_server.port)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    client.starttls(ssl_context=context)
    client.login("demo", "demo")
    client.logout()


@pytest.mark.parametrize("line, expected", [
    (b"a FROB", "a BAD"),
    (b"a SELECT", "a BAD"),
    (b"a FETCH 1 (FLAGS)", "a BAD"),                     # not selected
    (b"a CREATE \"../../etc\"", "a NO"),
    (b"a CREATE \"bad&Zm9v\"", "a NO"),                  # unterminated modified UTF-7
    (b"a CREATE \"a//b\"", "a NO"),
    (b"a LOGIN x", "a BAD"),
    (b"(", "* BAD"),
])
def test_bad_input_gets_a_clear_error(imap_server, line, expected):
    sock = raw_session(imap_server)
    if not line.startswith(b"a LOGIN"):
        command(sock, b"t LOGIN demo demo")
    sock.sendall(line + b"\r\n")
    reply = read_line(sock)
    assert reply.startswith(expected), reply
    assert command(sock, b"z NOOP")[-1].startswith("z OK")


def test_append_over_the_limit_is_refused_before_the_literal(imap_server):
    imap_server.add_imapd_conf("maxmessagesize: 1000\n")
    imap_server.signal(__import__("signal").SIGHUP)
    wait_for(lambda: "configuration reloaded" in imap_server.log(), what="reload")
    time.sleep(0.3)
    sock = raw_session(imap_server)
    command(sock, b"a LOGIN demo demo")
    sock.sendall(b"b APPEND INBOX {5000}\r\n")
    reply = read_line(sock)
    assert reply.startswith("b NO [TOOBIG]"), reply
    assert command(sock, b"c NOOP")[-1].startswith("c OK")


def test_a_truncated_literal_then_disconnect_stores_nothing(imap_server):
    sock = raw_session(imap_server)
    command(sock, b"a LOGIN demo demo")
    sock.sendall(b"b APPEND INBOX {100}\r\n")
    assert read_line(sock).startswith("+ ")
    sock.sendall(b"only part of it")
    sock.close()
    time.sleep(0.3)
    client = login(imap_server)
    assert ok(client.select("INBOX")) == [b"0"]
    client.logout()


def test_overlong_command_line(imap_server):
    sock = raw_session(imap_server)
    sock.sendall(b"a NOOP " + b"x" * 100_000 + b"\r\n")
    assert "TOOBIG" in read_line(sock)
    assert command(sock, b"b NOOP")[-1].startswith("b OK")


def test_qresync_select_reports_vanished(imap_server):
    client = login(imap_server)
    for n in range(3):
        client.append("INBOX", None, None, other(n))
    ok(client._simple_command("ENABLE", "QRESYNC"))
    client.select("INBOX")
    uidvalidity = client.untagged_responses["UIDVALIDITY"][0].decode()
    modseq = int(client.untagged_responses["HIGHESTMODSEQ"][0])
    client.store("2", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.store("1", "+FLAGS", "(\\Seen)")
    client.close()
    client.untagged_responses.clear()
    client._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity} {modseq}))")
    assert client.untagged_responses.get("VANISHED") == [b"(EARLIER) 2"]
    assert any(b"UID 1" in line and b"\\Seen" in line for line in client.untagged_responses.get("FETCH", []))
    client.logout()


def test_imap4rev2_has_no_recent(imap_server):
    client = login(imap_server)
    client.append("INBOX", None, None, other(1))
    ok(client._simple_command("ENABLE", "IMAP4rev2"))
    client.select("INBOX")
    assert "RECENT" not in client.untagged_responses
    client.logout()


def test_imapclient_works(imap_server):
    imapclient = pytest.importorskip("imapclient")
    client = imapclient.IMAPClient("127.0.0.1", port=imap_server.port, ssl=False)
    client.login("demo", "demo")
    client.append("INBOX", MESSAGE, flags=[imapclient.SEEN])
    client.select_folder("INBOX")
    messages = client.search(["ALL"])
    data = client.fetch(messages, ["ENVELOPE", "BODY[]", "BODYSTRUCTURE"])
    envelope = data[messages[0]][b"ENVELOPE"]
    assert envelope.subject == b"Quarterly report" and envelope.from_[0].mailbox == b"alice"
    assert data[messages[0]][b"BODY[]"] == MESSAGE
    client.logout()


def test_courier_style_preauth_on_a_maildir(tmp_path):
    maildir = tmp_path / "Maildir"
    process = subprocess.run([str(BIN / "imapd"), str(maildir)],
                             input=b"a SELECT INBOX\r\nb APPEND INBOX {5}\r\nhello\r\nc LOGOUT\r\n",
                             capture_output=True, timeout=30,
                             env={"PILLARBOX_CONFIG": "/nonexistent", "PATH": "/usr/bin:/bin"})
    out = process.stdout.decode()
    assert out.startswith("* PREAUTH") and "a OK [READ-WRITE]" in out and "b OK [APPENDUID" in out
    assert (maildir / "cur").is_dir() and len(list((maildir / "cur").iterdir())) == 1


def test_idle_hears_changes_made_by_a_foreign_maildir_tool(imap_server):
    client = login(imap_server)
    client.append("INBOX", None, None, other(1))
    client.logout()
    watcher = raw_session(imap_server)
    command(watcher, b"a LOGIN demo demo")
    command(watcher, b"b SELECT INBOX")
    watcher.sendall(b"c IDLE\r\n")
    read_line(watcher)
    root = imap_server.root / "spool" / "user" / "demo"
    started = time.monotonic()
    (root / "new" / "1800000000.procmail.host").write_bytes(b"Subject: dropped by procmail\n\nhello\n")
    watcher.settimeout(2)
    assert read_line(watcher) == "* 2 EXISTS\r\n" and time.monotonic() - started < 1.0
    read_line(watcher)                                            # * 1 RECENT
    (name,) = [p.name for p in (root / "cur").iterdir() if "procmail" not in p.name]
    started = time.monotonic()
    (root / "cur" / name).rename(root / "cur" / (name.split(":2,")[0] + ":2,FS"))
    line = read_line(watcher)
    assert line.startswith("* 1 FETCH (FLAGS (") and "\\Flagged" in line and "\\Seen" in line
    assert time.monotonic() - started < 1.0
    watcher.sendall(b"DONE\r\n")


def test_review_fixes_out_of_range_move_to_self_and_long_line_tag(imap_server):
    sock = raw_session(imap_server)
    command(sock, b"a LOGIN demo demo")
    command(sock, b"b APPEND INBOX {5+}\r\nhello")
    command(sock, b"c SELECT INBOX")
    assert command(sock, b"d FETCH 2 (FLAGS)")[-1].startswith("d BAD")
    assert command(sock, b"e FETCH 1:* (FLAGS)")[-1].startswith("e OK")
    assert command(sock, b"f MOVE 1 INBOX")[-1].startswith("f NO [CANNOT]")
    sock.sendall(b"g NOOP " + b"y" * 70_000 + b"\r\n")
    assert read_line(sock).startswith("g BAD [TOOBIG]")
    sock.sendall(b"h APPEND INBOX {999999999+}\r\n" + b"z" * 1000)   # refused, and not buffered whole
    sock.close()


def test_no_login_for_unknown_users_even_without_passwords(imap_server, tmp_path):
    conf = tmp_path / "no-password.conf"
    conf.write_text(imap_server.imapd_conf.read_text())
    ours, theirs = socket.socketpair()
    process = subprocess.Popen([str(BIN / "imapd"), "-N", "-C", str(conf)], stdin=theirs, stdout=theirs)
    theirs.close()
    read_line(ours)
    ours.sendall(b"a LOGIN ghost anything\r\n")
    assert read_line(ours).startswith("a NO [AUTHENTICATIONFAILED]")
    ours.sendall(b"b LOGIN demo anything\r\n")
    assert read_line(ours).startswith("b OK")
    ours.sendall(b"c LOGOUT\r\n")
    process.wait(timeout=10)
    assert not (imap_server.root / "spool" / "user" / "ghost").exists()


FUZZ_WORDS = [b"FETCH", b"STORE", b"SEARCH", b"UID", b"SELECT", b"EXAMINE", b"LIST", b"LSUB", b"STATUS", b"APPEND",
              b"COPY", b"MOVE", b"EXPUNGE", b"CREATE", b"RENAME", b"DELETE", b"ENABLE", b"ID", b"NOOP", b"UNSELECT",
              b"1", b"1:*", b"*", b"$", b"0", b"4294967296", b"1,2:3", b"INBOX", b'"INBOX"', b'""', b"(", b")",
              b"()", b"(FLAGS)", b"(BODY[])", b"BODY[1.2.3]", b"BODY[HEADER.FIELDS (From)]", b"BODY.PEEK[TEXT]<0.5>",
              b"BINARY[1]", b"(UNCHANGEDSINCE 1)", b"+FLAGS", b"-FLAGS.SILENT", b"(\\Seen)", b"(\\Bogus)", b"ALL",
              b"OR", b"NOT", b"SUBJECT", b"CHARSET", b"UTF-8", b"KOI8-R", b"RETURN", b"(MIN MAX SAVE)", b"&Jjo-",
              b"&bad", b'"a\\"b"', b'"unterminated', b"%", b"*%*", b"NIL", b"(QRESYNC (1 1))", b"(CONDSTORE)",
              b"MODSEQ", b"SINCE", b"1-Jan-2020", b"32-Foo-2020", b"LARGER", b"-5", b"\xff\xfe"]


def test_random_command_soup_always_gets_a_tagged_reply_and_no_internal_error(imap_server):
    import random
    rng = random.Random(7)
    sock = raw_session(imap_server)
    command(sock, b"a LOGIN demo demo")
    command(sock, b"b APPEND INBOX {20+}\r\nSubject: hi\r\n\r\nhello")
    command(sock, b"c SELECT INBOX")
    for n in range(400):
        line = b"t%d " % n + b" ".join(rng.choice(FUZZ_WORDS) for _ in range(rng.randint(0, 6)))
        replies = command(sock, line)
        assert replies[-1].startswith(f"t{n} "), (line, replies[-3:])
        if "SELECT" in line.decode(errors="replace") or "EXAMINE" in line.decode(errors="replace"):
            command(sock, b"r SELECT INBOX")
    assert "internal error" not in imap_server.log()
