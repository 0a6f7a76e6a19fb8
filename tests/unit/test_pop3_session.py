"""The POP3 session loop on a scripted connection: what reaches the wire and the
store when a session ends well, ends badly (autologout, a dropped connection,
a failing store), and when commands come pipelined."""

from __future__ import annotations

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.connection import ConnectionClosed, ConnectionTimeout, LineTooLong
from pillarbox.service import Session, WorkerOptions
from pillarbox.store import StoreError, UserStore
from pop3d.lock import MaildropLock, lock_path
from pop3d.main import SPEC
from pop3d.maildrop import Maildrop
from pop3d.session import Pop3Server


class ScriptedConnection:
    """What pop3d.session needs of pillarbox.connection.Connection, fed from a script."""

    def __init__(self, data: bytes, end: Exception):
        self.input = bytearray(data)
        self.end = end
        self.written: list[bytes] = []
        self.timeout = None
        self.tls = False
        self.is_socket = False
        self.peer, self.local = "192.0.2.1:1110", "192.0.2.2:110"
        self.tap = None
        self.bytes_in = self.bytes_out = 0

    def readline(self, limit: int) -> bytes:
        if not self.input:
            raise self.end
        newline = self.input.find(b"\n")
        end = len(self.input) if newline < 0 else newline + 1
        line = bytes(self.input[:end])
        del self.input[:end]
        if len(line) > limit:
            raise LineTooLong(limit)
        return line

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def set_timeout(self, seconds) -> None:
        self.timeout = seconds

    def has_pending_input(self) -> bool:
        return bool(self.input)

    def tls_description(self) -> str:
        return "no"

    @property
    def output(self) -> bytes:
        return b"".join(self.written)


@pytest.fixture
def config(tmp_path):
    config = Config.from_text(f"configdirectory: {tmp_path}/config\npartition-default: {tmp_path}/spool\n"
                              "allowplaintext: yes\nfailedloginpause: 0\npoptimeout: 1\n")
    (tmp_path / "config").mkdir()
    PasswdFile(str(tmp_path / "config" / "passwd")).set_password("demo", "demo", create=True, replace=False)
    with UserStore.open(config, "demo") as store:
        for n in range(3):
            store.append("INBOX", f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
    return config


def run(config, script: bytes, end: Exception = ConnectionClosed("peer went away")) -> ScriptedConnection:
    conn = ScriptedConnection(script, end)
    session = Session(SPEC, config, WorkerOptions(), conn)
    try:
        Pop3Server(session).run()
    except (ConnectionClosed, ConnectionTimeout):
        pass
    return conn


def uids(config) -> list[int]:
    with UserStore.open(config, "demo") as store:
        return [r.uid for r in store.messages("INBOX")]


def unlocked(config) -> bool:
    with UserStore.open(config, "demo") as store:
        lock = MaildropLock(lock_path(store.root, "INBOX"))
    if lock.acquire():
        lock.release()
        return True
    return False


def test_quit_applies_the_deletions(config):
    conn = run(config, b"USER demo\r\nPASS demo\r\nDELE 2\r\nQUIT\r\n")
    assert conn.output.endswith(b"+OK pillarbox POP3 server signing off (1 message deleted)\r\n")
    assert uids(config) == [1, 3] and unlocked(config)


def test_autologout_says_so_and_deletes_nothing(config):
    conn = run(config, b"USER demo\r\nPASS demo\r\nDELE 1\r\nDELE 2\r\n", ConnectionTimeout())
    assert conn.timeout == 600                      # poptimeout 1 (minute) is raised to RFC 1939's 10
    assert conn.written[-1] == b"-ERR [SYS/TEMP] autologout: idle for too long\r\n"
    assert uids(config) == [1, 2, 3] and unlocked(config)


def test_a_dropped_connection_deletes_nothing_and_unlocks(config):
    run(config, b"USER demo\r\nPASS demo\r\nDELE 1\r\nDELE 2\r\nDELE 3\r\n")
    assert uids(config) == [1, 2, 3] and unlocked(config)


def test_pipelined_responses_go_out_together(config):
    conn = run(config, b"USER demo\r\nPASS demo\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nNOOP\r\nQUIT\r\n")
    assert len(conn.written) == 2                   # the greeting, then everything in one write
    assert conn.written[1].startswith(b"+OK send PASS\r\n+OK demo's maildrop has 3 messages")
    assert conn.written[1].count(b"\r\n.\r\n") == 3


def test_one_command_at_a_time_gets_one_write_per_response(config):
    conn = ScriptedConnection(b"", ConnectionClosed("done"))
    server = Pop3Server(Session(SPEC, config, WorkerOptions(), conn))
    assert server.greet()
    for line in (b"USER demo\r\n", b"PASS demo\r\n", b"RETR 1\r\n"):
        conn.input += line
        server.step()
        server.flush()
    server.end()
    assert len(conn.written) == 4 and conn.written[3].startswith(b"+OK ") and conn.written[3].endswith(b"\r\n.\r\n")


def test_a_failing_store_at_quit_reports_and_keeps_the_mail(config, monkeypatch):
    def broken(self, **kwargs):
        raise StoreError("disk on fire")
    monkeypatch.setattr(Maildrop, "commit", broken)
    conn = run(config, b"USER demo\r\nPASS demo\r\nDELE 1\r\nQUIT\r\n")
    assert conn.output.endswith(b"+OK message 1 deleted\r\n"
                                b"-ERR [SYS/TEMP] some deleted messages not removed; try again later\r\n")
    assert uids(config) == [1, 2, 3] and unlocked(config)


def test_a_failing_store_during_a_command_is_an_error_not_the_end(config, monkeypatch):
    def broken(self, message):
        raise StoreError("read error")
    monkeypatch.setattr(Maildrop, "read", broken)
    conn = run(config, b"USER demo\r\nPASS demo\r\nRETR 1\r\nNOOP\r\nQUIT\r\n")
    assert b"-ERR [SYS/TEMP] the mail store failed; try again later\r\n+OK\r\n+OK pillarbox" in conn.output


def test_overlong_lines_are_refused_and_skipped(config):
    conn = run(config, b"NOOP " + b"x" * 2000 + b"\r\nCAPA\r\nQUIT\r\n")
    assert b"-ERR command line too long (at most 1024 octets)\r\n+OK capability list follows" in conn.output


def test_greeting_and_shutdown_file(config, tmp_path):
    conn = run(config, b"QUIT\r\n")
    assert conn.written[0].startswith(b"+OK ") and b"pillarbox" in conn.written[0]
    (tmp_path / "config" / "msg").mkdir()
    (tmp_path / "config" / "msg" / "shutdown").write_text("closed for the upgrade\n")
    conn = run(config, b"QUIT\r\n")
    assert conn.written == [b"-ERR [SYS/TEMP] closed for the upgrade\r\n"]


def test_serverinfo_off_hides_the_implementation(tmp_path):
    config = Config.from_text(f"configdirectory: {tmp_path}\nserverinfo: off\n")
    conn = run(config, b"CAPA\r\nQUIT\r\n")
    assert conn.written[0] == b"+OK POP3 server ready\r\n"
    assert b"IMPLEMENTATION" not in conn.output
