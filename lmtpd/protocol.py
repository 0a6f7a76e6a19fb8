"""LMTP/SMTP syntax without I/O: command lines in, replies out (RFC 5321, RFC 2033).

    command = parse_command(b"MAIL FROM:<a@example.org> SIZE=123\\r\\n")
    path = parse_mail_from(command.args)    # ReversePath(address, params)
    Reply(250, "2.1.0", "Ok").encode()      # b"250 2.1.0 Ok\\r\\n"

Addresses follow RFC 5321 section 4.1.2: ``<local@domain>`` with an
optional (ignored) source route, a local part that is a dot-string or a
quoted string with quoted pairs, a domain of LDH labels or an address
literal, and esmtp-parameters after the path. Recipients may omit the
domain (``<postmaster>``, and LMTP's local ``<user>``). The module never
touches a socket; every error is a ProtocolError carrying its reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------- replies


@dataclass(frozen=True)
class Reply:
    """One reply: code, enhanced status (RFC 3463; None where RFC 2034 has none), text lines."""
    code: int
    status: str | None
    text: str | tuple[str, ...] = ""

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.text,) if isinstance(self.text, str) else self.text

    @property
    def positive(self) -> bool:
        return self.code < 400

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def encode(self) -> bytes:
        lines = self.lines or ("",)
        out = []
        for number, line in enumerate(lines):
            separator = " " if number == len(lines) - 1 else "-"
            words = [word for word in (self.status, _printable(line)) if word]
            out.append(f"{self.code}{separator}{' '.join(words)}\r\n")
        return "".join(out).encode("utf-8")

    def __str__(self) -> str:
        return self.encode().decode("utf-8").rstrip("\r\n").replace("\r\n", " | ")


def _printable(text: str) -> str:
    """Reply text is one line of printable characters, whatever went into it."""
    return "".join(c if c >= " " and c != "\x7f" else "?" for c in text)


class ProtocolError(Exception):
    """Bad input; `reply` is what the client gets."""

    def __init__(self, reply: Reply):
        super().__init__(str(reply))
        self.reply = reply


def error(code: int, status: str, text: str) -> ProtocolError:
    return ProtocolError(Reply(code, status, text))


# ---------------------------------------------------------------- command lines


@dataclass(frozen=True)
class Command:
    verb: str           # upper case: "MAIL", "RCPT", ...
    args: bytes         # everything after the verb and one space, without the line end


_VERB = re.compile(rb"[A-Za-z]{1,16}")


def parse_command(line: bytes) -> Command:
    """A command line (with its CRLF, or a bare LF as lenient servers accept) -> Command."""
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    if b"\0" in line:
        raise error(500, "5.5.2", "NUL character in command line")
    if b"\r" in line or b"\n" in line:
        raise error(500, "5.5.2", "bare CR or LF in command line")
    verb, _, args = line.partition(b" ")
    if not _VERB.fullmatch(verb):
        raise error(500, "5.5.2", "Syntax error, command unrecognized")
    return Command(verb.decode("ascii").upper(), args)


# ---------------------------------------------------------------- addresses

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_STRING = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_DOT_STRING_UTF8 = re.compile(rf"(?:[{_ATEXT}]|[^\x00-\x7f])+(?:\.(?:[{_ATEXT}]|[^\x00-\x7f])+)*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_LABEL_UTF8 = r"(?:[A-Za-z0-9]|[^\x00-\x7f])(?:(?:[A-Za-z0-9-]|[^\x00-\x7f])*(?:[A-Za-z0-9]|[^\x00-\x7f]))?"
_DOMAIN_UTF8 = re.compile(rf"{_LABEL_UTF8}(?:\.{_LABEL_UTF8})*\.?")
_ADDRESS_LITERAL = re.compile(r"\[(?:[0-9.]+|IPv6:[0-9A-Fa-f:.]+|[A-Za-z0-9-]*[A-Za-z0-9]:[!-Z^-~]+)\]")
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_VALUE = re.compile(r"[!-<>-~]+")           # RFC 5321 esmtp-value: no "=", SP or controls
MAX_LOCAL_PART = 64 * 4                       # octets; RFC 5321 says 64, real mail is sloppier
MAX_DOMAIN = 255
MAX_PATH = 256 * 4


@dataclass(frozen=True)
class Address:
    """A mailbox from a path: the local part as meant (quotes removed), the domain or None."""
    local: str
    domain: str | None = None

    def __str__(self) -> str:
        local = self.local
        if not _DOT_STRING_UTF8.fullmatch(local):
            local = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{local}@{self.domain}" if self.domain is not None else local


@dataclass(frozen=True)
class Path:
    """A MAIL or RCPT argument: the address (None for the null reverse-path <>) and its parameters."""
    address: Address | None
    params: dict[str, str | None] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"<{self.address}>" if self.address is not None else "<>"


def parse_mail_from(args: bytes, *, allow_8bit: bool = False) -> Path:
    """`FROM:<reverse-path> [params]` -> Path (address None for <>)."""
    return _parse_path_argument(args, b"FROM:", sender=True, allow_8bit=allow_8bit)


def parse_rcpt_to(args: bytes, *, allow_8bit: bool = False) -> Path:
    """`TO:<forward-path> [params]` -> Path."""
    return _parse_path_argument(args, b"TO:", sender=False, allow_8bit=allow_8bit)


def _bad_address(sender: bool, why: str) -> ProtocolError:
    if sender:
        return error(501, "5.1.7", f"Bad sender address syntax: {why}")
    return error(501, "5.1.3", f"Bad recipient address syntax: {why}")


def _parse_path_argument(args: bytes, keyword: bytes, *, sender: bool, allow_8bit: bool) -> Path:
    if args[:len(keyword)].upper() != keyword:
        usage = "MAIL FROM:<address> [parameters]" if sender else "RCPT TO:<address> [parameters]"
        raise error(501, "5.5.4", f"Syntax: {usage}")
    rest = args[len(keyword):].lstrip(b" ")
    if not rest.startswith(b"<"):
        raise _bad_address(sender, "the address must be in angle brackets")
    end = _path_end(rest)
    if end is None:
        raise _bad_address(sender, "no closing '>'")
    if end + 1 > MAX_PATH:
        raise _bad_address(sender, "address too long")
    inner, tail = rest[1:end], rest[end + 1:]
    if tail and not tail.startswith(b" "):
        raise _bad_address(sender, "text after the closing '>' that is not a parameter")
    try:
        text = inner.decode("ascii" if not allow_8bit else "utf-8")
    except UnicodeDecodeError:
        if allow_8bit:
            raise _bad_address(sender, "not valid UTF-8") from None
        raise error(553, "5.6.7", "8-bit characters in the address are not allowed (no SMTPUTF8)") from None
    address = None if sender and text == "" else parse_mailbox(text, sender=sender, allow_8bit=allow_8bit)
    return Path(address, parse_params(tail))


def _path_end(data: bytes) -> int | None:
    """Index of the '>' closing the path that starts at data[0] == '<' (quotes respected)."""
    quoted = escaped = False
    for index in range(1, len(data)):
        char = data[index]
        if escaped:
            escaped = False
        elif quoted and char == 0x5C:
            escaped = True
        elif char == 0x22:
            quoted = not quoted
        elif char == 0x3E and not quoted:
            return index
    return None


def parse_mailbox(text: str, *, sender: bool = False, allow_8bit: bool = False) -> Address:
    """The inside of <...>: [source route:] local-part [@ domain]."""
    if text.startswith("@"):
        # RFC 5321 4.1.2 source route "@a,@b:user@c": accepted and ignored (appendix C)
        route, colon, text = text.partition(":")
        if not colon or not all(part.startswith("@") and _is_domain(part[1:], allow_8bit)
                                for part in route.split(",")):
            raise _bad_address(sender, "malformed source route")
    if not text:
        raise _bad_address(sender, "empty address")
    if text.startswith('"'):
        local, rest = _quoted_local(text, sender)
    else:
        local, at, domain_text = text.rpartition("@")
        if not at:
            local, rest = text, ""
        else:
            rest = "@" + domain_text
        pattern = _DOT_STRING_UTF8 if allow_8bit else _DOT_STRING
        if not pattern.fullmatch(local):
            raise _bad_address(sender, f"invalid local part {local!r}")
    if len(local.encode("utf-8", "surrogateescape")) > MAX_LOCAL_PART:
        raise _bad_address(sender, "local part too long")
    if not rest:
        return Address(local, None)
    if not rest.startswith("@"):
        raise _bad_address(sender, "expected '@' after the local part")
    domain = rest[1:]
    if not _is_domain(domain, allow_8bit):
        raise _bad_address(sender, f"invalid domain {domain!r}")
    return Address(local, domain)


def _quoted_local(text: str, sender: bool) -> tuple[str, str]:
    out = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text) or not " " <= text[index + 1] <= "~":
                raise _bad_address(sender, "bad quoted pair in the local part")
            out.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), text[index + 1:]
        if not (" " <= char <= "~" or ord(char) > 127):
            raise _bad_address(sender, "control character in the quoted local part")
        out.append(char)
        index += 1
    raise _bad_address(sender, "unterminated quoted local part")


def _is_domain(text: str, allow_8bit: bool) -> bool:
    if not text or len(text) > MAX_DOMAIN:
        return False
    if text.startswith("["):
        return bool(_ADDRESS_LITERAL.fullmatch(text))
    return bool((_DOMAIN_UTF8 if allow_8bit else _DOMAIN).fullmatch(text))


def parse_params(tail: bytes) -> dict[str, str | None]:
    """RFC 5321 Mail-parameters / Rcpt-parameters: SP-separated keyword[=value]."""
    params: dict[str, str | None] = {}
    for word in tail.split(b" "):
        if not word:
            continue
        try:
            text = word.decode("ascii")
        except UnicodeDecodeError:
            raise error(501, "5.5.4", "8-bit characters in a parameter") from None
        keyword, equals, value = text.partition("=")
        if not _KEYWORD.fullmatch(keyword) or (equals and not _VALUE.fullmatch(value)):
            raise error(501, "5.5.4", f"Syntax error in parameter {text!r}")
        keyword = keyword.upper()
        if keyword in params:
            raise error(501, "5.5.4", f"Parameter {keyword} given twice")
        params[keyword] = value if equals else None
    return params


def decode_xtext(value: str) -> str:
    """RFC 3461 xtext (the AUTH= parameter): "+XX" is a hex-encoded octet."""
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
