"""The LMTP session as far as this build goes: greeting, LHLO, NOOP, RSET,
QUIT, STARTTLS on the shared runtime. Delivery arrives with issue 5; until
then MAIL gets a temporary failure (451 4.3.2), so an MTA keeps the mail
queued and nothing is lost.
"""

from __future__ import annotations

import socket

from pillarbox.connection import LineTooLong
from pillarbox.service import Session

MAX_LINE = 4096


class LmtpSession:
    def __init__(self, session: Session):
        self.session = session
        self.conn = session.conn
        self.hostname = session.config.getstr("servername") or socket.getfqdn()
        self.greeted = False

    def send(self, text: str) -> None:
        self.conn.write(text.encode("utf-8") + b"\r\n")

    def run(self) -> None:
        self.conn.set_timeout(300)
        closed = self.session.shutdown_message()
        if closed:
            self.send(f"421 4.3.2 {self.hostname} {closed}")
            return
        self.send(f"220 {self.hostname} LMTP pillarbox ready")
        while True:
            try:
                line = self.conn.readline(MAX_LINE)
            except LineTooLong:
                self.send("500 5.5.2 line too long")
                continue
            verb, _, args = line.decode("utf-8", "replace").strip().partition(" ")
            if not self.command(verb.upper(), args):
                return

    def command(self, verb: str, args: str) -> bool:
        self.session.commands += 1
        self.session.title(verb)
        if verb == "QUIT":
            self.send(f"221 2.0.0 {self.hostname} closing connection")
            return False
        if verb == "LHLO":
            self.lhlo(args)
        elif verb in ("NOOP", "RSET"):
            self.send("250 2.0.0 ok")
        elif verb == "STARTTLS":
            self.starttls()
        elif verb in ("MAIL", "RCPT", "DATA", "BDAT"):
            self.send("451 4.3.2 delivery is not yet available in this pillarbox build; try again later")
        elif verb == "VRFY":
            self.send("252 2.5.2 cannot verify users; send the message and we will try delivery")
        elif verb in ("HELO", "EHLO"):
            self.send("500 5.5.1 this is an LMTP server: use LHLO")
        else:
            self.send("500 5.5.2 unknown command")
        return True

    def lhlo(self, args: str) -> None:
        if not args.strip():
            self.send("501 5.5.4 LHLO needs a host name")
            return
        self.greeted = True
        lines = [self.hostname, "PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"]
        if self.session.tls_available():
            lines.append("STARTTLS")
        self.send("\r\n".join(f"250-{line}" for line in lines[:-1]) + f"\r\n250 {lines[-1]}")

    def starttls(self) -> None:
        if not self.session.tls_available():
            self.send("454 4.7.0 TLS not available")
            return
        self.send("220 2.0.0 ready to start TLS")
        self.session.start_tls()


def serve(session: Session) -> None:
    LmtpSession(session).run()
