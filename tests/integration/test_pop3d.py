"""pop3d end to end: a real master, real pop3d and imapd workers, Python's poplib
and imaplib, raw sockets for what clients do not send, and Debian's fetchmail."""

from __future__ import annotations

import base64
import imaplib
import itertools
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.devsetup import write_self_signed_certificate
from pillarbox.store import DELETED, INBOX, SEEN, UserStore
from tests.integration.conftest import Master, connect, free_port, scram_client, wait_for

# services of the fixture's master; all but pop3 and imap fork on demand
SERVICES = ("pop3", "pop3s", "strict", "delay", "padded", "flags", "sub", "limited", "imap")

DOTS = (b"From: Alice <alice@example.org>\r\nTo: demo@example.org\r\nSubject: dots\r\n\r\n"
        b".starts with a dot\r\n..starts with two\r\n.\r\nthe line above is a lone dot\r\n.\r\n")
PLAIN_ENTRY = "plainuser:{PLAIN}secret\n"


def note(n: int, extra: str = "") -> bytes:
    return (f"From: sender{n}@example.org\r\nTo: demo@example.org\r\nSubject: note {n}\r\n"
            f"Message-ID: <note{n}@example.org>\r\n\r\nbody of note {n}\r\n{extra}").encode()


def configure(master: Master) -> Master:
    """Services on ephemeral ports, a certificate, the admin user; then start."""
    tls = master.root / "tls"
    master.cert = tls / "cert.pem"
    write_self_signed_certificate(str(master.cert), str(tls / "key.pem"))
    master.add_imapd_conf(f"""\
        tls_server_cert: {master.cert}
        tls_server_key: {tls / 'key.pem'}
        failedloginpause: 0
        admins: admin
        strict_allowplaintext: no
        delay_popminpoll: 1
        padded_popminpoll: 1
        padded_poppollpadding: 2
        flags_popuseimapflags: yes
        sub_popsubfolders: yes
        limited_maxlogins_per_user: 1
        """)
    master.configdir.mkdir(exist_ok=True)
    PasswdFile(str(master.configdir / "passwd")).set_password("admin", "admin", create=True, replace=False)
    master.ports = {name: free_port() for name in SERVICES}
    commands = {"pop3s": "pop3d -s", "imap": "imapd"}
    master.write_services("\n".join(
        f'{name} cmd="{commands.get(name, "pop3d")}" listen=127.0.0.1:{port} '
        f'prefork={1 if name in ("pop3", "imap") else 0}' for name, port in master.ports.items()))
    return master.start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One master for the module (starting one per test would dominate the run time);
    every test gets users of its own, so tests cannot see each other's mail or locks."""
    instance = configure(Master(tmp_path_factory.mktemp("pop3d")))
    yield instance
    instance.stop()


class Pop:
    """The shared server as one test sees it: `user` (password = name) is new."""

    def __init__(self, master: Master, user: str):
        self.master = master
        self.ports = master.ports
        self.cert = master.cert
        self.configdir = master.configdir
        self.user = user
        self._others = 0
        self.new_user(user)

    def new_user(self, user: str | None = None) -> str:
        if user is None:
            self._others += 1
            user = f"{self.user}o{self._others}"
        PasswdFile(str(self.configdir / "passwd")).set_password(user, user, create=True, replace=False)
        return user

    def store(self, user: str | None = None) -> UserStore:
        return UserStore.open(Config.load(str(self.master.imapd_conf)), user or self.user)

    def log(self) -> str:
        return self.master.log()


_users = itertools.count(1)


@pytest.fixture
def pop(server):
    return Pop(server, f"user{next(_users)}")


def deliver(pop: Pop, *messages: bytes, user: str | None = None, mailbox: str = INBOX) -> None:
    with pop.store(user) as store:
        for data in messages:
            store.append(mailbox, data)


def pop3(pop: Pop, user: str | None = None, service: str = "pop3") -> poplib.POP3:
    client = poplib.POP3("127.0.0.1", pop.ports[service], timeout=10)
    client.user(user or pop.user)
    client.pass_(user or pop.user)
    return client


def retrieved(lines: list[bytes]) -> bytes:
    """poplib's RETR/TOP lines (unstuffed, without CRLF) back into the message."""
    return b"".join(line + b"\r\n" for line in lines)


