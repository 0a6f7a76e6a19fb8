"""The I/O side of an LMTP session: the connection, the state machine, the policy.

Reads lines from the runtime's Connection, feeds them to the Machine and
writes its replies. Replies are held back while more pipelined input is
already waiting (RFC 2920), so a pipelined MAIL/RCPT.../DATA group is
answered in one write. Delivery and the writing of its replies run with
SIGTERM blocked: when master goes away mid-delivery (its death signal to
workers is SIGTERM) the worker still finishes storing, tells the client
which recipients got the message, and only then exits.
"""

from __future__ import annotations

import contextlib
import signal
import socket

from lmtpd.delivery import Origin
from lmtpd.machine import CLOSE, DELIVER, Machine, Mode, START_TLS, Settings, Step
from lmtpd.policy import StorePolicy
from lmtpd.protocol import Reply
from pillarbox.connection import ConnectionTimeout, LineTooLong
from pillarbox.service import Session

DEFAULT_TIMEOUT = 300.0            # RFC 5321 4.5.3.2.7: a server waits 5 minutes for a command


def settings_for(session: Session, hostname: str) -> Settings:
    config = session.config
    return Settings(
        hostname=hostname,
        max_size=max(0, config.getint("maxmessagesize")),
        max_line=max(1000, config.getint("max_line_length")),
        trusted=is_trusted(session),
        tls_available=session.tls_available(),
        tls_active=session.conn.tls,
        secure=session.is_secure,
        allow_plaintext=config.getbool("allowplaintext"),
        reject_8bit_headers=config.getbool("reject8bit"),
        allow_8bit_addresses=not config.getbool("lmtp_strict_rfc2821"),
        max_auth_failures=max(1, config.getint("max_login_failures")),
    )


def is_trusted(session: Session) -> bool:
    """As Cyrus: connections on a UNIX socket (or a pipe) are preauthorised;
    internet connections need AUTH unless lmtpd runs with -a."""
    return "-a" in session.options.extra or session.conn.peer in ("unix", "stdin")


def session_timeout(session: Session) -> float:
    """lmtp_timeout (or timeout) when the admin set one, else RFC 5321's 5 minutes."""
    if session.config.raw("timeout") is not None:
        return session.config.getduration("timeout") or DEFAULT_TIMEOUT
    return DEFAULT_TIMEOUT


@contextlib.contextmanager
def sigterm_deferred():
    """SIGTERM waits until the block is left (then the runtime's handler runs)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class LmtpServer:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        config = session.config
        self.hostname = config.getstr("servername") or socket.gethostname()
        origin = Origin(self.hostname, session.peer_host, session.id)
        self.policy = StorePolicy(config, origin, session=session, no_password=session.options.no_password)
        self.machine = Machine(self.policy, settings_for(session, self.hostname))
        self._out = bytearray()

    def send(self, replies: list[Reply]) -> None:
        for reply in replies:
            self._out += reply.encode()

    def flush(self) -> None:
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            self.conn.write(data)

    def run(self) -> None:
        self.conn.set_timeout(session_timeout(self.session))
        closed = self.session.shutdown_message()
        if closed:
            self.send([Reply(421, "4.3.2", f"{self.hostname} {closed}")])
            self.flush()
            return
        self.send([self.machine.greeting()])
        try:
            self._loop()
        finally:
            self.policy.close()

    def _loop(self) -> None:
        machine = self.machine
        while True:
            if self._out and not self.conn.has_pending_input():
                self.flush()
            try:
                if machine.mode is Mode.DATA:
                    step = self._read_message()
                else:
                    line = self.conn.readline(machine.line_limit)
                    if machine.mode is Mode.COMMAND:
                        self._count(line)
                    step = machine.receive(line)
            except LineTooLong:
                step = machine.line_too_long()
            except ConnectionTimeout:
                self.send([Reply(421, "4.4.2", f"{self.hostname} timeout exceeded, closing connection")])
                self.flush()
                return
            if step.action == DELIVER:
                with sigterm_deferred():
                    step = machine.deliver()
                    self.send(step.replies)
                    self.flush()
                self.session.title()
                continue
            self.send(step.replies)
            if step.action == START_TLS:
                self.flush()
                self.session.start_tls()
                machine.tls_started()
            elif step.action == CLOSE:
                self.flush()
                return

    def _read_message(self) -> Step:
        """DATA lines until the terminator: the tight loop a 1 MB message goes through."""
        readline, data_line, limit = self.conn.readline, self.machine.data_line, self.machine.line_limit
        while True:
            step = data_line(readline(limit))
            if step is not None:
                return step

    def _count(self, line: bytes) -> None:
        self.session.commands += 1
        verb = line[:16].split(b" ", 1)[0].strip().decode("ascii", "replace").upper()
        self.session.title(verb if verb.isalpha() else None)


def serve(session: Session) -> None:
    LmtpServer(session).run()
