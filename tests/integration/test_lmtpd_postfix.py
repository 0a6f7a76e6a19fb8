"""A real MTA: Debian's Postfix relays to pillarbox over LMTP (UNIX socket and TCP).

A private Postfix instance runs as root from its own config_directory and
queue_directory in a temporary directory: smtpd on an unused port of
127.0.0.1 only, no local delivery (mydestination empty), no DNS, two
virtual domains whose mail goes to pillarbox -- unix.example over
lmtp:unix:<the lmtpunix socket> and tcp.example over
lmtp:inet:127.0.0.1:<the lmtp port> (lmtpd -a). Mail is sent to Postfix
over SMTP (Postfix's sendmail would need a non-default config directory
listed in the *system* main.cf's alternate_config_directories, which a test
must not edit), Postfix hands it to lmtpd, and every message is read back
over IMAP. A recipient pillarbox does not know gets 550 5.1.1, and Postfix's
bounce comes back to the sender -- a pillarbox user -- through LMTP too.

Postfix's daemons run as the postfix user and must reach the LMTP socket
and the queue, so the instance lives in a 0755 directory under /tmp (pytest's
tmp_path is private to root). Skipped only when Postfix is not installed or
the test is not root (postfix start needs root); .ci/test-tools installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, wait_for
from tests.integration.test_lmtpd import fetch_all, setup_lmtp_master

POSTFIX = shutil.which("postfix") or ("/usr/sbin/postfix" if os.path.exists("/usr/sbin/postfix") else None)

MASTER_CF = """\
{smtpd} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def main_cf(root: Path, lmtp_socket: Path, lmtp_port: int) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {root / 'queue'}
data_directory = {root / 'data'}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.pillarbox.test
mydomain = pillarbox.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
virtual_mailbox_domains = unix.example, tcp.example
virtual_transport = lmtp:unix:{lmtp_socket}
transport_maps = inline:{{ tcp.example=lmtp:inet:127.0.0.1:{lmtp_port} }}
maillog_file = {root / 'maillog'}
maillog_file_prefixes = {root}
biff = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


