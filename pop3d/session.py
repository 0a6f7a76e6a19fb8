"""One POP3 connection: the state, the command loop, and output.

RFC 1939's states: AUTHORIZATION until a login opens and locks the maildrop
(pop3d.login), TRANSACTION until QUIT, then UPDATE (Maildrop.commit) and
the end. Commands live one per module in pop3d/commands/ (dispatch.py says
which state each is valid in); each returns its complete response as bytes
or raises Err. This module reads lines, runs handlers, and writes: each
response in one write, and responses to pipelined commands (RFC 2449
PIPELINING) together while more input is already waiting.

A session that ends without QUIT in the TRANSACTION state (dropped
connection, autologout, shutdown, a crash) changes nothing in the maildrop;
the lock goes with the process's descriptor in every case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pillarbox import log
from pillarbox.connection import ConnectionClosed, ConnectionTimeout, LineTooLong
from pillarbox.logins import LoginGuard
from pillarbox.service import Session
from pillarbox.store import StoreError
from pop3d import protocol
from pop3d.errors import AUTH, SYS_TEMP, Disconnect, Err
from pop3d.protocol import AUTHORIZATION

if TYPE_CHECKING:
    from pillarbox.store import UserStore
    from pop3d.lock import MaildropLock
    from pop3d.maildrop import Maildrop

RFC1939_MIN_AUTOLOGOUT = 10 * 60      # RFC 1939 section 3: at least 10 minutes
FLUSH_AT = 1 << 20                    # pipelined responses held back at most this much


class Pop3Server:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        self.config = session.config
        self.state = AUTHORIZATION
        self.user: str | None = None
        self.given_user: str | None = None      # USER name awaiting PASS
        self.timestamp: str | None = None       # the APOP challenge of the greeting
        self.store: UserStore | None = None       # these three exist in the TRANSACTION state
        self.maildrop: Maildrop | None = None
        self.lock: MaildropLock | None = None
        self.guard = LoginGuard(session)
        self.counts = {"retr": 0, "top": 0, "dele": 0}      # logged at the end, as Cyrus does
        self.max_sasl_line = max(self.config.getint("max_line_length"), protocol.MAX_COMMAND_LINE)
        self._out: list[bytes] = []
        self._out_size = 0

    # ------------------------------------------------------------ output

    def send(self, data: bytes) -> None:
        if not data:
            return
        self._out.append(data)
        self._out_size += len(data)

    def flush(self) -> None:
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        self.conn.write(data)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        self.conn.set_timeout(max(self.config.getduration("poptimeout"), RFC1939_MIN_AUTOLOGOUT))
        try:
            if not self.greet():
                return
            while True:
                self.step()
                if not self.conn.has_pending_input() or self._out_size >= FLUSH_AT:
                    self.flush()
        except Disconnect as disconnect:
            self.send(disconnect.reply)
            self.flush()
        except ConnectionTimeout:
            self._say_goodbye(protocol.err("autologout: idle for too long", SYS_TEMP))
            raise
        finally:
            self.end()

    def greet(self) -> bool:
        from pop3d import apop, capabilities
        closed = self.session.shutdown_message()
        if closed:
            self.send(protocol.err(closed, SYS_TEMP))
            self.flush()
            return False
        host = apop.hostname(self.config)
        if apop.offered(self.config, no_password=self.session.options.no_password):
            self.timestamp = apop.make_timestamp(host)
        self.send(protocol.ok(capabilities.greeting(self, host)))
        self.flush()
        return True

    def step(self) -> None:
        """Read one command line and answer it (into the output buffer)."""
        try:
            line = self.conn.readline(protocol.MAX_COMMAND_LINE)
        except LineTooLong:
            self.send(protocol.err(f"command line too long (at most {protocol.MAX_COMMAND_LINE} octets)"))
            return
        self.execute(protocol.parse_command(line))

    def execute(self, command: protocol.Command) -> None:
        from pop3d.commands import dispatch
        self.session.commands += 1
        self.session.title(command.name if dispatch.known(command.name) else "?",
                           self.maildrop.mailbox if self.maildrop is not None else None)
        closed = self.session.shutdown_message()
        if closed:
            raise Disconnect(protocol.err(closed, SYS_TEMP))
        try:
            reply = dispatch.run(self, command)
        except Err as failure:
            reply = protocol.err(failure.text, failure.code)
        except StoreError as error:
            log.warning(f"store error for {self.user} in {command.name}: {error} session={self.session.id}")
            reply = protocol.err("the mail store failed; try again later", SYS_TEMP)
        self.send(reply)

    def _say_goodbye(self, reply: bytes) -> None:
        try:
            self.send(reply)
            self.flush()
        except (ConnectionClosed, ConnectionTimeout):
            pass

    # ------------------------------------------------------------ logging in and out

    def count_login_failure(self, user: str | None, mechanism: str, reason: str) -> None:
        """Log, count, slow down; past max_login_failures the connection closes."""
        self.flush()
        if self.guard.failed(user, mechanism, reason):
            raise Disconnect(protocol.err("authentication failed; too many failures, closing the connection",
                                          AUTH))

    def end(self) -> None:
        """Whatever the way out: no commit, release the lock, close the store."""
        if self.maildrop is not None:
            counts = " ".join(f"{name}={value}" for name, value in self.counts.items())
            log.info(f"pop3 counts: {self.user} {self.maildrop.mailbox} {counts} session={self.session.id}")
        self.guard.logged_out()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if self.store is not None:
            self.store.close()
            self.store = None
        self.maildrop = None


def serve(session: Session) -> None:
    Pop3Server(session).run()