def imap(pop: Pop) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", pop.ports["imap"])
    client.login(pop.user, pop.user)
    return client


class Raw:
    """A POP3 conversation on a plain socket, for what poplib will not send."""

    def __init__(self, port: int, timeout: float = 10):
        self.sock = connect(port, timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self) -> str:
        return self.file.readline().decode("utf-8", "replace")

    def send(self, line: bytes | str) -> None:
        self.sock.sendall((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def cmd(self, line: bytes | str) -> str:
        self.send(line)
        return self.line()

    def multiline(self) -> bytes:
        """The rest of a multi-line response, raw (still dot-stuffed), with its ".\\r\\n"."""
        data = b""
        while not (data == b".\r\n" or data.endswith(b"\r\n.\r\n")):
            chunk = self.file.readline()
            assert chunk, "connection closed inside a multi-line response"
            data += chunk
        return data

    def login(self, user: str, password: str | None = None) -> str:
        assert self.cmd(f"USER {user}").startswith("+OK")
        return self.cmd(f"PASS {password or user}")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def login_when_unlocked(pop: Pop) -> poplib.POP3:
    """A session that ended a moment ago releases the maildrop when its worker notices."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return pop3(pop)
        except poplib.error_proto as error:
            if b"[IN-USE]" not in error.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---------------------------------------------------------------- CAPA and the greeting

def test_capa_before_and_after_login(pop):
    client = poplib.POP3("127.0.0.1", pop.ports["pop3"])
    assert client.welcome.startswith(b"+OK ")
    caps = client.capa()
    assert {"TOP", "USER", "UIDL", "SASL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS", "EXPIRE",
            "IMPLEMENTATION"} <= set(caps)
    assert caps["SASL"] == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    assert caps["EXPIRE"] == ["NEVER"] and "LOGIN-DELAY" not in caps
    client.user(pop.user)
    client.pass_(pop.user)
    after = client.capa()
    assert {"TOP", "UIDL", "RESP-CODES", "PIPELINING", "EXPIRE"} <= set(after)
    assert not {"USER", "SASL", "STLS"} & set(after)
    client.quit()


def test_apop_needs_a_plaintext_password_entry(master):
    # a server of its own: whether APOP is offered depends on the whole password file
    configure(master)
    pop = Pop(master, "demo")
    raw = Raw(pop.ports["pop3"])
    assert "<" not in raw.greeting                   # only hashed entries: no APOP offer
    assert raw.cmd("APOP demo " + "0" * 32).startswith("-ERR APOP is not available")
    raw.cmd("QUIT")
    with open(pop.configdir / "passwd", "a") as handle:
        handle.write(PLAIN_ENTRY)
    client = poplib.POP3("127.0.0.1", pop.ports["pop3"])
    assert re.search(rb"<\d+\.[0-9a-f]+\.\d+@[^>]+>$", client.welcome), client.welcome
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.apop("demo", "demo")                  # demo's entry is a hash: APOP cannot work for demo
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.apop("plainuser", "wrong")
    assert client.apop("plainuser", "secret").startswith(b"+OK")
    assert client.stat() == (0, 0)
    client.quit()


# ---------------------------------------------------------------- the transaction commands

def test_every_transaction_command(pop):
    deliver(pop, note(1), DOTS, note(3))
    client = pop3(pop)
    sizes = [len(note(1)), len(DOTS), len(note(3))]
    assert client.stat() == (3, sum(sizes))
    response, listing, _ = client.list()
    assert listing == [f"{n} {size}".encode() for n, size in enumerate(sizes, 1)]
    assert client.list(2) == f"+OK 2 {len(DOTS)}".encode()
    response, ids, _ = client.uidl()
    assert len(ids) == 3 and len({line.split()[1] for line in ids}) == 3
    assert client.uidl(2) == b"+OK " + ids[1]
    response, lines, octets = client.retr(2)
    assert retrieved(lines) == DOTS and octets == len(DOTS)
    response, lines, _ = client.top(2, 0)
    assert retrieved(lines) == DOTS[:DOTS.index(b"\r\n\r\n") + 4]
    response, lines, _ = client.top(2, 2)
    assert retrieved(lines) == DOTS[:DOTS.index(b"..starts with two\r\n") + len(b"..starts with two\r\n")]
    assert retrieved(client.top(1, 1000)[1]) == note(1)
    assert client.noop().startswith(b"+OK")
    assert client.dele(1).startswith(b"+OK")
    assert client.stat() == (2, sizes[1] + sizes[2])
    assert [line.split()[0] for line in client.list()[1]] == [b"2", b"3"]
    with pytest.raises(poplib.error_proto, match="already deleted"):
        client.retr(1)
    assert client.rset().startswith(b"+OK")
    assert client.stat() == (3, sum(sizes))
    assert client.quit().startswith(b"+OK")
    with pop.store() as store:
        assert len(store.messages(INBOX)) == 3


def test_retr_is_byte_exact_and_stuffed_on_the_wire(pop):
    big = b"Subject: big\r\n\r\n" + b"".join(b".line %06d of a long message\r\n" % n for n in range(40000))
    deliver(pop, DOTS, big, b"Subject: no final newline\r\n\r\nlast line")
    raw = Raw(pop.ports["pop3"])
    assert raw.login(pop.user).startswith("+OK")
    assert raw.cmd("RETR 1") == f"+OK {len(DOTS)} octets\r\n"
    wire = raw.multiline()
    assert wire == (b"From: Alice <alice@example.org>\r\nTo: demo@example.org\r\nSubject: dots\r\n\r\n"
                    b"..starts with a dot\r\n...starts with two\r\n..\r\nthe line above is a lone dot\r\n..\r\n.\r\n")
    assert raw.cmd("LIST 2") == f"+OK 2 {len(big)}\r\n"
    assert raw.cmd("RETR 2").startswith("+OK")
    data = raw.multiline()
    assert data[:-3].replace(b"\r\n..", b"\r\n.") == big       # every body line was stuffed
    assert raw.cmd("RETR 3").startswith("+OK")
    assert raw.multiline() == b"Subject: no final newline\r\n\r\nlast line\r\n.\r\n"
    raw.cmd("QUIT")


def test_a_bare_lf_file_dropped_into_the_maildir(pop):
    with pop.store() as store:
        root = Path(store.root)
    content = b"From: someone@example.org\nSubject: from procmail\n\n.dot first\nplain\n"
    (root / "new" / "1700000000.M1P1.othertool").write_bytes(content)
    expected = content.replace(b"\n", b"\r\n")
    client = pop3(pop)
    assert client.stat() == (1, len(expected))
    response, lines, octets = client.retr(1)
    assert retrieved(lines) == expected and octets == len(expected)
    client.quit()


def test_uidl_is_stable_across_sessions_and_imap_activity(pop):
    deliver(pop, *(note(n) for n in range(1, 6)))
    first = pop3(pop)
    ids = [line.split()[1] for line in first.uidl()[1]]
    assert re.fullmatch(rb"\d+\.1", ids[0])                          # uidl_format cyrus: UIDVALIDITY.UID
    first.quit()
    client = imap(pop)
    client.select("INBOX")
    client.store("2", "+FLAGS", "(\\Seen \\Flagged)")
    client.store("3", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.append("INBOX", None, None, note(6))
    client.logout()
    second = pop3(pop)
    after = [line.split()[1] for line in second.uidl()[1]]
    assert after[:4] == [ids[0], ids[1], ids[3], ids[4]]
    assert after[4] not in ids
    assert second.stat()[0] == 5
    second.quit()
    third = pop3(pop)
    assert [line.split()[1] for line in third.uidl()[1]] == after
    third.quit()


def test_dele_then_quit_is_an_expunge_for_imap(pop):
    deliver(pop, note(1), note(2), note(3))
    watcher = imap(pop)
    watcher.select("INBOX")
    watcher.store("1", "+FLAGS", "(\\Deleted)")     # flagged by IMAP: not POP's to remove
    client = pop3(pop)
    assert client.dele(2).startswith(b"+OK")
    assert client.quit() == b"+OK pillarbox POP3 server signing off (1 message deleted)"
    watcher.noop()
    assert watcher.untagged_responses.get("EXPUNGE") == [b"2"]
    typ, data = watcher.uid("SEARCH", None, "ALL")
    assert data == [b"1 3"]
    watcher.logout()
    with pop.store() as store:
        records = store.messages(INBOX)
    assert [r.uid for r in records] == [1, 3] and DELETED in records[0].flags


def test_a_dropped_connection_deletes_nothing(pop):
    deliver(pop, note(1), note(2), note(3))
    raw = Raw(pop.ports["pop3"])
    assert raw.login(pop.user).startswith("+OK")
    assert raw.cmd("DELE 1").startswith("+OK") and raw.cmd("DELE 3").startswith("+OK")
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")   # reset, no QUIT
    raw.close()
    client = login_when_unlocked(pop)
    assert client.stat()[0] == 3
    client.quit()
    with pop.store() as store:
        assert [r.uid for r in store.messages(INBOX)] == [1, 2, 3]
        assert not any(DELETED in r.flags for r in store.messages(INBOX))


def test_shutdown_during_a_session_deletes_nothing(pop):
    deliver(pop, note(1), note(2))
    raw = Raw(pop.ports["pop3"])
    raw.login(pop.user)
    assert raw.cmd("DELE 1").startswith("+OK")
    shutdown = pop.configdir / "msg" / "shutdown"
    shutdown.parent.mkdir(exist_ok=True)
    shutdown.write_text("down for maintenance\n")
    try:
        assert raw.cmd("QUIT") == "-ERR [SYS/TEMP] down for maintenance\r\n"
        assert raw.file.read() == b""
    finally:
        shutdown.unlink()
    with pop.store() as store:
        assert len(store.messages(INBOX)) == 2


def test_a_second_session_is_refused_while_imap_goes_on(pop):
    deliver(pop, note(1), note(2))
    first = pop3(pop)
    second = poplib.POP3("127.0.0.1", pop.ports["pop3"])
    second.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\] maildrop already locked"):
        second.pass_(pop.user)
    client = imap(pop)                               # IMAP is never locked out
    client.select("INBOX")
    typ, data = client.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == note(1)
    client.store("2", "+FLAGS", "(\\Flagged)")
    client.logout()
    pop3(pop, pop.new_user()).quit()                 # nor is another user's POP3
    assert first.retr(2)[1] and first.quit().startswith(b"+OK")
    second.user(pop.user)                            # the refused session may try again
    assert second.pass_(pop.user).startswith(b"+OK")
    assert second.stat()[0] == 2
    second.quit()


def test_retr_of_a_message_imap_expunged_meanwhile(pop):
    deliver(pop, note(1), note(2), note(3))
    client = pop3(pop)
    with pop.store() as store:
        store.store_flags(INBOX, [2], "add", [DELETED])
        store.expunge(INBOX)
    with pytest.raises(poplib.error_proto, match="removed by another session"):
        client.retr(2)
    assert client.stat()[0] == 3                     # the session's numbering does not change
    client.dele(2)
    client.dele(3)
    client.quit()
    with pop.store() as store:
        assert [r.uid for r in store.messages(INBOX)] == [1]


def test_pipelined_commands_are_answered_in_order(pop):
    deliver(pop, note(1), note(2))
    raw = Raw(pop.ports["pop3"])
    raw.send(f"USER {pop.user}\r\nPASS {pop.user}\r\nSTAT\r\nLIST\r\nRETR 2\r\nFROB\r\nDELE 1\r\nNOOP")
    assert raw.line().startswith("+OK send PASS")
    assert raw.line().startswith(f"+OK {pop.user}'s maildrop has 2 messages")
    assert raw.line() == f"+OK 2 {len(note(1)) + len(note(2))}\r\n"
    assert raw.line().startswith("+OK") and raw.multiline().count(b"\r\n") == 3
    assert raw.line().startswith("+OK") and raw.multiline()[:-3] == note(2)
    assert raw.line().startswith("-ERR unknown command")
    assert raw.line().startswith("+OK message 1 deleted")
    assert raw.line() == "+OK\r\n"
    assert raw.cmd("QUIT").startswith("+OK")


# ---------------------------------------------------------------- bad input

BAD_INPUT = [
    (b"FROB", "-ERR unknown command FROB"),
    (b"", "-ERR empty command line"),
    (b"\xff\xfe\x00", "-ERR unknown command"),
    (b"RETR", "-ERR missing argument"),
    (b"RETR 0", "-ERR no such message"),
    (b"RETR 3", "-ERR no such message"),
    (b"RETR 99999999999", "-ERR invalid message number"),
    (b"RETR -1", "-ERR invalid message number"),
    (b"RETR one", "-ERR invalid message number"),
    (b"RETR 1 2", "-ERR too many arguments"),
    (b"TOP 1", "-ERR missing argument"),
    (b"TOP 1 x", "-ERR invalid line count"),
    (b"TOP 9 1", "-ERR no such message"),
    (b"DELE", "-ERR missing argument"),
    (b"DELE 3", "-ERR no such message"),
    (b"LIST 7", "-ERR no such message"),
    (b"UIDL 1 1", "-ERR too many arguments"),
    (b"STAT now", "-ERR too many arguments"),
    (b"USER someone", "-ERR USER is not valid after logging in"),
    (b"STLS", "-ERR STLS is not valid after logging in"),
    (b"AUTH PLAIN", "-ERR AUTH is not valid after logging in"),
    (b"NOOP " + b"x" * 5000, "-ERR command line too long"),
    (b"NOOP " + b"x" * 500_000, "-ERR command line too long"),
]


def test_bad_input_gets_an_error_and_the_session_goes_on(pop):
    deliver(pop, note(1), note(2))
    raw = Raw(pop.ports["pop3"])
    raw.login(pop.user)
    for line, expected in BAD_INPUT:
        assert raw.cmd(line).startswith(expected), line[:40]
        assert raw.cmd("NOOP") == "+OK\r\n", line[:40]
    assert raw.cmd("STAT").startswith("+OK 2 ")
    assert raw.cmd("QUIT").startswith("+OK")


def test_bad_input_before_login(pop):
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("STAT").startswith("-ERR STAT is not valid before logging in")
    assert raw.cmd("NOOP").startswith("-ERR NOOP is not valid before logging in")
    assert raw.cmd("PASS secret").startswith("-ERR send USER first")
    assert raw.cmd("USER").startswith("-ERR missing argument")
    assert raw.cmd("APOP someone 0123").startswith("-ERR")
    assert raw.cmd("AUTH FOO").startswith("-ERR unsupported SASL mechanism")
    assert raw.cmd("CAPA now").startswith("-ERR too many arguments")
    assert raw.cmd(f"USER {pop.user}").startswith("+OK")
    assert raw.cmd("PASS wrong").startswith("-ERR [AUTH]")
    assert raw.cmd(f"PASS {pop.user}").startswith("-ERR send USER first")    # USER again after a failure
    assert raw.login(pop.user).startswith("+OK")
    raw.cmd("QUIT")


def test_too_many_failed_logins_close_the_connection(pop):
    raw = Raw(pop.ports["pop3"])
    assert raw.login(pop.user, "wrong") == "-ERR [AUTH] invalid user name or password\r\n"
    assert raw.login(pop.user, "wrong").startswith("-ERR [AUTH]")
    assert raw.login(pop.user, "wrong").startswith("-ERR [AUTH] authentication failed; too many failures")
    assert raw.file.read() == b""
    wait_for(lambda: f" {pop.user} USER [authentication failed]" in pop.log(), what="badlogin lines")
    assert "badlogin: 127.0.0.1:" in pop.log()


# ---------------------------------------------------------------- TLS and SASL

def client_context(pop) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pop.cert))


def test_stls_then_user_pass(pop):
    deliver(pop, DOTS)
    client = poplib.POP3("localhost", pop.ports["pop3"])
    client.stls(context=client_context(pop))
    assert "STLS" not in client.capa()
    client.user(pop.user)
    client.pass_(pop.user)
    assert retrieved(client.retr(1)[1]) == DOTS
    client.quit()
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("STLS").startswith("+OK")
    tls = client_context(pop).wrap_socket(raw.sock, server_hostname="localhost")
    tls.sendall(b"STLS\r\n")
    assert tls.recv(100).startswith(b"-ERR TLS is already active")
    tls.close()


def test_pop3s(pop):
    deliver(pop, DOTS)
    client = poplib.POP3_SSL("localhost", pop.ports["pop3s"], context=client_context(pop))
    assert "STLS" not in client.capa() and "USER" in client.capa()
    client.user(pop.user)
    client.pass_(pop.user)
    assert retrieved(client.retr(1)[1]) == DOTS
    client.quit()


def test_plaintext_is_refused_before_tls_unless_allowed(pop):
    raw = Raw(pop.ports["strict"])
    raw.send("CAPA")
    assert raw.line().startswith("+OK")
    caps = raw.multiline().decode().split("\r\n")
    assert "USER" not in caps and "SASL SCRAM-SHA-256" in caps and "STLS" in caps
    assert raw.cmd(f"USER {pop.user}") == "-ERR [AUTH] plaintext authentication is disabled until STLS\r\n"
    initial = base64.b64encode(f"\0{pop.user}\0{pop.user}".encode()).decode()
    assert raw.cmd(f"AUTH PLAIN {initial}") == "-ERR [AUTH] PLAIN is disabled until STLS\r\n"
    assert raw.cmd("AUTH LOGIN").startswith("-ERR [AUTH]")
    raw.close()
    assert scram_login(pop.ports["strict"], pop.user).startswith(f"+OK {pop.user}'s maildrop")   # no TLS needed
    client = poplib.POP3("localhost", pop.ports["strict"])
    client.stls(context=client_context(pop))
    caps = client.capa()
    assert "USER" in caps and caps["SASL"] == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    client.user(pop.user)
    assert client.pass_(pop.user).startswith(b"+OK")
    client.quit()


def scram_login(port: int, user: str, password: str | None = None) -> str:
    raw = Raw(port)
    steps = scram_client(user, password or user)
    challenge = raw.cmd(b"AUTH SCRAM-SHA-256 " + base64.b64encode(next(steps)))
    assert challenge.startswith("+ "), challenge
    next(steps)
    final = steps.send(base64.b64decode(challenge[2:].strip()))
    verifier = raw.cmd(base64.b64encode(final))
    if not verifier.startswith("+ "):
        raw.close()
        return verifier
    assert base64.b64decode(verifier[2:].strip()).startswith(b"v="), verifier
    reply = raw.cmd("")
    raw.cmd("QUIT")
    raw.close()
    return reply


def plain(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def test_auth_plain_login_and_scram(pop):
    user = pop.user
    raw = Raw(pop.ports["pop3"])
    raw.send("AUTH")
    assert raw.line().startswith("+OK") and raw.multiline() == b"PLAIN\r\nLOGIN\r\nSCRAM-SHA-256\r\n.\r\n"
    assert raw.cmd("AUTH PLAIN " + plain("", user, "wrong")) == "-ERR [AUTH] authentication failed\r\n"
    assert raw.cmd("AUTH PLAIN") == "+ \r\n"
    assert raw.cmd("*") == "-ERR authentication cancelled\r\n"
    assert raw.cmd("AUTH PLAIN =").startswith("-ERR [AUTH]")
    raw.close()
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("AUTH PLAIN " + plain("", user, user)).startswith(f"+OK {user}'s maildrop")
    raw.cmd("QUIT")
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("AUTH PLAIN") == "+ \r\n"
    assert raw.cmd(plain("", user, user)).startswith(f"+OK {user}'s maildrop")
    raw.cmd("QUIT")
    raw = Raw(pop.ports["pop3"])
    assert base64.b64decode(raw.cmd("AUTH LOGIN")[2:]) == b"Username:"
    assert base64.b64decode(raw.cmd(base64.b64encode(user.encode()))[2:]) == b"Password:"
    assert raw.cmd(base64.b64encode(user.encode())).startswith(f"+OK {user}'s maildrop")
    raw.cmd("QUIT")
    assert scram_login(pop.ports["pop3"], user).startswith(f"+OK {user}'s maildrop")
    assert scram_login(pop.ports["pop3"], user, "wrong") == "-ERR [AUTH] authentication failed\r\n"


def test_admin_acts_for_a_user_and_users_cannot(pop):
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("AUTH PLAIN " + plain(pop.user, "admin", "admin")).startswith(f"+OK {pop.user}'s maildrop")
    raw.cmd("QUIT")
    other = pop.new_user()
    raw = Raw(pop.ports["pop3"])
    assert raw.cmd("AUTH PLAIN " + plain(pop.user, other, other)).startswith("-ERR [AUTH]")
    raw.close()


# ---------------------------------------------------------------- imapd.conf options

def test_popminpoll_refuses_with_login_delay(pop):
    client = pop3(pop, service="delay")
    assert client.capa()["LOGIN-DELAY"] == ["60"]
    client.quit()
    again = poplib.POP3("127.0.0.1", pop.ports["delay"])
    again.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\] logins must be at least 1 minute apart"):
        again.pass_(pop.user)
    assert "LOGIN-DELAY" in again.capa()           # still in AUTHORIZATION, still talking
    again.quit()
    pop3(pop, pop.new_user(), service="delay").quit()     # per maildrop, not for everyone
    pop3(pop, service="pop3").quit()                      # and only where popminpoll is set


def test_poppollpadding_allows_a_burst(pop):
    for _ in range(2):
        pop3(pop, service="padded").quit()
    with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\]"):
        pop3(pop, service="padded")


def test_popuseimapflags_marks_seen_and_hides_deleted(pop):
    deliver(pop, note(1), note(2), note(3))
    with pop.store() as store:
        store.store_flags(INBOX, [1], "add", [DELETED])
    client = pop3(pop, service="flags")
    assert client.stat()[0] == 2                       # \Deleted message 1 is not offered
    assert retrieved(client.retr(1)[1]) == note(2)
    client.top(2, 0)                                   # TOP does not count as reading
    client.quit()
    with pop.store() as store:
        flags = {r.uid: r.flags for r in store.messages(INBOX)}
    assert SEEN in flags[2] and SEEN not in flags[3] and SEEN not in flags[1]
    plain_session = pop3(pop)                          # without the option nothing is hidden or marked
    assert plain_session.stat()[0] == 3
    plain_session.retr(3)
    plain_session.quit()
    with pop.store() as store:
        assert SEEN not in {r.uid: r.flags for r in store.messages(INBOX)}[3]


def test_popsubfolders_reach_a_folder_with_its_own_lock(pop):
    with pop.store() as store:
        store.create_mailbox("Lists/pillarbox")
        store.append("Lists/pillarbox", note(7))
        store.append(INBOX, note(1))
        store.append(INBOX, note(2))
    inbox = pop3(pop, service="sub")
    assert inbox.stat()[0] == 2
    folder = poplib.POP3("127.0.0.1", pop.ports["sub"])
    folder.user(f"{pop.user}+Lists/pillarbox")
    folder.pass_(pop.user)
    assert folder.stat() == (1, len(note(7)))
    assert retrieved(folder.retr(1)[1]) == note(7)
    folder.dele(1)
    folder.quit()
    inbox.quit()
    with pop.store() as store:
        assert store.messages("Lists/pillarbox") == [] and len(store.messages(INBOX)) == 2
    missing = poplib.POP3("127.0.0.1", pop.ports["sub"])
    missing.user(f"{pop.user}+Nowhere")
    with pytest.raises(poplib.error_proto, match=r"\[SYS/PERM\] no such maildrop"):
        missing.pass_(pop.user)
    missing.quit()
    raw = Raw(pop.ports["sub"])
    authzid = plain(f"{pop.user}+Lists/pillarbox", pop.user, pop.user)
    assert raw.cmd(f"AUTH PLAIN {authzid}").startswith(f"+OK {pop.user}'s maildrop has 0 messages")
    raw.cmd("QUIT")
    plus = poplib.POP3("127.0.0.1", pop.ports["pop3"])    # without popsubfolders "+" is part of the name
    plus.user(f"{pop.user}+Lists/pillarbox")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        plus.pass_(pop.user)
    plus.quit()


def test_maxlogins_per_user_counts_imap_sessions_too(pop):
    client = imap(pop)
    limited = poplib.POP3("127.0.0.1", pop.ports["limited"])
    limited.user(pop.user)
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\] service unavailable: too many sessions"):
        limited.pass_(pop.user)
    client.logout()
    deadline = time.monotonic() + 10
    while True:
        limited.user(pop.user)
        try:
            limited.pass_(pop.user)
            break
        except poplib.error_proto:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    limited.quit()


def test_login_and_logout_are_logged(pop):
    pop3(pop).quit()
    wait_for(lambda: f" {pop.user} USER User logged in" in pop.log(), what="the login line")
    wait_for(lambda: re.search(rf"logout: \S+ {pop.user} session=\S+ normal", pop.log()), what="the logout line")


# ---------------------------------------------------------------- fetchmail (Debian package)

needs_fetchmail = pytest.mark.skipif(shutil.which("fetchmail") is None,
                                     reason="fetchmail (Debian package fetchmail) is not installed")


def fetchmail_messages() -> list[bytes]:
    """A few hundred messages with what POP3 has to get right: lines starting with
    dots, a lone ".", 8-bit text, long lines, an empty body, large messages."""
    messages = []
    for n in range(300):
        body = f".dot line {n}\r\n..two dots\r\n.\r\nplain line\r\nnon-ASCII: caf\u00e9 \u2713\r\n"
        if n % 50 == 7:
            body += "x" * 5000 + "\r\n"
        if n % 100 == 42:
            body += "".join(f"large body line {k}\r\n" for k in range(20000))
        if n == 13:
            body = ""
        messages.append(f"From: Sender {n} <s{n}@example.org>\r\nTo: demo@example.org\r\n"
                        f"Subject: fetchmail {n}\r\nMessage-ID: <fm{n}@example.org>\r\n"
                        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}".encode())
    return messages


def run_fetchmail(pop: Pop, tmp_path: Path, *options: str) -> list[bytes]:
    """Poll the user's maildrop; every message goes to its own file through a tiny MDA."""
    home = tmp_path / "fetchmail-home"
    out = tmp_path / f"delivered-{time.monotonic_ns()}"
    home.mkdir(exist_ok=True)
    out.mkdir()
    rc = home / "fetchmailrc"
    rc.write_text(f"poll localhost port {pop.ports['pop3']} proto pop3 user {pop.user} password {pop.user}\n")
    rc.chmod(0o600)
    process = subprocess.run(
        ["fetchmail", "-f", str(rc), "-i", str(home / "fetchids"), "--pidfile", str(home / "pid"),
         "--nosyslog", "--norewrite", "--mda", f"cat > {out}/message.$$", *options],
        env={**os.environ, "HOME": str(home), "FETCHMAILHOME": str(home)},
        capture_output=True, text=True, timeout=120)
    assert process.returncode in (0, 1), process.stdout[-3000:] + process.stderr[-3000:]   # 1: no mail
    return [path.read_bytes() for path in out.iterdir()]


def as_delivered(message: bytes) -> bytes:
    """What fetchmail hands its MDA: LF line ends (it strips the CRs of CRLF)."""
    return message.replace(b"\r\n", b"\n")


def without_received(delivered: bytes) -> bytes:
    """Drop the one Received: field fetchmail puts on top (and its continuation lines)."""
    assert delivered.startswith(b"Received: from localhost"), delivered[:200]
    lines = delivered.split(b"\n")
    n = 1
    while lines[n].startswith((b"\t", b" ")):
        n += 1
    return b"\n".join(lines[n:])


def check_delivered(delivered: list[bytes], messages: list[bytes]) -> None:
    """Every message arrived once, and exactly as stored (after fetchmail's own two changes)."""
    by_id = {}
    for data in delivered:
        body = without_received(data)
        by_id[re.search(rb"Message-ID: <(fm\d+)@", body).group(1)] = body
    assert len(delivered) == len(messages) == len(by_id)
    for n, message in enumerate(messages):
        assert by_id[f"fm{n}".encode()] == as_delivered(message), f"message {n} differs"


@needs_fetchmail
def test_fetchmail_keep_then_flush(pop, tmp_path):
    messages = fetchmail_messages()
    deliver(pop, *messages)
    check_delivered(run_fetchmail(pop, tmp_path, "--keep", "--sslproto", ""), messages)
    with pop.store() as store:
        assert len(store.messages(INBOX)) == len(messages)          # --keep: all still there
    assert run_fetchmail(pop, tmp_path, "--keep", "--sslproto", "") == []     # UIDL: nothing new
    check_delivered(run_fetchmail(pop, tmp_path, "--all", "--sslproto", ""), messages)
    with pop.store() as store:
        assert store.messages(INBOX) == []                          # without --keep: emptied


@needs_fetchmail
def test_fetchmail_over_stls(pop, tmp_path):
    messages = fetchmail_messages()
    deliver(pop, *messages)
    delivered = run_fetchmail(pop, tmp_path, "--sslproto", "tls1.2+", "--sslcertck", "--sslcertfile", str(pop.cert))
    check_delivered(delivered, messages)
    with pop.store() as store:
        assert store.messages(INBOX) == []
    wait_for(lambda: re.search(rf"starttls: .*\n.*login: \S+ {pop.user} USER User logged in tls=TLS", pop.log()),
             what="a login over TLS in the log")
