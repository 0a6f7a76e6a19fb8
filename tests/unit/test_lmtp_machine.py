"""The LMTP state machine with a recording handler: order of commands, limits, replies."""

from __future__ import annotations

import base64

import pytest

from lmtpd.machine import CLOSE, DELIVER, START_TLS, Machine, Mode, Settings
from lmtpd.protocol import Reply
from pillarbox.sasl import Identity, SaslError


class Plain:
    def __init__(self, good: bool):
        self.good, self.done, self.identity = good, False, None

    def step(self, response):
        if response is None:
            return b""
        _, user, password = response.split(b"\0")
        if password != b"secret":
            raise SaslError("authentication failed")
        self.identity, self.done = Identity(user.decode(), user.decode()), True
        return None


class Recorder:
    def __init__(self):
        self.delivered = []
        self.failures = []

    def handle_mail(self, envelope):
        return None

    def handle_rcpt(self, envelope, path):
        if path.address.local == "nobody":
            return Reply(550, "5.1.1", "User unknown"), None
        return Reply(250, "2.1.5", "ok"), path.address.local

    def handle_data(self, envelope, message):
        self.delivered.append((envelope, message))
        return [Reply(250, "2.0.0", f"delivered to {a.target}") for a in envelope.recipients]

    def auth_mechanisms(self, *, plaintext_ok):
        return ["PLAIN", "SCRAM-SHA-256"] if plaintext_ok else ["SCRAM-SHA-256"]

    def new_mechanism(self, name):
        return Plain(True)

    def authorize(self, identity, mechanism):
        if identity.authcid != "admin":
            raise SaslError("not an admin")
        return identity.authcid

    def auth_failed(self, who, mechanism, reason):
        self.failures.append((who, reason))


def machine(**settings) -> tuple[Machine, Recorder]:
    handler = Recorder()
    options = {"hostname": "mx.test", "trusted": True, **settings}
    return Machine(handler, Settings(**options)), handler


def say(machine: Machine, *lines: bytes) -> list[str]:
    replies = []
    for line in lines:
        step = machine.receive(line)
        if step.action == DELIVER:
            step = machine.deliver()
        replies += [str(r) for r in step.replies]
    return replies


def test_greeting_and_lhlo_extensions():
    m, _ = machine(max_size=1000, tls_available=True, trusted=False)
    assert m.greeting().encode() == b"220 mx.test LMTP pillarbox ready\r\n"
    (reply,) = m.receive(b"LHLO client.test\r\n").replies
    lines = reply.lines
    assert lines[0] == "mx.test"
    assert {"PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 1000", "STARTTLS", "AUTH SCRAM-SHA-256"} <= set(lines)


def test_trusted_sessions_are_not_offered_auth_and_unlimited_size_is_bare():
    m, _ = machine()
    lines = m.receive(b"LHLO client.test\r\n").replies[0].lines
    assert "SIZE" in lines and not any(line.startswith("AUTH") for line in lines) and "STARTTLS" not in lines


def test_a_whole_transaction_one_reply_per_accepted_recipient():
    m, handler = machine()
    replies = say(m, b"LHLO c\r\n", b"MAIL FROM:<s@x.test> SIZE=20\r\n", b"RCPT TO:<a@x.test>\r\n",
                  b"RCPT TO:<nobody@x.test>\r\n", b"RCPT TO:<b@x.test>\r\n", b"DATA\r\n",
                  b"Subject: hi\r\n", b"\r\n", b"..x\r\n", b".\r\n")
    assert replies[1:] == ["250 2.1.0 Sender ok", "250 2.1.5 ok", "550 5.1.1 User unknown", "250 2.1.5 ok",
                           "354 Start mail input; end with <CRLF>.<CRLF>",
                           "250 2.0.0 delivered to a", "250 2.0.0 delivered to b"]
    envelope, message = handler.delivered[0]
    assert message.data == b"Subject: hi\r\n\r\n.x\r\n" and envelope.size == 20 and envelope.lhlo == "c"
    assert m.envelope is None and m.mode is Mode.COMMAND
    assert say(m, b"MAIL FROM:<>\r\n") == ["250 2.1.0 Sender ok"]      # the next transaction may start


