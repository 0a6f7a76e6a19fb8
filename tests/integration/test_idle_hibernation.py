"""IDLE hibernation end to end: a real master, imapd workers, idled and the resume service."""

from __future__ import annotations

import imaplib
import re
import ssl
import time

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.devsetup import write_self_signed_certificate
from tests.integration.conftest import command, connect, free_port, read_line, wait_for


def note(n: int) -> bytes:
    return f"From: c@example.org\r\nSubject: note {n}\r\n\r\nnote body {n}\r\n".encode()


def services(master, *, idled: bool = True, extra: str = "") -> str:
    resume = f'imapresume cmd="imapd -D -R" listen={master.configdir}/socket/imapresume prefork=1\n' if idled else ""
    return f'imap cmd="imapd -D" listen=127.0.0.1:{master.port} prefork=1\n' + resume + extra


@pytest.fixture
def hibernating(master):
    """master with idled and the resume service; IDLE hibernates after 1 s."""
    master.add_imapd_conf("imapidlehibernate: 1\nfailedloginpause: 0\n")
    master.configdir.mkdir()
    users = PasswdFile(str(master.configdir / "passwd"))
    for user in ("demo", "other"):
        users.set_password(user, user, create=True, replace=False)
    master.port = free_port()
    master.write_services(services(master), daemon='idled cmd="idled -D" wait=y')
    return master


def titles(master) -> list[str]:
    return list(master.children().values())


def parked(master, count: int = 1) -> bool:
    return f"idled: {count} sessions" in titles(master)


def wait_parked(master, count: int = 1) -> None:
    wait_for(lambda: parked(master, count), timeout=10, what=f"idled to hold {count} session(s)")


def idling(master, user: str = "demo"):
    sock = connect(master.port)
    read_line(sock)
    assert command(sock, f"a LOGIN {user} {user}".encode())[-1].startswith("a OK")
    assert command(sock, b"b SELECT INBOX")[-1].startswith("b OK")
    sock.sendall(b"c IDLE\r\n")
    assert read_line(sock).startswith("+ ")
    return sock


def other_client(master, user: str = "demo") -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", master.port)
    client.login(user, user)
    return client


def test_a_quiet_idle_moves_to_idled_and_done_brings_it_back(hibernating):
    hibernating.start()
    sock = idling(hibernating)
    wait_parked(hibernating)
    assert not any("demo@" in title for title in titles(hibernating) if title.startswith("imapd:")), \
        "the session should have left its worker"
    sock.sendall(b"DONE\r\n")
    sock.settimeout(10)
    assert read_line(sock) == "c OK IDLE terminated\r\n"
    assert command(sock, b"d NOOP")[-1] == "d OK NOOP completed\r\n"
    assert command(sock, b"e LOGOUT")[-1].startswith("e OK")
    session = re.search(r"login: \S+ demo LOGIN .* session=(\S+)", hibernating.log()).group(1)
    wait_for(lambda: f"session={session} normal" in hibernating.log(), what="the logout line")
    logouts = [line for line in hibernating.log().splitlines() if "logout:" in line and session in line]
    assert len(logouts) == 1 and "commands=5" in logouts[0], logouts


def test_changes_made_while_hibernated_are_told_in_order(hibernating):
    hibernating.start()
    writer = other_client(hibernating)
    for n in (1, 2):
        writer.append("INBOX", None, None, note(n))
    sock = idling(hibernating)
    sock.settimeout(10)
    wait_parked(hibernating)

    writer.append("INBOX", None, None, note(3))
    assert read_line(sock) == "* 3 EXISTS\r\n"
    assert read_line(sock) == "* 3 RECENT\r\n"
    wait_parked(hibernating)

    writer.select("INBOX")
    writer.store("1", "+FLAGS", "\\Flagged")
    assert read_line(sock).startswith("* 1 FETCH (FLAGS (\\Flagged")
    wait_parked(hibernating)

    writer.store("2", "+FLAGS", "\\Deleted")
    writer.expunge()
    line = read_line(sock)
    if "FETCH" in line:                        # woken by the STORE before the EXPUNGE happened
        assert line.startswith("* 2 FETCH (FLAGS (\\Deleted"), line
        line = read_line(sock)
    assert line == "* 2 EXPUNGE\r\n"

    sock.sendall(b"DONE\r\n")
    assert read_line(sock) == "c OK IDLE terminated\r\n"
    fetched = command(sock, b"d FETCH 1:* (UID FLAGS)")
    assert [re.search(r"UID (\d+)", line).group(1) for line in fetched[:-1]] == ["1", "3"]
    assert "\\Flagged" in fetched[0]
    writer.logout()


