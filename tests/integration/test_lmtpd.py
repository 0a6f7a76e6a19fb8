"""lmtpd end to end: a real master, real lmtpd workers, smtplib.LMTP and imaplib."""

from __future__ import annotations

import base64
import imaplib
import smtplib
import socket
import ssl
import subprocess
import sys
import time

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.devsetup import write_self_signed_certificate
from tests.integration.conftest import free_port, read_line

USERS = ("alice", "bob", "carol", "admin")

MESSAGE = (b"From: Sender <sender@example.org>\r\nTo: alice@example.org\r\nSubject: Quarterly report\r\n"
           b"Message-ID: <q1@example.org>\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"The numbers look excellent.\r\n.A line with a leading dot\r\n..two dots\r\n\tand tabs \r\n")


def client_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def lmtp_send(client: smtplib.LMTP, sender: str, recipients: list[str], message: bytes) -> dict[str, tuple[int, bytes]]:
    """One LMTP transaction; {recipient: (code, text)} with one DATA reply per accepted
    recipient (smtplib's sendmail reads only the first one)."""
    client.ehlo_or_helo_if_needed()
    code, text = client.mail(sender)
    if code != 250:
        return {r: (code, text) for r in recipients}
    results, accepted = {}, []
    for recipient in recipients:
        code, text = client.rcpt(recipient)
        results[recipient] = (code, text)
        if code == 250:
            accepted.append(recipient)
    if not accepted:
        client.rset()
        return results
    client.putcmd("data")
    code, text = client.getreply()
    assert code == 354, (code, text)
    client.send(smtplib._quote_periods(message) + (b"" if message.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    for recipient in accepted:
        results[recipient] = client.getreply()
    return results


def message_for(n: int, *, message_id: str | None = None, size: int = 0) -> bytes:
    header = f"From: s@example.org\r\nSubject: message {n}\r\nMessage-ID: {message_id or f'<m{n}@example.org>'}\r\n"
    return (header + "\r\n" + f"body of message {n}\r\n" + ("x" * 76 + "\r\n") * (size // 78)).encode()


def setup_lmtp_master(master, *, extra_conf: str = "", tcp_flags: str = "-a") -> None:
    """master with lmtp (TCP, preauthorised), lmtpauth (TCP, AUTH needed), lmtpunix, imap."""
    tls = master.root / "tls"
    write_self_signed_certificate(str(tls / "cert.pem"), str(tls / "key.pem"))
    master.add_imapd_conf(f"tls_server_cert: {tls / 'cert.pem'}\ntls_server_key: {tls / 'key.pem'}\n"
                          "servername: store.test\nadmins: admin\nfailedloginpause: 0\nfailedloginpause: 0\n"
                          + extra_conf)
    users = PasswdFile(str(master.configdir / "passwd"))
    master.configdir.mkdir(exist_ok=True)
    for user in USERS:
        users.set_password(user, user, create=True, replace=False)
    master.ports = {name: free_port() for name in ("lmtp", "lmtpauth", "imap")}
    master.socket_path = master.root / "socket" / "lmtp"
    master.write_services("\n".join([
        f'lmtp     cmd="lmtpd {tcp_flags}"  listen=127.0.0.1:{master.ports["lmtp"]}  prefork=1',
        f'lmtpauth cmd="lmtpd"    listen=127.0.0.1:{master.ports["lmtpauth"]}  prefork=0',
        f'lmtpunix cmd="lmtpd"    listen="{master.socket_path}"  prefork=1',
        f'imap     cmd="imapd"    listen=127.0.0.1:{master.ports["imap"]}  prefork=1',
    ]))


@pytest.fixture
def server(master):
    setup_lmtp_master(master)
    master.start()
    return master


def lmtp(server, service: str = "lmtp") -> smtplib.LMTP:
    if service == "lmtpunix":
        return smtplib.LMTP(str(server.socket_path), timeout=30)
    return smtplib.LMTP("127.0.0.1", server.ports[service], timeout=30)


def imap(server, user: str) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    client.login(user, user)
    return client


def fetch_all(server, user: str, mailbox: str = "INBOX") -> list[bytes]:
    client = imap(server, user)
    status, data = client.select(mailbox, readonly=True)
    assert status == "OK", data
    bodies = []
    if int(data[0]):
        status, data = client.fetch("1:*", "(BODY.PEEK[])")
        bodies = [item[1] for item in data if isinstance(item, tuple)]
    client.logout()
    return bodies


def raw(server, service: str = "lmtp") -> socket.socket:
    if service == "lmtpunix":
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(10)
        sock.connect(str(server.socket_path))
    else:
        sock = socket.create_connection(("127.0.0.1", server.ports[service]), timeout=10)
    assert read_line(sock).startswith("220 ")
    return sock


def replies(sock: socket.socket, count: int) -> list[str]:
    """`count` complete replies (a multiline reply counts once)."""
    out = []
    while len(out) < count:
        line = read_line(sock)
        assert line, f"connection closed after {out}"
        if line[3:4] == "-":
            continue
        out.append(line.rstrip("\r\n"))
    return out


def converse(sock: socket.socket, data: bytes, count: int) -> list[str]:
    sock.sendall(data)
    return replies(sock, count)


# ---------------------------------------------------------------- delivery


def test_delivery_to_several_users_read_back_over_imap(server):
    client = lmtp(server)
    code, text = client.ehlo("mta.example")
    assert code == 250
    for extension in ("pipelining", "enhancedstatuscodes", "8bitmime", "size", "starttls"):
        assert client.has_extn(extension), extension
    assert not client.has_extn("auth")                     # -a: preauthorised
    results = lmtp_send(client, "sender@example.org", ["alice@example.org", "Bob@example.org", "nobody@example.org",
                                                        "carol"], MESSAGE)
    client.quit()
    assert results["nobody@example.org"][0] == 550 and results["nobody@example.org"][1].startswith(b"5.1.1")
    for recipient in ("alice@example.org", "Bob@example.org", "carol"):
        assert results[recipient][0] == 250 and results[recipient][1].startswith(b"2.0.0"), results
    stored = {}
    for user in ("alice", "bob", "carol"):
        (stored[user],) = fetch_all(server, user)
    assert len(set(stored.values())) == 1              # identical octets for every recipient
    body = stored["alice"]
    assert body.endswith(MESSAGE)                      # byte-exact, dots unstuffed
    trace = body[:-len(MESSAGE)]
    assert trace.startswith(b"Return-Path: <sender@example.org>\r\nReceived: from mta.example ([127.0.0.1])\r\n"
                            b"\tby store.test (pillarbox lmtpd) with LMTP\r\n\tid ")
    assert trace.count(b"\r\n") == 4 and b"for <" not in trace


def test_unix_socket_delivery_and_recent(server):
    client = lmtp(server, "lmtpunix")
    client.ehlo("mta.example")
    assert not client.has_extn("auth")
    results = lmtp_send(client, "", ["alice"], MESSAGE)
    client.quit()
    assert results["alice"][0] == 250
    (body,) = fetch_all(server, "alice")
    assert body.startswith(b"Return-Path: <>\r\nReceived: from mta.example (UNIX socket)\r\n")
    assert b"\tfor <alice>; " in body
    reader = imap(server, "alice")
    reader.select("INBOX")
    assert reader.untagged_responses["RECENT"] == [b"1"]
    status, data = reader.fetch("1", "(FLAGS)")
    assert b"\\Recent" in data[0]
    reader.logout()


def test_idle_session_hears_a_delivery_within_a_second(server):
    watcher = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
    read_line(watcher)
    watcher.sendall(b"a LOGIN bob bob\r\nb SELECT INBOX\r\n")
    while not read_line(watcher).startswith("b OK"):
        pass
    watcher.sendall(b"c IDLE\r\n")
    assert read_line(watcher).startswith("+ ")
    client = lmtp(server)
    started = time.monotonic()
    assert lmtp_send(client, "s@example.org", ["bob"], message_for(1))["bob"][0] == 250
    acknowledged = time.monotonic()
    watcher.settimeout(2)
    assert read_line(watcher) == "* 1 EXISTS\r\n"
    heard = time.monotonic()
    assert heard - acknowledged < 1.0, heard - acknowledged
    assert heard - started < 1.5
    watcher.sendall(b"DONE\r\n")
    client.quit()
    watcher.close()


def test_plus_addressing_into_an_existing_folder(server):
    subprocess.run([sys.executable, "-m", "pillarbox.admin", "-C", str(server.imapd_conf), "mailbox", "create",
                    "alice", "Lists/Python"], check=True, capture_output=True)
    client = lmtp(server)
    results = lmtp_send(client, "s@example.org", ["alice+Lists/Python@example.org", "alice+Missing@example.org"],
                        message_for(1, message_id="<plus@x>"))
    client.quit()
    assert all(code == 250 for code, _ in results.values())
    assert len(fetch_all(server, "alice", "Lists/Python")) == 1
    assert len(fetch_all(server, "alice")) == 1
    subprocess.run([sys.executable, "-m", "lmtpd.plus", "-C", str(server.imapd_conf), "alice", "--none"],
                   check=True, capture_output=True)
    client = lmtp(server)
    lmtp_send(client, "s@example.org", ["alice+Lists/Python@example.org"], message_for(2))
    client.quit()
    assert len(fetch_all(server, "alice", "Lists/Python")) == 1 and len(fetch_all(server, "alice")) == 2


def test_postmaster_goes_to_the_admins(server):
    client = lmtp(server)
    results = lmtp_send(client, "s@example.org", ["Postmaster"], message_for(1))
    client.quit()
    assert results["Postmaster"][0] == 250
    assert len(fetch_all(server, "admin")) == 1


def test_a_retried_message_id_gets_250_and_is_stored_once(server):
    message = message_for(7, message_id="<retry@example.org>")
    for attempt in range(3):
        client = lmtp(server, "lmtpunix" if attempt % 2 else "lmtp")
        results = lmtp_send(client, "s@example.org", ["alice", "bob"], message)
        client.quit()
        assert all(code == 250 for code, _ in results.values()), results
        if attempt:
            assert b"duplicate suppressed" in results["alice"][1]
    assert len(fetch_all(server, "alice")) == 1 and len(fetch_all(server, "bob")) == 1
    log = server.log()
    assert "dupelim: eliminated duplicate message to alice INBOX id <retry@example.org>" in log


def test_over_quota_is_temporary_by_default(server):
    subprocess.run([sys.executable, "-m", "pillarbox.admin", "-C", str(server.imapd_conf), "quota", "set", "carol",
                    "--storage", "2"], check=True, capture_output=True)
    client = lmtp(server)
    big = message_for(1, size=4000)
    results = lmtp_send(client, "s@example.org", ["carol", "bob"], big)
    assert results["carol"][0] == 452 and results["carol"][1].startswith(b"4.2.2"), results
    assert results["bob"][0] == 250
    # a small one fits; then carol is full and refused at RCPT
    assert lmtp_send(client, "s@example.org", ["carol"], message_for(2, size=1000))["carol"][0] == 250
    code, text = client.mail("s@example.org")
    code, text = client.rcpt("carol")
    assert (code, text[:5]) == (452, b"4.2.2")
    client.quit()


def test_over_quota_permanent_failure(master):
    setup_lmtp_master(master, extra_conf="lmtp_over_quota_perm_failure: yes\n")
    master.start()
    subprocess.run([sys.executable, "-m", "pillarbox.admin", "-C", str(master.imapd_conf), "quota", "set", "carol",
                    "--storage", "1"], check=True, capture_output=True)
    client = lmtp(master)
    results = lmtp_send(client, "s@example.org", ["carol"], message_for(1, size=4000))
    client.quit()
    assert results["carol"][0] == 552 and results["carol"][1].startswith(b"5.2.2")


# ---------------------------------------------------------------- AUTH and TLS


def test_tcp_without_a_needs_auth_and_only_admins_may(server):
    client = lmtp(server, "lmtpauth")
    client.ehlo("mta.example")
    assert "PLAIN" in client.esmtp_features["auth"] and "SCRAM-SHA-256" in client.esmtp_features["auth"]
    code, text = client.mail("s@example.org")
    assert (code, text[:5]) == (530, b"5.7.0")
    code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0alice").decode())
    assert (code, text[:5]) == (535, b"5.7.8")
    code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0admin\0admin").decode())
    assert (code, text[:5]) == (235, b"2.7.0")
    results = lmtp_send(client, "s@example.org", ["alice"], message_for(1))
    client.quit()
    assert results["alice"][0] == 250
    (body,) = fetch_all(server, "alice")
    assert b"with LMTPA\r\n" in body


def test_starttls_then_auth_without_allowplaintext(master):
    setup_lmtp_master(master, extra_conf="lmtpauth_allowplaintext: no\n")
    master.start()
    client = lmtp(master, "lmtpauth")
    client.ehlo("mta.example")
    assert client.esmtp_features["auth"].split() == ["SCRAM-SHA-256"]
    code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0admin\0admin").decode())
    assert (code, text[:6]) == (538, b"5.7.11")
    client.starttls(context=client_tls_context())
    client.ehlo("mta.example")
    assert not client.has_extn("starttls") and "PLAIN" in client.esmtp_features["auth"]
    client.login("admin", "admin")
    results = lmtp_send(client, "s@example.org", ["bob"], message_for(1))
    client.quit()
    assert results["bob"][0] == 250
    assert b"with LMTPSA\r\n" in fetch_all(master, "bob")[0]


def test_starttls_discards_pipelined_plaintext(server):
    sock = raw(server)
    assert converse(sock, b"LHLO x\r\n", 1)[0].startswith("250 ")
    sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@x>\r\n")
    assert replies(sock, 1) == ["220 2.0.0 Ready to start TLS"]
    tls = client_tls_context().wrap_socket(sock)
    tls.sendall(b"MAIL FROM:<a@b.example>\r\n")
    assert replies(tls, 1)[0].startswith("503 5.5.1")          # LHLO again after TLS
    tls.close()


# ---------------------------------------------------------------- bad input


def transaction(sock, rcpts=(b"alice",)) -> None:
    lines = b"LHLO x\r\nMAIL FROM:<s@example.org>\r\n" + b"".join(b"RCPT TO:<%s>\r\n" % r for r in rcpts) + b"DATA\r\n"
    got = converse(sock, lines, 3 + len(rcpts))
    assert got[-1].startswith("354"), got


@pytest.mark.parametrize("body, expected", [
    (b"Subject: x\r\n\r\nbare\nLF\r\n.\r\n", "554 5.6.0"),
    (b"Subject: x\r\n\r\nsmuggled\n.\nMAIL FROM:<x@y>\r\n.\r\n", "554 5.6.0"),
    (b"Subject: x\r\n\r\nNUL\0byte\r\n.\r\n", "554 5.6.0"),
    (b"Subject: x\r\n\r\n" + b"y" * 70000 + b"\r\n.\r\n", "554 5.6.0"),
    (b"Subject: x\r\n\r\n" + (b"z" * 998 + b"\r\n") * 120 + b".\r\n", "552 5.3.4"),
])
def test_bad_message_content_is_refused_and_nothing_stored(master, body, expected):
    setup_lmtp_master(master, extra_conf="maxmessagesize: 100000\n")
    master.start()
    sock = raw(master)
    transaction(sock, (b"alice", b"bob"))
    got = converse(sock, body, 2)
    assert got[0].startswith(expected) and got[1].startswith(expected), got
    assert converse(sock, b"NOOP\r\n", 1) == ["250 2.0.0 Ok"]          # the session goes on
    sock.close()
    assert fetch_all(master, "alice") == [] and fetch_all(master, "bob") == []


def test_size_beyond_the_limit_is_refused_at_mail(master):
    setup_lmtp_master(master, extra_conf="maxmessagesize: 10000\n")
    master.start()
    client = lmtp(master)
    client.ehlo("x")
    assert client.esmtp_features["size"] == "10000"
    code, text = client.mail("s@example.org", ["SIZE=20000"])
    assert (code, text[:5]) == (552, b"5.3.4")
    client.quit()


def test_missing_terminator_then_disconnect_delivers_nothing(server):
    sock = raw(server)
    transaction(sock)
    sock.sendall(b"Subject: partial\r\n\r\nno terminator follows\r\n.")
    sock.close()
    time.sleep(0.5)
    sock = raw(server, "lmtpunix")
    transaction(sock)
    sock.sendall(b"Subject: partial\r\n\r\nhalf a line")
    sock.shutdown(socket.SHUT_WR)
    assert sock.recv(100) == b""
    sock.close()
    time.sleep(0.3)
    assert fetch_all(server, "alice") == []


@pytest.mark.parametrize("command, expected", [
    (b"MAIL FROM:<a@b.example>", "503 5.5.1"),                       # no LHLO
    (b"LHLO x\r\nRCPT TO:<alice>", "503 5.5.1"),
    (b"LHLO x\r\nDATA", "503 5.5.1"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example>\r\nDATA", "503 5.5.1"),
    (b"LHLO x\r\nMAIL FROM:<a b@c>", "501 5.1.7"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<al..ice@x>", "501 5.1.3"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:alice", "501 5.1.3"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<j\xc3\xb6rg@x.example>", "553 5.6.7"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<nobody@x.example>", "550 5.1.1"),
    (b"LHLO x\r\nMAIL FROM:<s@x.example> FROB=1", "555 5.5.4"),
    (b"HELO x", "500 5.5.1"),
    (b"BDAT 1 LAST", "502 5.5.1"),
    (b"VRFY alice", "252 2.5.2"),
    (b"GARBAGE", "500 5.5.2"),
    (b"NO\0OP", "500 5.5.2"),
    (b"NOOP " + b"x" * 10000, "500 5.5.2"),
])
def test_commands_get_the_right_error_and_the_session_survives(server, command, expected):
    sock = raw(server)
    count = command.count(b"\r\n") + 1
    got = converse(sock, command + b"\r\n", count)
    assert got[-1].startswith(expected), got
    assert converse(sock, b"RSET\r\nNOOP\r\n", 2) == ["250 2.0.0 Ok", "250 2.0.0 Ok"]
    sock.close()


def test_pipelined_transaction_is_answered_in_order(server):
    sock = raw(server)
    data = (b"LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nRCPT TO:<nobody>\r\nRCPT TO:<bob>\r\n"
            b"DATA\r\n")
    got = converse(sock, data, 6)
    assert [g[:3] for g in got] == ["250", "250", "250", "550", "250", "354"]
    got = converse(sock, message_for(1) + b".\r\nMAIL FROM:<>\r\nRCPT TO:<carol>\r\nDATA\r\n", 5)
    assert [g[:3] for g in got] == ["250", "250", "250", "250", "354"]
    got = converse(sock, b"Subject: second\r\n\r\nx\r\n.\r\nQUIT\r\n", 2)
    assert got[0].startswith("250 2.0.0 <carol>") and got[1].startswith("221 2.0.0")
    sock.close()


def test_shutdown_message_refuses_with_421(server):
    (server.configdir / "msg").mkdir()
    (server.configdir / "msg" / "shutdown").write_text("down for maintenance\n")
    with socket.create_connection(("127.0.0.1", server.ports["lmtp"]), timeout=10) as sock:
        assert read_line(sock) == "421 4.3.2 store.test down for maintenance\r\n"


def test_prune_event_command(server):
    client = lmtp(server)
    lmtp_send(client, "s@example.org", ["alice"], message_for(1))
    client.quit()
    result = subprocess.run([sys.executable, "-m", "lmtpd.prune", "-C", str(server.imapd_conf), "--days", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "removed 1 records" in result.stdout
