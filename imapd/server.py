"""One IMAP connection: the state machine, the command loop, and replies.

Commands live one per module in imapd/commands/; each is a function
`handle(server, command) -> str | None` that raises No/Bad for failures and
returns the tagged OK text (or a (text, code) pair). This module reads
commands (assembling literals), checks the state, runs the handler, sends
untagged updates at the moments the RFCs allow, and writes every reply of a
command in one send.
"""

from __future__ import annotations


from imapd import capabilities
from imapd.errors import Bad, Bye, CommandFailed, No
from imapd.protocol.formatter import tagged
from imapd.protocol.parser import ParsedCommand, parse_command
from imapd.protocol.reader import CommandAssembler, ProtocolError
from imapd.selected import SelectedMailbox, UidValidityChanged
from pillarbox import log
from pillarbox.connection import ConnectionClosed, ConnectionTimeout, LineTooLong
from pillarbox.mailboxname import Namespace
from pillarbox.auth import passwd_file
from pillarbox.logins import LoginGuard
from pillarbox.service import HandedOff, Session, Terminated
from pillarbox.store import StoreError, UserStore

NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT = "not authenticated", "authenticated", "selected", "logout"
MAX_LITERAL_DEFAULT = 64 * 1024 * 1024
# commands during which EXPUNGE/VANISHED must not be sent (RFC 3501 7.4.1)
NO_EXPUNGE_DURING = {"FETCH", "STORE", "SEARCH"}


