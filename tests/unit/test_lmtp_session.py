"""lmtpd's I/O layer in-process (no master): the standard library's LMTP client against it."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from lmtpd.main import SPEC
from lmtpd.session import serve
from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.connection import Connection
from pillarbox.service import Session, WorkerOptions
from pillarbox.store import INBOX, UserStore


class CountingSocket:
    """Counts the server's send calls, to see pipelined replies leave in one write."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sends = 0

    def __getattr__(self, name):
        return getattr(self.sock, name)

    def sendall(self, data):
        self.sends += 1
        return self.sock.sendall(data)


@pytest.fixture
def lmtp_server(tmp_path):
    (tmp_path / "config").mkdir()
    for user in ("alice", "bob"):
        PasswdFile(str(tmp_path / "config" / "passwd")).set_password(user, "pw", create=True, replace=False)
    config = Config.from_text(f"configdirectory: {tmp_path / 'config'}\npartition-default: {tmp_path / 'spool'}\n"
                              "servername: unit.test\n", service="lmtp")
    path = str(tmp_path / "lmtp.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    sockets = []

    def accept_one():
        sock, _ = listener.accept()
        conn = Connection.from_socket(sock)
        counting = CountingSocket(sock)
        conn._sock = counting
        sockets.append(counting)
        serve(Session(SPEC, config, WorkerOptions(), conn))
        sock.close()

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    yield path, config, sockets
    thread.join(timeout=10)
    listener.close()


def test_smtplib_lmtp_round_trip(lmtp_server):
    path, config, _ = lmtp_server
    client = smtplib.LMTP(path, timeout=10)
    client.ehlo("unit-client")
    assert client.has_extn("pipelining") and client.has_extn("enhancedstatuscodes")
    refused = client.sendmail("s@example.org", ["alice"], b"Subject: hi\r\nMessage-ID: <u1@x>\r\n\r\n.dot\r\n")
    assert refused == {}
    client.quit()
    with UserStore.open(config, "alice") as store:
        (record,) = store.messages(INBOX)
        data = store.read_message(INBOX, record.uid)
    assert data.startswith(b"Return-Path: <s@example.org>\r\nReceived: from unit-client (UNIX socket)\r\n")
    assert data.endswith(b"Subject: hi\r\nMessage-ID: <u1@x>\r\n\r\n.dot\r\n")


def test_pipelined_commands_are_answered_in_one_write(lmtp_server):
    path, config, sockets = lmtp_server
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        file = sock.makefile("rb")
        assert file.readline().startswith(b"220 ")
        sock.sendall(b"LHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
        lines = [file.readline() for _ in range(5 + 4)]         # LHLO is 5 lines, then 4 replies
        writes_before = sockets[0].sends
        assert lines[-1].startswith(b"354 ")
        sock.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        replies = [file.readline() for _ in range(3)]
        assert [r[:3] for r in replies] == [b"250", b"250", b"221"]
    assert writes_before <= 3            # greeting, the pipelined group, possibly split at 354
