"""The LMTP session state machine (RFC 2033 on RFC 5321), without I/O.

The I/O layer (lmtpd/session.py) feeds it lines and writes what it returns;
the admin's choices -- who is a recipient, where mail goes, what quota
means -- are a Handler's (lmtpd/policy.py), in the manner of aiosmtpd's
handle_MAIL/handle_RCPT/handle_DATA hooks. The machine owns the order of
commands, the syntax, the limits and the enhanced status codes.

    machine = Machine(handler, settings)
    write(machine.greeting())
    step = machine.receive(line)          # Step(replies, action)
    if step.action is DELIVER: step = machine.deliver()

Actions the I/O layer carries out: START_TLS (after writing the 220),
CLOSE (after writing the replies), DELIVER (call deliver(), which runs the
handler's delivery; the I/O layer shields it from SIGTERM).
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass, field
from typing import Protocol

from lmtpd.data import DataReader, ReceivedMessage
from lmtpd.protocol import (Command, Path, ProtocolError, Reply, decode_xtext, parse_command, parse_mail_from,
                            parse_rcpt_to)
from pillarbox.sasl import PLAINTEXT_MECHANISMS, SaslError

START_TLS = "starttls"
CLOSE = "close"
DELIVER = "deliver"

COMMAND_LINE_LIMIT = 4096          # RFC 5321 asks for 512; parameters make lines longer
AUTH_LINE_LIMIT = 12288            # RFC 4954 4: at least 12288 octets for AUTH lines
DEFAULT_MAX_RECIPIENTS = 1000      # RFC 5321 4.5.3.1.8: at least 100


class Mode(enum.Enum):
    COMMAND = "command"
    DATA = "data"
    AUTH = "auth"
    CLOSED = "closed"


@dataclass
class Step:
    replies: list[Reply] = field(default_factory=list)
    action: str | None = None


@dataclass
class Accepted:
    """A recipient that got 250 to RCPT, with the handler's resolution of it."""
    path: Path
    target: object


@dataclass
class Envelope:
    sender: Path
    size: int | None                 # SIZE= (RFC 1870), if given
    body: str | None                 # BODY= (RFC 6152), if given
    lhlo: str
    tls: bool
    auth_user: str | None            # who authenticated (None: trusted channel or none)
    recipients: list[Accepted] = field(default_factory=list)


@dataclass
class Settings:
    hostname: str
    max_size: int = 0                # maxmessagesize; 0: no limit
    max_line: int = 65536            # longest line inside DATA
    trusted: bool = False            # -a, or a UNIX socket: no AUTH needed
    tls_available: bool = False      # STARTTLS can be offered now
    tls_active: bool = False         # the connection is already TLS (e.g. lmtpd -s)
    secure: bool = False             # TLS or a channel master vouched for: plaintext SASL is fine
    allow_plaintext: bool = False    # allowplaintext
    reject_8bit_headers: bool = False
    allow_8bit_addresses: bool = False
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    max_auth_failures: int = 3


class Handler(Protocol):
    """The policy hooks. Replies they return go to the client as they are."""

    def handle_mail(self, envelope: Envelope) -> Reply | None: ...
    def handle_rcpt(self, envelope: Envelope, path: Path) -> tuple[Reply, object]: ...
    def handle_data(self, envelope: Envelope, message: ReceivedMessage) -> list[Reply]: ...
    def auth_mechanisms(self, *, plaintext_ok: bool) -> list[str]: ...
    def new_mechanism(self, name: str): ...
    def authorize(self, identity, mechanism: str) -> str: ...
    def auth_failed(self, who: str | None, mechanism: str, reason: str) -> None: ...


OK = Reply(250, "2.0.0", "Ok")


