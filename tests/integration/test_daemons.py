"""imapd, pop3d and lmtpd on the shared runtime: under master, under inetd, from a shell."""

from __future__ import annotations

import imaplib
import os
import poplib
import socket
import ssl
import subprocess
import time

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.devsetup import write_self_signed_certificate
from tests.integration.conftest import BIN, connect, free_port, read_line, wait_for


def client_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
def mailserver(master):
    """master running imap, imaps, pop3, lmtp with user demo/demo and a certificate."""
    tls = master.root / "tls"
    write_self_signed_certificate(str(tls / "cert.pem"), str(tls / "key.pem"))
    master.add_imapd_conf(f"tls_server_cert: {tls / 'cert.pem'}\ntls_server_key: {tls / 'key.pem'}\n")
    PasswdFile(str(master.configdir / "passwd")).set_password("demo", "demo", create=True, replace=False)
    master.ports = {name: free_port() for name in ("imap", "imaps", "pop3", "lmtp")}
    master.write_services("\n".join([
        f'imap  cmd="imapd -U 5"    listen=127.0.0.1:{master.ports["imap"]}  prefork=1',
        f'imaps cmd="imapd -s"      listen=127.0.0.1:{master.ports["imaps"]} prefork=1',
        f'pop3  cmd="pop3d"         listen=127.0.0.1:{master.ports["pop3"]}  prefork=1',
        f'lmtp  cmd="lmtpd"         listen=127.0.0.1:{master.ports["lmtp"]}  prefork=0',
    ]))
    return master


def test_imap_login_is_logged_with_peer_and_mechanism(mailserver):
    mailserver.start()
    client = imaplib.IMAP4("127.0.0.1", mailserver.ports["imap"])
    assert client.welcome.startswith(b"* OK")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("demo", "wrong")
    client.login("demo", "demo")
    client.noop()
    client.logout()
    log = wait_for(lambda: "logout:" in mailserver.log() and mailserver.log(), what="logout line")
    assert "badlogin: 127.0.0.1:" in log and "demo LOGIN [authentication failed]" in log
    assert " demo LOGIN User logged in" in log
    logout = next(line for line in log.splitlines() if "logout:" in line)
    assert "commands=5" in logout and "in=" in logout      # imaplib adds a CAPABILITY and "out=" in logout
    assert "accepted connection: 127.0.0.1:" in log


def test_imap_serves_the_mailbox(mailserver):
    mailserver.start()
    client = imaplib.IMAP4("127.0.0.1", mailserver.ports["imap"])
    client.login("demo", "demo")
    status, detail = client.select("INBOX")
    assert status == "OK" and detail == [b"0"]
    assert client.noop()[0] == "OK"
    client.logout()


def test_imap_worker_title_names_user_and_command(mailserver):
    mailserver.start()
    with connect(mailserver.ports["imap"]) as sock:
        read_line(sock)
        sock.sendall(b"a LOGIN demo demo\r\nb NOOP\r\n")
        read_line(sock), read_line(sock)
        titles = mailserver.workers("imapd").values()
        assert "imapd: demo@127.0.0.1 NOOP" in titles


def test_overlong_line_gets_bad_and_the_session_survives(mailserver):
    mailserver.start()
    with connect(mailserver.ports["imap"]) as sock:
        read_line(sock)
        sock.sendall(b"a NOOP " + b"x" * 200_000 + b"\r\nb NOOP\r\n")
        assert "TOOBIG" in read_line(sock)
        assert read_line(sock) == "b OK NOOP completed\r\n"


def test_implicit_tls_service(mailserver):
    mailserver.start()
    client = imaplib.IMAP4_SSL("127.0.0.1", mailserver.ports["imaps"], ssl_context=client_tls_context())
    assert "STARTTLS" not in client.capabilities
    client.login("demo", "demo")
    client.logout()


def test_logindisabled_until_starttls(mailserver):
    mailserver.add_imapd_conf("imap_allowplaintext: no\n")
    mailserver.start()
    client = imaplib.IMAP4("127.0.0.1", mailserver.ports["imap"])
    assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
    status, detail = client._simple_command("LOGIN", "demo", "demo")
    assert status == "NO" and b"[PRIVACYREQUIRED]" in detail[0]
    client.starttls(ssl_context=client_tls_context())
    assert "LOGINDISABLED" not in client.capabilities
    client.login("demo", "demo")
    client.logout()


def test_starttls_discards_pipelined_plaintext(mailserver):
    mailserver.start()
    raw = connect(mailserver.ports["imap"])
    read_line(raw)
    raw.sendall(b"a STARTTLS\r\nb LOGIN demo demo\r\n")
    assert read_line(raw).startswith("a OK")
    tls = client_tls_context().wrap_socket(raw)
    tls.sendall(b"c CAPABILITY\r\n")
    first = read_line(tls)
    assert first.startswith("* CAPABILITY"), first
    assert read_line(tls).startswith("c OK")
    tls.close()


def test_pop3_user_pass_and_capa(mailserver):
    mailserver.start()
    client = poplib.POP3("127.0.0.1", mailserver.ports["pop3"])
    capabilities = client.capa()
    assert {"USER", "STLS", "RESP-CODES", "PIPELINING"} <= set(capabilities)
    client.user("demo")
    with pytest.raises(poplib.error_proto, match="AUTH"):
        client.pass_("nope")
    client.user("demo")
    client.pass_("demo")
    client.quit()
    wait_for(lambda: "pop3d" in mailserver.log() and " demo USER User logged in" in mailserver.log(),
             what="pop3 login line")


