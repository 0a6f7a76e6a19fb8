"""The IMAP session as far as this build goes: greeting, CAPABILITY, NOOP,
LOGOUT, STARTTLS and LOGIN on the shared runtime. Mailbox access (SELECT and
everything after it) arrives with the full IMAP4rev1/rev2 engine (issue 4);
until then those commands get a clear NO [UNAVAILABLE].
"""

from __future__ import annotations

import getpass
import os

from pillarbox.auth import AuthConfigError, check_password
from pillarbox.connection import LineTooLong
from pillarbox.service import Session

NOT_YET = b"NO [UNAVAILABLE] mailbox access is not yet available in this pillarbox build"


def courier_maildir(session: Session) -> str | None:
    """Started from a shell with a Maildir: `imapd ./Maildir` or MAILDIR=..."""
    if session.conn.is_socket:
        return None
    return (session.options.args[0] if session.options.args else None) or os.environ.get("MAILDIR")


def capabilities(session: Session) -> str:
    caps = ["IMAP4rev1"]
    if session.tls_available():
        caps.append("STARTTLS")
    if session.user is None and not session.plaintext_allowed():
        caps.append("LOGINDISABLED")
    return " ".join(caps)


def parse_words(text: str) -> list[str]:
    """Atoms and quoted strings (enough for LOGIN); literals arrive with issue 4."""
    words, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] == '"':
            j, word = i + 1, []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                word.append(text[j])
                j += 1
            if j >= len(text):
                raise ValueError("unterminated quoted string")
            words.append("".join(word))
            i = j + 1
        elif text[i] == "{":
            raise ValueError("literals are not yet supported by this build")
        else:
            j = text.find(" ", i)
            j = len(text) if j < 0 else j
            words.append(text[i:j])
            i = j
    return words


class ImapSession:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        self.limit = session.config.getint("max_line_length")

    def send(self, *lines: bytes) -> None:
        self.conn.write(b"".join(line + b"\r\n" for line in lines))

    def greet(self) -> bool:
        closed = self.session.shutdown_message()
        if closed:
            self.send(b"* BYE " + closed.encode())
            return False
        maildir = courier_maildir(self.session)
        if maildir is not None:
            self.session.login_succeeded(getpass.getuser(), "PREAUTH")
            greeting = f"* PREAUTH [CAPABILITY {capabilities(self.session)}] {maildir}: pillarbox IMAP ready"
        else:
            greeting = f"* OK [CAPABILITY {capabilities(self.session)}] pillarbox IMAP server ready"
        lines = [greeting.encode()]
        motd = self.session.motd()
        if motd:
            lines.append(b"* OK [ALERT] " + motd.encode())
        self.send(*lines)
        return True

    def run(self) -> None:
        self.conn.set_timeout(max(self.session.config.getduration("timeout"), 30 * 60))
        if not self.greet():
            return
        while True:
            try:
                line = self.conn.readline(self.limit)
            except LineTooLong:
                self.send(b"* BAD [TOOBIG] line too long")
                continue
            closed = self.session.shutdown_message()
            if closed:
                self.send(b"* BYE " + closed.encode())
                return
            if not self.command(line.rstrip(b"\r\n").decode("utf-8", "replace")):
                return

    def command(self, text: str) -> bool:
        tag, _, rest = text.partition(" ")
        name, _, args = rest.partition(" ")
        if not tag or not name or any(c in tag for c in '(){%*"\\+'):
            self.send(b"* BAD invalid tag or missing command")
            return True
        self.session.commands += 1
        name = name.upper()
        self.session.title(name)
        handler = getattr(self, "cmd_" + name.lower(), None) if name.isalpha() else None
        if handler is None:
            self.reply(tag, b"BAD unknown command " + name.encode()[:40])
            return True
        return handler(tag, args) is not False

    def reply(self, tag: str, text: bytes) -> None:
        self.send(tag.encode() + b" " + text)

    def cmd_capability(self, tag: str, args: str) -> None:
        self.send(f"* CAPABILITY {capabilities(self.session)}".encode())
        self.reply(tag, b"OK CAPABILITY completed")

    def cmd_noop(self, tag: str, args: str) -> None:
        self.reply(tag, b"OK NOOP completed")

    def cmd_logout(self, tag: str, args: str) -> bool:
        self.send(b"* BYE pillarbox logging out", tag.encode() + b" OK LOGOUT completed")
        return False

    def cmd_starttls(self, tag: str, args: str) -> None:
        if not self.session.tls_available():
            self.reply(tag, b"BAD STARTTLS not available" if not self.conn.tls else b"BAD TLS already active")
            return
        self.reply(tag, b"OK begin TLS negotiation now")
        self.session.start_tls()

    def cmd_login(self, tag: str, args: str) -> None:
        if self.session.user is not None:
            self.reply(tag, b"BAD already authenticated")
            return
        try:
            words = parse_words(args)
        except ValueError as exc:
            self.reply(tag, b"BAD " + str(exc).encode())
            return
        if len(words) != 2:
            self.reply(tag, b"BAD LOGIN needs a user name and a password")
            return
        if not self.session.plaintext_allowed():
            self.session.login_failed(words[0], "LOGIN", "plaintext before TLS")
            self.reply(tag, b"NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS")
            return
        self.login(tag, *words)

    def login(self, tag: str, user: str, password: str) -> None:
        try:
            ok = self.session.options.no_password or check_password(self.session.config, user, password)
        except AuthConfigError as exc:
            self.session.login_failed(user, "LOGIN", str(exc))
            self.reply(tag, b"NO [UNAVAILABLE] authentication is not configured")
            return
        if not ok:
            self.session.login_failed(user, "LOGIN", "authentication failed")
            self.reply(tag, b"NO [AUTHENTICATIONFAILED] invalid user name or password")
            return
        self.session.login_succeeded(user, "LOGIN")
        self.send(f"{tag} OK [CAPABILITY {capabilities(self.session)}] {user} logged in".encode())

    def cmd_authenticate(self, tag: str, args: str) -> None:
        self.reply(tag, b"NO [CANNOT] SASL authentication is not yet available in this build; use LOGIN")

    def __getattr__(self, name: str):
        if name.startswith("cmd_") and name[4:].upper() in MAILBOX_COMMANDS:
            return self._not_yet
        raise AttributeError(name)

    def _not_yet(self, tag: str, args: str) -> None:
        if self.session.user is None:
            self.reply(tag, b"BAD command not valid before LOGIN")
        else:
            self.reply(tag, NOT_YET)


MAILBOX_COMMANDS = {"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST",
                    "LSUB", "NAMESPACE", "STATUS", "APPEND", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE",
                    "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID", "ENABLE", "ID"}


def serve(session: Session) -> None:
    ImapSession(session).run()