class Machine:
    def __init__(self, handler: Handler, settings: Settings):
        self.handler = handler
        self.settings = settings
        self.mode = Mode.COMMAND
        self.lhlo: str | None = None
        self.tls = settings.tls_active
        self.auth_user: str | None = None
        self.auth_failures = 0
        self.envelope: Envelope | None = None
        self._reader: DataReader | None = None
        self._message: ReceivedMessage | None = None
        self._mechanism = None
        self._mechanism_name = ""

    # ------------------------------------------------------------ facts

    @property
    def line_limit(self) -> int:
        if self.mode is Mode.DATA:
            return self.settings.max_line + 2
        if self.mode is Mode.AUTH:
            return AUTH_LINE_LIMIT
        return COMMAND_LINE_LIMIT

    @property
    def trusted(self) -> bool:
        return self.settings.trusted or self.auth_user is not None

    @property
    def plaintext_ok(self) -> bool:
        return self.tls or self.settings.secure or self.settings.allow_plaintext

    def greeting(self) -> Reply:
        return Reply(220, None, f"{self.settings.hostname} LMTP pillarbox ready")

    def extensions(self) -> list[str]:
        listed = ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME",
                  f"SIZE {self.settings.max_size}" if self.settings.max_size else "SIZE"]
        if self.settings.tls_available and not self.tls:
            listed.append("STARTTLS")
        if not self.trusted:
            mechanisms = self.handler.auth_mechanisms(plaintext_ok=self.plaintext_ok)
            if mechanisms:
                listed.append("AUTH " + " ".join(mechanisms))
        return listed

    # ------------------------------------------------------------ input

    def receive(self, line: bytes) -> Step:
        if self.mode is Mode.DATA:
            return self.data_line(line) or Step()
        if self.mode is Mode.AUTH:
            return self._auth_line(line)
        if self.mode is Mode.CLOSED:
            return Step()
        try:
            command = parse_command(line)
        except ProtocolError as exc:
            return Step([exc.reply])
        handler = getattr(self, f"_cmd_{command.verb.lower()}", None)
        if handler is None:
            return Step([_UNKNOWN.get(command.verb, Reply(500, "5.5.2", "Syntax error, command unrecognized"))])
        try:
            return handler(command)
        except ProtocolError as exc:
            return Step([exc.reply])

    def line_too_long(self) -> Step:
        """The line exceeded line_limit; the I/O layer discarded it up to its LF."""
        if self.mode is Mode.DATA:
            self._reader.line_too_long()
            return Step()
        if self.mode is Mode.AUTH:
            self._end_auth()
            return Step([Reply(500, "5.5.6", "Authentication exchange line is too long")])
        return Step([Reply(500, "5.5.2", f"Line too long (more than {COMMAND_LINE_LIMIT} octets)")])

    def tls_started(self) -> None:
        """RFC 3207 4.2: after the handshake, forget everything learnt before it."""
        self.tls = True
        self.lhlo = None
        self.envelope = None

    def deliver(self) -> Step:
        """After a DELIVER action: hand the message to the handler, one reply per recipient."""
        envelope, message = self.envelope, self._message
        self.envelope, self._message = None, None
        replies = self.handler.handle_data(envelope, message)
        if len(replies) != len(envelope.recipients):
            raise RuntimeError(f"handler gave {len(replies)} replies for {len(envelope.recipients)} recipients")
        return Step(list(replies))

    # ------------------------------------------------------------ commands

    def _cmd_lhlo(self, command: Command) -> Step:
        name = command.args.strip()
        if not name or b" " in name:
            return Step([Reply(501, "5.5.4", "Syntax: LHLO hostname")])
        try:
            self.lhlo = name.decode("ascii")
        except UnicodeDecodeError:
            return Step([Reply(501, "5.5.4", "8-bit characters in the LHLO host name")])
        self.envelope = None
        return Step([Reply(250, None, (self.settings.hostname, *self.extensions()))])

    def _cmd_helo(self, command: Command) -> Step:
        return Step([Reply(500, "5.5.1", "This is an LMTP server (RFC 2033): use LHLO")])

    _cmd_ehlo = _cmd_helo

    def _cmd_noop(self, command: Command) -> Step:
        return Step([OK])

    def _cmd_rset(self, command: Command) -> Step:
        if command.args.strip():
            return Step([Reply(501, "5.5.4", "Syntax: RSET")])
        self.envelope = None
        return Step([OK])

    def _cmd_quit(self, command: Command) -> Step:
        self.mode = Mode.CLOSED
        return Step([Reply(221, "2.0.0", f"{self.settings.hostname} closing connection")], CLOSE)

    def _cmd_vrfy(self, command: Command) -> Step:
        return Step([Reply(252, "2.5.2", "Cannot VRFY user, but will accept the message and attempt delivery")])

    def _cmd_help(self, command: Command) -> Step:
        return Step([Reply(214, "2.0.0", "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH VRFY "
                                         "(RFC 2033, RFC 5321)")])

    def _cmd_starttls(self, command: Command) -> Step:
        if command.args.strip():
            return Step([Reply(501, "5.5.4", "Syntax: STARTTLS")])
        if self.tls:
            return Step([Reply(503, "5.5.1", "TLS is already active")])
        if not self.settings.tls_available:
            return Step([Reply(454, "4.7.0", "TLS not available")])
        if self.envelope is not None:
            return Step([Reply(503, "5.5.1", "STARTTLS in the middle of a mail transaction: RSET first")])
        return Step([Reply(220, "2.0.0", "Ready to start TLS")], START_TLS)

    def _require_lhlo(self) -> None:
        if self.lhlo is None:
            raise ProtocolError(Reply(503, "5.5.1", "Bad sequence of commands: LHLO first"))

    def _cmd_mail(self, command: Command) -> Step:
        self._require_lhlo()
        if self.envelope is not None:
            return Step([Reply(503, "5.5.1", "Bad sequence of commands: nested MAIL command")])
        if not self.trusted:
            return Step([Reply(530, "5.7.0", "Authentication required")])
        path = parse_mail_from(command.args, allow_8bit=self.settings.allow_8bit_addresses)
        size, body = self._mail_params(path)
        self.envelope = Envelope(path, size, body, self.lhlo, self.tls, self.auth_user)
        refusal = self.handler.handle_mail(self.envelope)
        if refusal is not None and not refusal.positive:
            self.envelope = None
            return Step([refusal])
        return Step([refusal or Reply(250, "2.1.0", "Sender ok")])

    def _mail_params(self, path: Path) -> tuple[int | None, str | None]:
        size = body = None
        for keyword, value in path.params.items():
            if keyword == "SIZE":
                if value is None or not value.isdigit() or len(value) > 20:
                    raise ProtocolError(Reply(501, "5.5.4", "Syntax: SIZE=<octets>"))
                size = int(value)
                if self.settings.max_size and size > self.settings.max_size:
                    raise ProtocolError(Reply(552, "5.3.4", f"Message size exceeds fixed maximum message size "
                                                            f"({self.settings.max_size} octets)"))
            elif keyword == "BODY":
                body = (value or "").upper()
                if body not in ("7BIT", "8BITMIME"):
                    raise ProtocolError(Reply(501 if body != "BINARYMIME" else 504, "5.5.4",
                                              "BODY must be 7BIT or 8BITMIME"))
            elif keyword == "AUTH":
                # RFC 4954 5: the original submitter; accepted and not used
                decode_xtext(value or "")
            else:
                raise ProtocolError(Reply(555, "5.5.4", f"MAIL parameter {keyword} is not supported"))
        return size, body

    def _cmd_rcpt(self, command: Command) -> Step:
        self._require_lhlo()
        if self.envelope is None:
            return Step([Reply(503, "5.5.1", "Bad sequence of commands: MAIL first")])
        path = parse_rcpt_to(command.args, allow_8bit=self.settings.allow_8bit_addresses)
        if path.params:
            keyword = next(iter(path.params))
            return Step([Reply(555, "5.5.4", f"RCPT parameter {keyword} is not supported")])
        if len(self.envelope.recipients) >= self.settings.max_recipients:
            return Step([Reply(452, "4.5.3", "Too many recipients")])
        reply, target = self.handler.handle_rcpt(self.envelope, path)
        if reply.positive:
            self.envelope.recipients.append(Accepted(path, target))
        return Step([reply])

    def _cmd_data(self, command: Command) -> Step:
        self._require_lhlo()
        if command.args.strip():
            return Step([Reply(501, "5.5.4", "Syntax: DATA")])
        if self.envelope is None:
            return Step([Reply(503, "5.5.1", "Bad sequence of commands: MAIL first")])
        if not self.envelope.recipients:
            return Step([Reply(503, "5.5.1", "No valid recipients")])
        self.mode = Mode.DATA
        self._reader = DataReader(self.settings.max_size, reject_8bit_headers=self.settings.reject_8bit_headers,
                                  max_line=self.settings.max_line)
        return Step([Reply(354, None, "Start mail input; end with <CRLF>.<CRLF>")])

    def data_line(self, line: bytes) -> Step | None:
        """A line of the message in DATA mode; None until the terminator (the I/O layer's fast path)."""
        message = self._reader.feed(line)
        if message is None:
            return None
        self.mode = Mode.COMMAND
        self._reader = None
        if message.problem is not None:
            count = len(self.envelope.recipients)
            self.envelope = None
            return Step([message.problem] * count)
        self._message = message
        return Step([], DELIVER)

    # ------------------------------------------------------------ AUTH (RFC 4954)

    def _cmd_auth(self, command: Command) -> Step:
        self._require_lhlo()
        if self.trusted:
            return Step([Reply(503, "5.5.1", "Already authenticated")])
        if self.envelope is not None:
            return Step([Reply(503, "5.5.1", "AUTH is not allowed in a mail transaction")])
        words = command.args.split()
        if not 1 <= len(words) <= 2:
            return Step([Reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")])
        name = words[0].decode("ascii", "replace").upper()
        offered = self.handler.auth_mechanisms(plaintext_ok=self.plaintext_ok)
        if name not in offered:
            if name in PLAINTEXT_MECHANISMS and name in self.handler.auth_mechanisms(plaintext_ok=True):
                return Step([Reply(538, "5.7.11", "Encryption required for requested authentication mechanism")])
            return Step([Reply(504, "5.5.4", f"Unrecognized authentication mechanism {name}")])
        self._mechanism = self.handler.new_mechanism(name)
        self._mechanism_name = name
        self.mode = Mode.AUTH
        if len(words) == 2:
            return self._auth_response(words[1])
        return self._auth_step(None)

    def _auth_line(self, line: bytes) -> Step:
        return self._auth_response(line.strip())

    def _auth_response(self, text: bytes) -> Step:
        if text == b"*":
            self._end_auth()
            return Step([Reply(501, "5.7.0", "Authentication canceled")])
        if text == b"=":
            return self._auth_step(b"")
        try:
            response = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self._end_auth()
            return Step([Reply(501, "5.5.2", "Cannot decode response (not base64)")])
        return self._auth_step(response)

    def _auth_step(self, response: bytes | None) -> Step:
        mechanism = self._mechanism
        try:
            challenge = mechanism.step(response)
            if not mechanism.done:
                return Step([Reply(334, None, base64.b64encode(challenge or b"").decode("ascii"))])
            user = self.handler.authorize(mechanism.identity, self._mechanism_name)
        except SaslError as exc:
            return self._auth_failed(exc)
        self._end_auth()
        self.auth_user = user
        return Step([Reply(235, "2.7.0", "Authentication successful")])

    def _auth_failed(self, exc: Exception) -> Step:
        mechanism = self._mechanism
        identity = getattr(mechanism, "identity", None)
        who = identity.authcid if identity else getattr(mechanism, "user", None) or None
        self.handler.auth_failed(who, self._mechanism_name, str(exc))
        self._end_auth()
        self.auth_failures += 1
        if self.auth_failures >= self.settings.max_auth_failures:
            self.mode = Mode.CLOSED
            return Step([Reply(535, "5.7.8", "Authentication credentials invalid"),
                         Reply(421, "4.7.0", f"{self.settings.hostname} too many failed authentications")], CLOSE)
        return Step([Reply(535, "5.7.8", "Authentication credentials invalid")])

    def _end_auth(self) -> None:
        self._mechanism = None
        self.mode = Mode.COMMAND


_UNKNOWN = {
    "BDAT": Reply(502, "5.5.1", "BDAT is not implemented (CHUNKING is not offered)"),
    "EXPN": Reply(502, "5.5.1", "EXPN is not implemented"),
    "TURN": Reply(502, "5.5.1", "TURN is not implemented"),
    "ETRN": Reply(502, "5.5.1", "ETRN is not implemented"),
    "SEND": Reply(502, "5.5.1", "SEND is not implemented"),
    "SAML": Reply(502, "5.5.1", "SAML is not implemented"),
    "SOML": Reply(502, "5.5.1", "SOML is not implemented"),
}