def test_pop3_stls(mailserver):
    mailserver.start()
    client = poplib.POP3("127.0.0.1", mailserver.ports["pop3"])
    client.stls(context=client_tls_context())
    client.user("demo")
    client.pass_("demo")
    client.quit()


def test_motd_is_an_alert_and_shutdown_refuses(mailserver):
    mailserver.start()
    messages = mailserver.configdir / "msg"
    messages.mkdir()
    (messages / "motd").write_text("maintenance tonight at 22:00\nsecond line ignored\n")
    with connect(mailserver.ports["imap"]) as sock:
        assert read_line(sock).startswith("* OK ")
        assert read_line(sock) == "* OK [ALERT] maintenance tonight at 22:00\r\n"
    (messages / "shutdown").write_text("closed for the upgrade\n")
    with connect(mailserver.ports["imap"]) as sock:
        assert read_line(sock) == "* BYE closed for the upgrade\r\n"
        assert sock.recv(10) == b""
    with connect(mailserver.ports["pop3"]) as sock:
        assert read_line(sock) == "-ERR [SYS/TEMP] closed for the upgrade\r\n"
    with connect(mailserver.ports["lmtp"]) as sock:
        assert read_line(sock).startswith("421 4.3.2 ")


def test_telemetry_for_users_with_a_log_directory(mailserver):
    mailserver.start()
    telemetry = mailserver.configdir / "log" / "demo"
    telemetry.mkdir(parents=True)
    client = imaplib.IMAP4("127.0.0.1", mailserver.ports["imap"])
    client.login("demo", "demo")
    client.noop()
    client.logout()
    (logfile,) = wait_for(lambda: list(telemetry.iterdir()), what="telemetry file")
    content = logfile.read_bytes()
    assert b"NOOP\r\n" in content and b"OK NOOP completed" in content
    assert content.count(b"<") >= 2 and b">" in content
    assert b"demo" in content.splitlines()[0]


# ---------------------------------------------------------------- without master

def run_over_socketpair(argv: list[str], conversation: list[bytes], env=None) -> tuple[list[str], int]:
    """Start a daemon inetd-style with one end of a socketpair on stdin/stdout."""
    ours, theirs = socket.socketpair()
    process = subprocess.Popen(argv, stdin=theirs, stdout=theirs, env=env)
    theirs.close()
    ours.settimeout(10)
    replies = [read_line(ours)]
    for line in conversation:
        ours.sendall(line)
        replies.append(read_line(ours))
    code = process.wait(timeout=10)
    ours.close()
    return replies, code


def test_imapd_inetd_mode_over_a_socketpair(mailserver):
    replies, code = run_over_socketpair(
        [str(BIN / "imapd"), "-C", str(mailserver.imapd_conf)],
        [b"a LOGIN demo demo\r\n", b"b LOGOUT\r\n"])
    assert replies[0].startswith("* OK [CAPABILITY IMAP4rev1")
    assert replies[1].startswith("a OK")
    assert replies[2].startswith("* BYE")
    assert code == 0


def test_pop3d_and_lmtpd_inetd_mode(mailserver):
    replies, code = run_over_socketpair([str(BIN / "pop3d"), "-C", str(mailserver.imapd_conf)], [b"QUIT\r\n"])
    assert replies[0].startswith("+OK") and replies[1].startswith("+OK") and code == 0
    replies, code = run_over_socketpair([str(BIN / "lmtpd"), "-C", str(mailserver.imapd_conf)], [b"QUIT\r\n"])
    assert replies[0].startswith("220 ") and replies[1].startswith("221 ") and code == 0


def test_imapd_from_a_shell_greets_preauth_on_the_maildir(tmp_path):
    maildir = tmp_path / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    process = subprocess.run([str(BIN / "imapd"), str(maildir)], input=b"a CAPABILITY\r\nb LOGOUT\r\n",
                             capture_output=True, timeout=10, env={**os.environ, "PILLARBOX_CONFIG": "/nonexistent"})
    lines = process.stdout.decode().splitlines()
    assert lines[0].startswith("* PREAUTH") and str(maildir) in lines[0]
    assert lines[-1] == "b OK LOGOUT completed"
    assert process.returncode == 0


def test_worker_usage_error(tmp_path):
    process = subprocess.run([str(BIN / "imapd"), "-U", "many"], capture_output=True, text=True, timeout=10)
    assert process.returncode == 64
    assert "-U requires a number" in process.stderr and "usage: imapd" in process.stderr


def test_worker_with_a_broken_config_exits_with_file_and_line(tmp_path):
    conf = tmp_path / "imapd.conf"
    conf.write_text("configdirectory: /tmp\ntimeout: soon\n")
    ours, theirs = socket.socketpair()
    process = subprocess.run([str(BIN / "imapd"), "-C", str(conf)], stdin=theirs, stdout=theirs,
                             capture_output=False, stderr=subprocess.PIPE, text=True, timeout=10)
    assert process.returncode == 78
    assert f"{conf}:2:" in process.stderr and "timeout" in process.stderr