class ImapServer:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        self.config = session.config
        self.state = NOT_AUTHENTICATED
        self.user: str | None = None
        self.store: UserStore | None = None
        self.selected: SelectedMailbox | None = None
        self.enabled: set[str] = set()
        self.namespace = Namespace.from_config(self.config)
        self.guard = LoginGuard(session)
        self.saved_search: list[int] = []       # SEARCHRES "$" (UIDs)
        self.out: list[bytes] = []
        self.max_line = self.config.getint("max_line_length")
        self.max_literal = self.config.getint("maxmessagesize") or MAX_LITERAL_DEFAULT

    # ------------------------------------------------------------ facts

    @property
    def imap4rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    @property
    def utf8(self) -> bool:
        return "UTF8=ACCEPT" in self.enabled or self.imap4rev2

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled or "QRESYNC" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    # ------------------------------------------------------------ output

    def send(self, data: bytes) -> None:
        self.out.append(data)

    def untagged(self, text: str) -> None:
        self.out.append(b"* " + text.encode("utf-8", "surrogateescape") + b"\r\n")

    def flush(self) -> None:
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.conn.write(data)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        self.conn.set_timeout(max(self.config.getduration("timeout"), 30 * 60))
        try:
            if self.session.resumed is not None:
                self.resume(self.session.resumed)
            elif not self.greet():
                return
            while self.state != LOGOUT:
                command = self.read_command()
                if command is not None:
                    self.execute(command)
                self.flush()
        except Bye as bye:
            self.send(b"* BYE " + bye.text.encode() + b"\r\n")
            self.flush()
        except ConnectionTimeout:
            self.out.clear()
            try:
                self.conn.write(b"* BYE autologout: idle for too long\r\n")
            except (ConnectionClosed, ConnectionTimeout):
                pass
            raise
        finally:
            self.close_store()

    def greet(self) -> bool:
        closed = self.session.shutdown_message()
        if closed:
            self.send(b"* BYE " + closed.encode() + b"\r\n")
            self.flush()
            return False
        from imapd import preauth
        if preauth.shell_maildir(self.session) is not None:
            preauth.start(self)
        else:
            self.untagged(f"OK [CAPABILITY {capabilities.listing(self)}] pillarbox IMAP4rev1/IMAP4rev2 ready")
        motd = self.session.motd()
        if motd:
            self.untagged(f"OK [ALERT] {motd}")
        self.flush()
        return True

    def resume(self, state: dict) -> None:
        """Take back a session that hibernated in IDLE, and finish that IDLE."""
        from imapd import hibernate
        from imapd.commands import idle
        tag = state["idle"]["tag"]
        try:
            hibernate.restore(self, state)
            text = idle.resume(self, tag, state["idle"]["deadline"])
        except UidValidityChanged as changed:
            raise Bye(f"mailbox {changed} was deleted or recreated by another session") from None
        except StoreError as error:
            log.error(f"cannot resume session {self.session.id} of {self.user}: {error}")
            raise Bye("your mailbox is unavailable; try again later") from None
        except CommandFailed as failure:
            self.send(tagged(tag, failure.status, failure.text, failure.code))
        else:
            self.send(tagged(tag, "OK", text))
        self.flush()

    def read_command(self) -> ParsedCommand | None:
        assembler = CommandAssembler(max_line=self.max_line, max_literal=self.max_literal,
                                     max_command=self.max_literal + self.max_line)
        try:
            line = self.conn.readline(self.max_line)
            if not line.strip():
                return None
            while (request := assembler.add_line(line)) is not None:
                if request.discard:
                    self._drop_literal(assembler, request.size)
                else:
                    if request.synchronizing:
                        self.send(b"+ Ready for literal data\r\n")
                        self.flush()
                    assembler.add_literal(self.conn.read_exact(request.size))
                line = self.conn.readline(self.max_line)
            name = assembler.peek().name
            return parse_command(assembler.take())
        except LineTooLong as error:
            tag = _tag_of(error.prefix)
            self.send(tagged(tag or "*", "BAD", f"command line longer than {error.limit} octets", "TOOBIG"))
        except ProtocolError as error:
            self._protocol_error(error, locals().get("name"))
        return None

    def _drop_literal(self, assembler: CommandAssembler, size: int) -> None:
        """A refused non-synchronizing literal: read and drop it in pieces, never all in memory."""
        remaining = size
        while remaining:
            chunk = self.conn.read_exact(min(remaining, 1 << 20))
            assembler.add_literal(chunk)
            remaining -= len(chunk)

    def _protocol_error(self, error: ProtocolError, command_name: str | None) -> None:
        if error.fatal:
            raise Bye(str(error))
        # an APPEND over APPENDLIMIT is a refusal the client can recover from (as Dovecot answers it)
        status = "NO" if error.code == "TOOBIG" and (command_name or "").upper() == "APPEND" else error.status
        self.send(tagged(error.tag or "*", status, str(error), error.code))

    def execute(self, command: ParsedCommand) -> None:
        from imapd.commands import dispatch
        self.session.commands += 1
        self.session.title(command.name, self.selected.external if self.selected is not None else None)
        try:
            self._maybe_shutdown()
            result = dispatch.run(self, command)
            if isinstance(result, dispatch.NoReply):
                return
            self.tell_updates(command)
            text, code = (result if isinstance(result, tuple) else (result, None))
            self.send(tagged(command.tag, "OK", text or f"{command.name} completed", code))
        except CommandFailed as failure:
            self.tell_updates(command)
            self.send(tagged(command.tag, failure.status, failure.text, failure.code))
        except UidValidityChanged as changed:
            raise Bye(f"mailbox {changed} was deleted or recreated by another session") from None
        except StoreError as error:
            log.warning(f"store error for {self.user} in {command.name}: {error}")
            self.send(tagged(command.tag, "NO", str(error), "SERVERBUG"))
        except (Bye, ConnectionClosed, ConnectionTimeout, Terminated, HandedOff):
            raise
        except Exception:           # a bug in one command: say so, log it, keep the session
            import traceback
            log.error(f"internal error in {command.name} for {self.user or '-'} session={self.session.id}: "
                      + " | ".join(traceback.format_exc().strip().splitlines()))
            self.out.clear()
            self.send(tagged(command.tag, "NO", "internal server error; the administrator can find it in the log",
                             "SERVERBUG"))

    def _maybe_shutdown(self) -> None:
        closed = self.session.shutdown_message()
        if closed:
            raise Bye(closed)

    def tell_updates(self, command: ParsedCommand | None, *, allow_expunge: bool | None = None) -> None:
        """Untagged EXISTS/EXPUNGE/FETCH for changes made by anyone since we last looked."""
        if self.selected is None or self.store is None or self.state != SELECTED:
            return
        if allow_expunge is None:
            name = command.name if command else "NOOP"
            if name == "UID":
                allow_expunge = True
            else:
                allow_expunge = name not in NO_EXPUNGE_DURING
        for response in self.selected.poll(self.store, allow_expunge=allow_expunge, qresync=self.qresync,
                                           condstore=self.condstore, imap4rev2=self.imap4rev2):
            self.send(response)

    # ------------------------------------------------------------ logging in

    def login(self, user: str, mechanism: str, *, authcid: str | None = None) -> None:
        """Open the user's store and move to the authenticated state. The user must
        exist in the password file: a verified password proves it, but with -N or
        an admin acting for someone else it is looked up here."""
        unchecked = self.session.options.no_password or (authcid is not None and authcid != user)
        if unchecked and passwd_file(self.config).lookup(user) is None:
            self.login_failed(user, mechanism, "no such user")
            raise No("invalid user name or password", "AUTHENTICATIONFAILED")
        refusal = self.guard.over_limit(user)
        if refusal:
            raise No(refusal, "LIMIT")
        try:
            self.store = UserStore.open(self.config, user)
        except StoreError as error:
            log.error(f"cannot open the store of {user}: {error}")
            raise No("your mailbox is unavailable; try again later", "UNAVAILABLE") from None
        self.user = user
        self.state = AUTHENTICATED
        self.session.login_succeeded(user, mechanism)
        if authcid and authcid != user:
            log.notice(f"login: {self.session.peer} {authcid} acting for {user} ({mechanism}) "
                       f"session={self.session.id}")
        self.guard.logged_in(user)

    def login_failed(self, user: str | None, mechanism: str, reason: str) -> None:
        """Log, count, slow down; past max_login_failures close the connection."""
        self.flush()
        if self.guard.failed(user, mechanism, reason):
            raise Bye("too many failed logins")

    def close_store(self) -> None:
        self.guard.logged_out()
        if self.store is not None:
            self.store.close()
            self.store = None

    def require_store(self) -> UserStore:
        if self.store is None:
            raise Bad("not logged in")
        return self.store


def _tag_of(prefix: bytes) -> str | None:
    """The tag at the start of a discarded line, if it looks like one."""
    tag = prefix.split(b" ", 1)[0].decode("ascii", "replace")
    if tag and len(prefix.split(b" ", 1)) == 2 and all(c.isalnum() or c in ".-_" for c in tag) and len(tag) <= 64:
        return tag
    return None