def test_a_client_that_leaves_while_hibernated_is_logged_out_by_idled(hibernating):
    hibernating.start()
    sock = idling(hibernating)
    wait_parked(hibernating)
    registry = hibernating.configdir / "proc"
    assert any("." in name for name in (p.name for p in registry.iterdir())), "idled registers the session"
    sock.close()
    wait_for(lambda: parked(hibernating, 0), what="idled to drop the session")
    wait_for(lambda: re.search(r"idled\[\d+\]: logout: \S+ demo session=\S+ connection lost",
                               hibernating.log()), what="idled's logout line")
    assert not any("." in name for name in (p.name for p in registry.iterdir()))


def test_hibernated_sessions_still_count_for_maxlogins_per_user(hibernating):
    hibernating.add_imapd_conf("maxlogins_per_user: 1\n")
    hibernating.start()
    sock = idling(hibernating)
    wait_parked(hibernating)
    with pytest.raises(imaplib.IMAP4.error, match="too many sessions"):
        other_client(hibernating)
    sock.close()


def test_without_idled_idle_stays_in_its_worker(master):
    master.add_imapd_conf("imapidlehibernate: 1\n")
    master.configdir.mkdir()
    PasswdFile(str(master.configdir / "passwd")).set_password("demo", "demo", create=True, replace=False)
    master.port = free_port()
    master.write_services(services(master, idled=False))
    master.start()
    sock = idling(master)
    sock.settimeout(10)
    time.sleep(3)
    assert any(title.endswith("INBOX IDLE") for title in titles(master))
    writer = other_client(master)
    writer.append("INBOX", None, None, note(1))
    assert read_line(sock) == "* 1 EXISTS\r\n"
    sock.sendall(b"DONE\r\n")
    assert read_line(sock) == "* 1 RECENT\r\n" or read_line(sock)
    writer.logout()


def test_tls_sessions_never_hibernate(hibernating):
    tls = hibernating.root / "tls"
    write_self_signed_certificate(str(tls / "cert.pem"), str(tls / "key.pem"))
    hibernating.add_imapd_conf(f"tls_server_cert: {tls / 'cert.pem'}\ntls_server_key: {tls / 'key.pem'}\n")
    imaps = free_port()
    hibernating.write_services(services(hibernating, extra=f'imaps cmd="imapd -s" listen=127.0.0.1:{imaps}\n'),
                               daemon='idled cmd="idled -D" wait=y')
    hibernating.start()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    client = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=context)
    client.login("demo", "demo")
    client.select("INBOX")
    client.send(b"c IDLE\r\n")
    assert client.readline().startswith(b"+ ")
    time.sleep(3)
    assert parked(hibernating, 0)
    client.send(b"DONE\r\n")
    assert client.readline().startswith(b"c OK")


def test_stopping_the_server_says_bye_to_hibernated_clients(hibernating):
    hibernating.start()
    sock = idling(hibernating)
    wait_parked(hibernating)
    sock.settimeout(10)
    hibernating.stop()
    assert read_line(sock) == "* BYE server shutting down\r\n"


def test_a_second_idled_does_not_steal_the_socket(hibernating):
    import subprocess
    from tests.integration.conftest import BIN
    hibernating.start()
    result = subprocess.run([str(BIN / "idled"), "-C", str(hibernating.imapd_conf)], capture_output=True,
                            text=True, timeout=20, env={"PILLARBOX_LOG": "stderr"})
    assert result.returncode == 1 and "another idled is already listening" in result.stderr
    sock = idling(hibernating)
    wait_parked(hibernating)
    sock.sendall(b"DONE\r\n")
    sock.settimeout(10)
    assert read_line(sock) == "c OK IDLE terminated\r\n"


def test_idled_killed_loses_only_its_parked_connections_and_comes_back(hibernating):
    import os
    import signal
    hibernating.start()
    sock = idling(hibernating)
    wait_parked(hibernating)
    idled = next(pid for pid, title in hibernating.children().items() if title.startswith("idled:"))
    os.kill(idled, signal.SIGKILL)
    sock.settimeout(10)
    assert read_line(sock) == ""                       # the client sees the connection close, and reconnects
    wait_for(lambda: any(t.startswith("idled:") for pid, t in hibernating.children().items() if pid != idled),
             what="master to restart idled")
    again = idling(hibernating)
    wait_parked(hibernating)
    again.sendall(b"DONE\r\n")
    again.settimeout(10)
    assert read_line(again) == "c OK IDLE terminated\r\n"
