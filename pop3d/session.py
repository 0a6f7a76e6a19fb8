"""The POP3 session as far as this build goes: greeting, CAPA, USER/PASS,
STLS, NOOP, QUIT on the shared runtime. The maildrop commands arrive with
issue 6; until then they get -ERR [SYS/TEMP].
"""

from __future__ import annotations

from pillarbox.auth import AuthConfigError, check_password
from pillarbox.connection import LineTooLong
from pillarbox.service import Session

MAX_LINE = 512          # RFC 2449: 255 octets of arguments, with room to spare
MAILDROP_COMMANDS = {"STAT", "LIST", "UIDL", "TOP", "RETR", "DELE", "RSET", "APOP", "AUTH"}


class Pop3Session:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        self.user_given: str | None = None

    def send(self, text: str) -> None:
        self.conn.write(text.encode("utf-8") + b"\r\n")

    def run(self) -> None:
        self.conn.set_timeout(max(self.session.config.getduration("poptimeout"), 600))
        closed = self.session.shutdown_message()
        if closed:
            self.send(f"-ERR [SYS/TEMP] {closed}")
            return
        self.send("+OK pillarbox POP3 server ready")
        while True:
            try:
                line = self.conn.readline(MAX_LINE)
            except LineTooLong:
                self.send("-ERR line too long")
                continue
            words = line.decode("utf-8", "replace").strip().split(" ")
            if not self.command(words[0].upper(), words[1:]):
                return

    def command(self, name: str, args: list[str]) -> bool:
        self.session.commands += 1
        self.session.title(name)
        if name == "QUIT":
            self.send("+OK pillarbox POP3 server signing off")
            return False
        if name == "NOOP" and self.session.user:
            self.send("+OK")
        elif name == "CAPA":
            self.send("+OK capability list follows\r\n" + "\r\n".join(self.capabilities()) + "\r\n.")
        elif name == "STLS":
            self.stls()
        elif name == "USER" and not self.session.user:
            self.user(args)
        elif name == "PASS" and not self.session.user:
            self.password(" ".join(args))
        elif name in MAILDROP_COMMANDS and self.session.user:
            self.send("-ERR [SYS/TEMP] maildrop access is not yet available in this pillarbox build")
        else:
            self.send(f"-ERR unknown command or not valid in this state: {name[:20]}")
        return True

    def capabilities(self) -> list[str]:
        caps = ["IMPLEMENTATION pillarbox", "RESP-CODES", "PIPELINING"]
        if self.session.plaintext_allowed() and not self.session.user:
            caps.append("USER")
        if self.session.tls_available():
            caps.append("STLS")
        return caps

    def stls(self) -> None:
        if self.session.user or not self.session.tls_available():
            self.send("-ERR STLS not available")
            return
        self.send("+OK begin TLS negotiation")
        self.session.start_tls()

    def user(self, args: list[str]) -> None:
        if not self.session.plaintext_allowed():
            self.send("-ERR [AUTH] plaintext authentication is disabled before STLS")
        elif len(args) != 1 or not args[0]:
            self.send("-ERR USER needs one name")
        else:
            self.user_given = args[0]
            self.send("+OK send PASS")

    def password(self, password: str) -> None:
        user = self.user_given
        if user is None:
            self.send("-ERR send USER first")
            return
        self.user_given = None
        try:
            ok = self.session.options.no_password or check_password(self.session.config, user, password)
        except AuthConfigError as exc:
            self.session.login_failed(user, "USER", str(exc))
            self.send("-ERR [SYS/TEMP] authentication is not configured")
            return
        if not ok:
            self.session.login_failed(user, "USER", "authentication failed")
            self.send("-ERR [AUTH] invalid user name or password")
            return
        self.session.login_succeeded(user, "USER")
        self.send(f"+OK {user} logged in")


def serve(session: Session) -> None:
    Pop3Session(session).run()