class Postfix:
    def __init__(self, root: Path, smtpd_port: int):
        self.root = root
        self.config_directory = root / "etc"
        self.smtpd_port = smtpd_port

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([POSTFIX, "-c", str(self.config_directory), *args], capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"postfix {' '.join(args)} failed ({result.returncode}): {result.stdout}"
                                 f"{result.stderr}\nmaillog:\n{self.maillog()}")
        return result

    def maillog(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else "(no maillog)"

    def master_pid(self) -> int | None:
        try:
            return int((self.root / "queue" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def processes(self) -> list[int]:
        """Every process working in this instance's queue directory (Postfix daemons chdir there)."""
        queue = str(self.root / "queue")
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink(f"/proc/{entry}/cwd").startswith(queue):
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def start(self) -> None:
        postfix_user = pwd.getpwnam("postfix")
        (self.root / "queue").mkdir()
        (self.root / "queue").chmod(0o755)          # whatever the umask of the test process
        (self.root / "data").mkdir(mode=0o700)
        os.chown(self.root / "data", postfix_user.pw_uid, postfix_user.pw_gid)
        self.postfix("check")
        self.postfix("start")
        wait_for(lambda: self.master_pid() and self.smtpd_listening(), timeout=30,
                 what=f"Postfix to listen on 127.0.0.1:{self.smtpd_port}")

    def smtpd_listening(self) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", self.smtpd_port, timeout=5) as client:
                return client.noop()[0] == 250
        except OSError:
            return False

    def stop(self) -> None:
        if self.master_pid() is not None:
            self.postfix("stop", check=False)
        try:
            wait_for(lambda: not self.processes(), timeout=20, what="Postfix to stop")
        finally:
            for pid in self.processes():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def postfix_root():
    if POSTFIX is None:
        pytest.skip("Postfix is not installed (Debian: apt-get install postfix; `make test` installs it as root)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root to start (postfix start)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        pytest.skip("Postfix is installed but there is no postfix user")
    root = Path(tempfile.mkdtemp(prefix="pillarbox-postfix-"))
    root.chmod(0o755)                 # Postfix's daemons (user postfix) reach the queue and the LMTP socket
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_postfix_relays_to_pillarbox_over_lmtp(master, postfix_root):
    setup_lmtp_master(master)
    socket_path = postfix_root / "pillarbox" / "lmtp"
    master.cyrus_conf.write_text(master.cyrus_conf.read_text().replace(str(master.socket_path), str(socket_path)))
    master.socket_path = socket_path
    master.start()
    os.chmod(socket_path.parent, 0o755)

    smtpd_port = free_port()
    etc = postfix_root / "etc"
    etc.mkdir()
    etc.chmod(0o755)
    (etc / "main.cf").write_text(main_cf(postfix_root, socket_path, master.ports["lmtp"]))
    (etc / "master.cf").write_text(MASTER_CF.format(smtpd=f"127.0.0.1:{smtpd_port}"))
    for name in ("main.cf", "master.cf"):
        (etc / name).chmod(0o644)
    mta = Postfix(postfix_root, smtpd_port)
    try:
        mta.start()
        run_the_mail_through(master, mta)
    finally:
        mta.stop()
    assert not mta.processes()


def run_the_mail_through(master, mta: Postfix) -> None:
    big_body = "".join(f"line {n:05d} of a longer message, with some text to fill it\r\n" for n in range(3000))
    sends = [
        ("s1@outside.example", ["alice@unix.example", "bob@unix.example"], "to two users on the socket",
         "Two recipients, one LMTP transaction.\r\n"),
        ("s2@outside.example", ["carol@tcp.example"], "over TCP", "Delivered over lmtp:inet.\r\n"),
        ("s3@outside.example", ["alice@tcp.example", "admin@unix.example"], "both transports",
         "One copy over each transport.\r\n"),
        ("s4@outside.example", ["bob@tcp.example"], "dots and 8 bits",
         ".a leading dot\r\n..two leading dots\r\nGrüße aus Köln\r\n.\r\nend\r\n"),
        ("s5@outside.example", ["carol@unix.example"], "a longer one", big_body),
        ("s6@outside.example", ["postmaster@unix.example"], "for the postmaster", "Hello, postmaster.\r\n"),
        ("alice@unix.example", ["nobody@unix.example"], "to nobody", "This one bounces.\r\n"),
    ]
    expected: dict[str, list[tuple[str, str, bytes]]] = {}
    with smtplib.SMTP("127.0.0.1", mta.smtpd_port, timeout=30) as client:
        client.ehlo("sender.test")
        for number, (sender, recipients, subject, body) in enumerate(sends, 1):
            message_id = f"<postfix-{number}@sender.test>"
            data = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
                    f"Message-ID: {message_id}\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode("utf-8")
            refused = client.sendmail(sender, recipients, data, mail_options=["BODY=8BITMIME"])
            assert refused == {}, refused
            for recipient in recipients:
                local, _, domain = recipient.partition("@")
                user = "admin" if local == "postmaster" else local
                if user != "nobody":
                    expected.setdefault(user, []).append((sender, domain, data))
    expected.setdefault("alice", []).append(("", "unix.example", b""))          # the bounce

    def arrived() -> bool:
        return all(len(fetch_all(master, user)) >= len(items) for user, items in expected.items())

    try:
        wait_for(arrived, timeout=90, interval=0.5, what="Postfix to deliver everything")
    except AssertionError:
        raise AssertionError(f"not everything arrived; maillog:\n{mta.maillog()}\nmaster log:\n{master.log()}")

    for user, items in expected.items():
        stored = fetch_all(master, user)
        assert len(stored) == len(items), (user, len(stored), mta.maillog())
        for sender, domain, data in items:
            if not data:
                bounce = next(m for m in stored if m.startswith(b"Return-Path: <>\r\n"))
                assert b"nobody@unix.example" in bounce and b"5.1.1" in bounce and b"User unknown" in bounce
                continue
            message_id = data.split(b"Message-ID: ")[1].split(b"\r\n")[0]
            (copy,) = [m for m in stored if b"Message-ID: " + message_id + b"\r\n" in m]
            assert copy.startswith(f"Return-Path: <{sender}>\r\nReceived: from mx.pillarbox.test ".encode())
            via = b"(UNIX socket)" if domain == "unix.example" else b"([127.0.0.1])"
            assert copy.split(b"\r\n")[1].endswith(via), copy[:300]
            assert b"(pillarbox lmtpd) with LMTP\r\n" in copy and b"(Postfix) with ESMTP" in copy
            # Postfix adds its own Received (and nothing else here); the message itself arrives intact
            header, _, body = data.partition(b"\r\n\r\n")
            assert copy.endswith(b"\r\n\r\n" + body)
            for line in header.split(b"\r\n"):
                assert line + b"\r\n" in copy
    log = mta.maillog()
    assert log.count("status=sent") >= 9 and "relay=127.0.0.1[127.0.0.1]" in log
    assert "status=bounced" in log and "550 5.1.1" in log