@pytest.mark.parametrize("lines, expected", [
    ([b"MAIL FROM:<a@b.test>\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"RCPT TO:<a@b.test>\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"DATA\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"DATA\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<nobody>\r\n", b"DATA\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"MAIL FROM:<>\r\n"], "503 5.5.1"),
    ([b"LHLO c\r\n", b"MAIL FROM:<> SIZE=big\r\n"], "501 5.5.4"),
    ([b"LHLO c\r\n", b"MAIL FROM:<> BODY=BINARYMIME\r\n"], "504 5.5.4"),
    ([b"LHLO c\r\n", b"MAIL FROM:<> SMTPUTF8\r\n"], "555 5.5.4"),
    ([b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a@b.test> NOTIFY=NEVER\r\n"], "555 5.5.4"),
    ([b"LHLO c\r\n", b"MAIL FROM:<bad address>\r\n"], "501 5.1.7"),
    ([b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<bad@>\r\n"], "501 5.1.3"),
    ([b"LHLO\r\n"], "501 5.5.4"),
    ([b"EHLO c\r\n"], "500 5.5.1"),
    ([b"HELO c\r\n"], "500 5.5.1"),
    ([b"BDAT 10 LAST\r\n"], "502 5.5.1"),
    ([b"EXPN list\r\n"], "502 5.5.1"),
    ([b"XYZZY\r\n"], "500 5.5.2"),
    ([b"VRFY alice\r\n"], "252 2.5.2"),
    ([b"LHLO c\r\n", b"DATA extra\r\n"], "501 5.5.4"),
    ([b"STARTTLS\r\n"], "454 4.7.0"),
    ([b"LHLO c\r\n", b"AUTH PLAIN\r\n"], "503 5.5.1"),     # trusted: already authenticated
])
def test_errors(lines, expected):
    m, _ = machine()
    assert say(m, *lines)[-1].startswith(expected)


def test_size_above_the_limit_is_refused_at_mail():
    m, _ = machine(max_size=1000)
    assert say(m, b"LHLO c\r\n", b"MAIL FROM:<> SIZE=1001\r\n")[-1].startswith("552 5.3.4")
    assert say(m, b"MAIL FROM:<> SIZE=1000\r\n")[-1].startswith("250 2.1.0")


def test_message_over_the_limit_is_refused_for_every_recipient():
    m, handler = machine(max_size=10)
    replies = say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a>\r\n", b"RCPT TO:<b>\r\n", b"DATA\r\n",
                  b"0123456789abcdef\r\n", b".\r\n")
    assert [r[:9] for r in replies[-2:]] == ["552 5.3.4", "552 5.3.4"] and handler.delivered == []


def test_too_many_recipients():
    m, _ = machine(max_recipients=2)
    replies = say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a>\r\n", b"RCPT TO:<b>\r\n", b"RCPT TO:<c>\r\n")
    assert replies[-1].startswith("452 4.5.3")


def test_rset_and_lhlo_abandon_the_transaction():
    m, _ = machine()
    say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a>\r\n")
    assert say(m, b"RSET\r\n") == ["250 2.0.0 Ok"] and m.envelope is None
    say(m, b"MAIL FROM:<>\r\n")
    say(m, b"LHLO again\r\n")
    assert m.envelope is None


def test_quit_closes():
    m, _ = machine()
    step = m.receive(b"QUIT\r\n")
    assert step.action == CLOSE and str(step.replies[0]).startswith("221 2.0.0")


def test_line_too_long_in_command_and_data_modes():
    m, handler = machine()
    assert str(m.line_too_long().replies[0]).startswith("500 5.5.2")
    say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a>\r\n", b"DATA\r\n")
    assert m.line_too_long().replies == []
    assert say(m, b".\r\n")[0].startswith("554 5.6.0") and handler.delivered == []


def test_untrusted_needs_auth_and_only_the_admin_gets_in():
    m, handler = machine(trusted=False, allow_plaintext=False, secure=False)
    assert say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n")[-1].startswith("530 5.7.0")
    # PLAIN is not offered without TLS
    assert say(m, b"AUTH PLAIN\r\n")[-1].startswith("538 5.7.11")
    assert say(m, b"AUTH CRAM-MD5\r\n")[-1].startswith("504 5.5.4")


def test_auth_exchange_with_initial_response_and_continuation():
    m, handler = machine(trusted=False, allow_plaintext=True, max_auth_failures=2)
    say(m, b"LHLO c\r\n")
    wrong = base64.b64encode(b"\0admin\0wrong")
    assert say(m, b"AUTH PLAIN " + wrong + b"\r\n")[-1].startswith("535 5.7.8")
    assert handler.failures and handler.failures[0][1] == "authentication failed"
    assert say(m, b"AUTH PLAIN\r\n") == ["334 "]
    assert m.mode is Mode.AUTH and m.line_limit == 12288
    assert say(m, b"*\r\n")[-1].startswith("501 5.7.0")
    assert say(m, b"AUTH PLAIN\r\n", base64.b64encode(b"\0admin\0secret") + b"\r\n")[-1] == \
        "235 2.7.0 Authentication successful"
    assert m.auth_user == "admin" and say(m, b"MAIL FROM:<>\r\n")[-1].startswith("250")
    assert say(m, b"RSET\r\n", b"AUTH PLAIN\r\n")[-1].startswith("503 5.5.1")


def test_auth_failures_close_the_connection():
    m, handler = machine(trusted=False, allow_plaintext=True, max_auth_failures=2)
    say(m, b"LHLO c\r\n")
    user = base64.b64encode(b"\0user\0secret")       # right password, not an admin
    say(m, b"AUTH PLAIN " + user + b"\r\n")
    step = m.receive(b"AUTH PLAIN " + user + b"\r\n")
    assert step.action == CLOSE and str(step.replies[-1]).startswith("421 4.7.0")


def test_auth_garbage_is_not_base64():
    m, _ = machine(trusted=False, allow_plaintext=True)
    say(m, b"LHLO c\r\n", b"AUTH PLAIN\r\n")
    assert say(m, b"!!!\r\n")[-1].startswith("501 5.5.2") and m.mode is Mode.COMMAND


def test_starttls_then_everything_is_forgotten():
    m, _ = machine(tls_available=True)
    say(m, b"LHLO c\r\n")
    step = m.receive(b"STARTTLS\r\n")
    assert step.action == START_TLS and str(step.replies[0]) == "220 2.0.0 Ready to start TLS"
    m.tls_started()
    assert m.lhlo is None and say(m, b"MAIL FROM:<>\r\n")[-1].startswith("503 5.5.1")
    lines = m.receive(b"LHLO c\r\n").replies[0].lines
    assert "STARTTLS" not in lines
    assert say(m, b"STARTTLS\r\n")[-1].startswith("503 5.5.1")


def test_the_handler_must_answer_every_recipient():
    m, handler = machine()
    handler.handle_data = lambda envelope, message: []
    say(m, b"LHLO c\r\n", b"MAIL FROM:<>\r\n", b"RCPT TO:<a>\r\n", b"DATA\r\n")
    assert m.receive(b".\r\n").action == DELIVER
    with pytest.raises(RuntimeError):
        m.deliver()
