"""cyrus.conf: master's service table (see cyrus.conf(5)).

A pure parser: text in, frozen dataclasses out, or CyrusConfError
("FILE:LINE: what is wrong"). The only outside facts it consults are
/etc/services (service names in listen= are resolved when the file is read)
and the current directory (relative UNIX socket paths are made absolute).

    SECTION {
        name  arg=value  arg="quoted value"  # comment
    }

Sections: START, SERVICES, EVENTS, DAEMON (any case; a section may appear
more than once, its entries are added together). One entry per line.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
from dataclasses import dataclass, field
from typing import Callable

from master.schedule import CronSpec

__all__ = [
    "CyrusConfError", "ListenAddress", "StartEntry", "ServiceEntry", "EventEntry",
    "DaemonEntry", "CyrusConf", "parse_cyrus_conf", "load_cyrus_conf",
    "looks_like_cyrus_conf", "parse_listen",
]

UNIX_PATH_MAX = 107          # sun_path is 108 bytes on Linux, one for the NUL
BABYSIT_MAXFORKRATE = 10     # Cyrus: babysit=1 sets maxforkrate to 10 if it is 0


class CyrusConfError(Exception):
    """A problem with cyrus.conf; str() is "FILE:LINE: MESSAGE" (or "FILE: MESSAGE")."""

    def __init__(self, filename: str, lineno: int | None, message: str) -> None:
        self.filename = filename
        self.lineno = lineno
        self.message = message
        where = f"{filename}:{lineno}" if lineno is not None else filename
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------- the model

@dataclass(frozen=True)
class ListenAddress:
    kind: str                  # "inet" | "unix"
    host: str | None           # None = every address; brackets stripped
    port: int | None
    path: str | None           # absolute path of a UNIX socket
    text: str                  # listen= as written

    def __str__(self) -> str:
        if self.kind == "unix":
            return str(self.path)
        host = "*" if self.host is None else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class StartEntry:
    name: str
    cmd: tuple[str, ...]
    lineno: int


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    cmd: tuple[str, ...]
    listen: ListenAddress
    proto: str                 # "tcp" | "tcp4" | "tcp6"
    prefork: int = 0
    maxchild: int = -1
    maxfds: int = 256
    maxforkrate: int = 0
    babysit: bool = False
    lineno: int = 0


@dataclass(frozen=True)
class EventEntry:
    name: str
    cmd: tuple[str, ...]
    period: int = 0                    # minutes; 0 = none
    at: tuple[int, int] | None = None  # (hour, minute)
    cron: CronSpec | None = None
    lineno: int = 0


@dataclass(frozen=True)
class DaemonEntry:
    name: str
    cmd: tuple[str, ...]
    wait: bool = False
    lineno: int = 0


@dataclass(frozen=True)
class CyrusConf:
    filename: str
    start: tuple[StartEntry, ...] = ()
    services: tuple[ServiceEntry, ...] = ()
    events: tuple[EventEntry, ...] = ()
    daemons: tuple[DaemonEntry, ...] = ()


# ---------------------------------------------------------------- values

class _Bad(ValueError):
    """A bad argument value; the caller adds file, line and entry."""


_TRUE = {"1", "y", "yes", "true", "on"}
_FALSE = {"0", "n", "no", "false", "off"}


def _int(key: str, value: str, minimum: int = 0) -> int:
    if not re.fullmatch(r"-?[0-9]+", value, re.ASCII):
        raise _Bad(f"{key}={value!r} is not a number")
    number = int(value)
    if number < minimum:
        raise _Bad(f"{key}={value} must be at least {minimum}")
    return number


def _switch(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _Bad(f"{key}={value!r} is not a switch (use y or n)")


def _cmd(value: str) -> tuple[str, ...]:
    try:
        words = tuple(shlex.split(value))
    except ValueError as exc:
        raise _Bad(f"cmd={value!r}: {exc}") from None
    if not words:
        raise _Bad("cmd is empty")
    return words


def _at(value: str) -> tuple[int, int]:
    if not re.fullmatch(r"[0-9]{1,4}", value):
        raise _Bad(f"at={value!r} is not a time of day (hhmm, e.g. 0400)")
    hour, minute = divmod(int(value), 100)
    if hour > 23 or minute > 59:
        raise _Bad(f"at={value!r} is not a time of day (hhmm, 0000 to 2359)")
    return hour, minute


def _cron(value: str) -> CronSpec:
    try:
        return CronSpec.parse(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


# ---------------------------------------------------------------- listen=

def _port(text: str) -> int:
    if re.fullmatch(r"[0-9]+", text):
        port = int(text)
        if not 1 <= port <= 65535:
            raise _Bad(f"port {port} is out of range 1-65535")
        return port
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._+-]*", text):
        raise _Bad(f"{text!r} is not a port number or service name")
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        raise _Bad(f"unknown service name {text!r} (not in /etc/services); "
                   "give a port number") from None


def _ip_family(host: str) -> int | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host.split("%", 1)[0])
            return family
        except OSError:
            pass
    return None


_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]+(?<!-)(\.(?!-)[A-Za-z0-9-]+(?<!-))*\.?")


def _split_host_port(text: str) -> tuple[str | None, str]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _Bad(f"listen={text!r}: missing ']'")
        if not text[close + 1:].startswith(":"):
            raise _Bad(f"listen={text!r}: a port must follow ']:'")
        host = text[1:close]
        if _ip_family(host) is None:
            raise _Bad(f"listen={text!r}: {host!r} in brackets is not an IP address")
        return host, text[close + 2:]
    if ":" not in text:
        return None, text
    host, port = text.rsplit(":", 1)
    if ":" in host:
        raise _Bad(f"listen={text!r}: write an IPv6 address in brackets, e.g. [::1]:143")
    if host in ("", "*"):
        return None, port
    if _ip_family(host) is None and not _HOSTNAME.fullmatch(host):
        raise _Bad(f"listen={text!r}: {host!r} is not a host name or IP address")
    return host, port


def _unix_listen(text: str) -> ListenAddress:
    path = os.path.abspath(text)
    size = len(os.fsencode(path))
    if size > UNIX_PATH_MAX:
        raise _Bad(f"listen={text!r}: UNIX socket path {path!r} is {size} bytes "
                   f"long; the limit is {UNIX_PATH_MAX}")
    return ListenAddress("unix", None, None, path, text)


def parse_listen(text: str, proto: str = "tcp") -> ListenAddress:
    """One listen= value; raises ValueError with a reason."""
    if not text:
        raise _Bad("listen is empty")
    if "/" in text:
        if proto != "tcp":
            raise _Bad(f"proto={proto} does not apply to UNIX socket {text!r}; "
                       "leave proto out")
        return _unix_listen(text)
    host, port_text = _split_host_port(text)
    if not port_text:
        raise _Bad(f"listen={text!r} has no port")
    family = _ip_family(host) if host else None
    if proto == "tcp4" and family == socket.AF_INET6:
        raise _Bad(f"proto=tcp4 but listen={text!r} is an IPv6 address")
    if proto == "tcp6" and family == socket.AF_INET:
        raise _Bad(f"proto=tcp6 but listen={text!r} is an IPv4 address")
    return ListenAddress("inet", host, _port(port_text), None, text)


def _proto(value: str) -> str:
    proto = value.lower()
    if proto.startswith("udp"):
        raise _Bad(f"proto={value}: udp services are not supported "
                   "(pillarbox serves TCP and UNIX stream sockets only)")
    if proto not in ("tcp", "tcp4", "tcp6"):
        raise _Bad(f"proto={value!r} is not one of tcp, tcp4, tcp6")
    return proto


# ---------------------------------------------------------------- entries

Args = dict[str, str]


def _build_start(name: str, args: Args, lineno: int) -> StartEntry:
    return StartEntry(name, _cmd(args["cmd"]), lineno)


def _build_service(name: str, args: Args, lineno: int) -> ServiceEntry:
    proto = _proto(args.get("proto", "tcp"))
    babysit = _switch("babysit", args.get("babysit", "n"))
    prefork = _int("prefork", args.get("prefork", "0"))
    maxchild = _int("maxchild", args.get("maxchild", "-1"), minimum=-1)
    maxforkrate = _int("maxforkrate", args.get("maxforkrate", "0"))
    if maxchild == 0:
        raise _Bad("maxchild=0 would never start a process; use -1 for unlimited")
    if babysit:
        prefork = max(prefork, 1)
        maxforkrate = maxforkrate or BABYSIT_MAXFORKRATE
    if maxchild != -1 and prefork > maxchild:
        raise _Bad(f"prefork={prefork} is more than maxchild={maxchild}")
    return ServiceEntry(
        name=name, cmd=_cmd(args["cmd"]), listen=parse_listen(args["listen"], proto),
        proto=proto, prefork=prefork, maxchild=maxchild,
        maxfds=_int("maxfds", args.get("maxfds", "256")), maxforkrate=maxforkrate,
        babysit=babysit, lineno=lineno)


def _build_event(name: str, args: Args, lineno: int) -> EventEntry:
    cmd = _cmd(args["cmd"])
    period = _int("period", args.get("period", "0"))
    at = _at(args["at"]) if "at" in args else None
    cron = _cron(args["cron"]) if "cron" in args else None
    if not period and at is None and cron is None:
        raise _Bad("needs period= (minutes, at least 1), at=hhmm or cron=\"m h dom mon dow\"")
    return EventEntry(name, cmd, period, at, cron, lineno)


def _build_daemon(name: str, args: Args, lineno: int) -> DaemonEntry:
    return DaemonEntry(name, _cmd(args["cmd"]), _switch("wait", args.get("wait", "n")), lineno)


@dataclass(frozen=True)
class _Section:
    name: str
    label: str                      # how an entry is named in messages
    allowed: tuple[str, ...]
    required: tuple[str, ...]
    build: Callable[[str, Args, int], object]


_SECTIONS = {s.name: s for s in (
    _Section("START", "start", ("cmd",), ("cmd",), _build_start),
    _Section("SERVICES", "service",
             ("cmd", "listen", "proto", "prefork", "maxchild", "maxfds", "maxforkrate",
              "babysit"), ("cmd", "listen"), _build_service),
    _Section("EVENTS", "event", ("cmd", "period", "at", "cron"), ("cmd",), _build_event),
    _Section("DAEMON", "daemon", ("cmd", "wait"), ("cmd",), _build_daemon),
)}


# master tells services and daemons apart by name (as Cyrus does)
_SHARED_NAMES = {"SERVICES": "DAEMON", "DAEMON": "SERVICES"}


# ---------------------------------------------------------------- lines

_WORD = re.compile(r"[A-Za-z0-9]+")
_NAME_TOKEN = re.compile(r"[^\s#{}=\"']+")
_SPACE = re.compile(r"\s*")
_KEY = re.compile(r"([^\s=#}]+)=")
_BARE_VALUE = re.compile(r"[^\s#}]*")
_SECTION_WORD = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?=[\s{#]|$)")
_OPENING = re.compile(r"(?:[A-Za-z][A-Za-z0-9_-]*\s*)?\{")


@dataclass
class _Cursor:
    """A position in one line, with the file and line for errors."""

    text: str
    pos: int
    filename: str
    lineno: int

    def skip_space(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()

    def at_end(self) -> bool:
        """True at end of line or at a comment."""
        self.skip_space()
        return self.pos >= len(self.text) or self.text[self.pos] == "#"

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def error(self, message: str) -> CyrusConfError:
        return CyrusConfError(self.filename, self.lineno, message)


def _read_value(cur: _Cursor, key: str, where: str) -> str:
    quote = cur.peek()
    if quote in ('"', "'"):
        end = cur.text.find(quote, cur.pos + 1)
        if end < 0:
            raise cur.error(f"{where}: {key}= is missing its closing {quote}")
        value, cur.pos = cur.text[cur.pos + 1:end], end + 1
        if cur.peek() and not cur.peek().isspace() and cur.peek() not in "#}":
            raise cur.error(f"{where}: {key}=: unexpected {cur.peek()!r} after closing {quote}")
        return value
    match = _BARE_VALUE.match(cur.text, cur.pos)
    cur.pos = match.end()
    return match.group()


def _read_args(cur: _Cursor, section: _Section, where: str) -> Args:
    args: Args = {}
    while not cur.at_end() and cur.peek() != "}":
        match = _KEY.match(cur.text, cur.pos)
        if not match:
            bad = _BARE_VALUE.match(cur.text, cur.pos).group()
            raise cur.error(f"{where}: expected name=value, found {bad!r}")
        key = match.group(1)
        cur.pos = match.end()
        if key.lower() not in section.allowed:
            raise cur.error(f"{where}: unknown argument {key!r} in {section.name} "
                            f"(known: {', '.join(section.allowed)})")
        key = key.lower()
        if key in args:
            raise cur.error(f"{where}: {key}= is given twice")
        args[key] = _read_value(cur, key, where)
    return args


def _read_entry(cur: _Cursor, section: _Section) -> tuple[str, Args]:
    token = _NAME_TOKEN.match(cur.text, cur.pos)
    if not token:
        raise cur.error(f"unexpected {cur.peek()!r} in {section.name}")
    name = token.group()
    if cur.text.startswith("=", token.end()):
        raise cur.error(f"entry in {section.name} has no name: the line starts with {name}=")
    if not _WORD.fullmatch(name):
        raise cur.error(f"bad {section.label} name {name!r}: names may contain only "
                        "letters and digits (no '-' or '_')")
    cur.pos = token.end()
    where = f"{section.label} {name!r}"
    args = _read_args(cur, section, where)
    missing = [key for key in section.required if key not in args]
    if missing:
        raise cur.error(f"{where}: missing {' and '.join(k + '=' for k in missing)}")
    return name, args


# ---------------------------------------------------------------- the file

@dataclass
class _Parser:
    filename: str
    entries: dict[str, list] = field(default_factory=lambda: {k: [] for k in _SECTIONS})
    names: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in _SECTIONS})
    section: _Section | None = None
    opened_at: int = 0
    pending: tuple[_Section, int] | None = None   # "SERVICES" seen, "{" not yet

    def line(self, text: str, lineno: int) -> None:
        cur = _Cursor(text, 0, self.filename, lineno)
        while not cur.at_end():
            if self.pending is not None:
                self._open_brace(cur)
            elif self.section is None:
                self._section_header(cur)
            elif cur.peek() == "}":
                cur.pos += 1
                self.section = None
            else:
                self._entry(cur)

    def _open_brace(self, cur: _Cursor) -> None:
        section, opened = self.pending
        if cur.peek() != "{":
            raise cur.error(f"expected '{{' after section name {section.name} "
                            f"(line {opened})")
        cur.pos += 1
        self.pending, self.section, self.opened_at = None, section, opened

    def _section_header(self, cur: _Cursor) -> None:
        match = _SECTION_WORD.match(cur.text, cur.pos)
        if not match:
            raise cur.error(self._outside_message(cur))
        word = match.group(1)
        cur.pos = match.end()
        cur.skip_space()
        if word.upper() not in _SECTIONS:
            if cur.peek() == "{" or cur.at_end():
                raise cur.error(f"unknown section {word!r} "
                                "(expected START, SERVICES, EVENTS or DAEMON)")
            raise cur.error(self._outside_message(cur, start=match.start()))
        self.pending = (_SECTIONS[word.upper()], cur.lineno)

    @staticmethod
    def _outside_message(cur: _Cursor, start: int | None = None) -> str:
        text = cur.text[cur.pos if start is None else start:].split("#")[0].strip()
        if text.startswith("}"):
            return "'}' without a section to close"
        if re.match(r"[A-Za-z0-9_.-]+\s*:", text):
            return (f"{text!r} is outside any section; this looks like imapd.conf "
                    "(key: value), not cyrus.conf")
        return f"{text!r} is outside any section (START, SERVICES, EVENTS, DAEMON)"

    def _entry(self, cur: _Cursor) -> None:
        opening = _OPENING.match(cur.text, cur.pos)
        if opening:
            raise cur.error(f"unexpected {opening.group()!r} inside section "
                            f"{self.section.name} (opened on line {self.opened_at}); "
                            "is a '}' missing?")
        section = self.section
        name, args = _read_entry(cur, section)
        self._check_unique(cur, section, name)
        try:
            entry = section.build(name, args, cur.lineno)
        except ValueError as exc:
            raise cur.error(f"{section.label} {name!r}: {exc}") from None
        self.names[section.name][name] = cur.lineno
        self.entries[section.name].append(entry)

    def _check_unique(self, cur: _Cursor, section: _Section, name: str) -> None:
        seen = self.names[section.name]
        if name in seen:
            raise cur.error(f"{section.label} {name!r} is defined twice "
                            f"(first on line {seen[name]})")
        other = _SHARED_NAMES.get(section.name)
        if other and name in self.names[other]:
            raise cur.error(f"{section.label} {name!r}: the name is already used by "
                            f"{_SECTIONS[other].label} {name!r} on line "
                            f"{self.names[other][name]} (SERVICES and DAEMON share names)")

    def finish(self) -> CyrusConf:
        if self.pending is not None:
            section, opened = self.pending
            raise CyrusConfError(self.filename, opened,
                                 f"section {section.name} has no '{{'")
        if self.section is not None:
            raise CyrusConfError(self.filename, self.opened_at,
                                 f"section {self.section.name} opened here is never "
                                 "closed with '}'")
        e = self.entries
        return CyrusConf(self.filename, tuple(e["START"]), tuple(e["SERVICES"]),
                         tuple(e["EVENTS"]), tuple(e["DAEMON"]))


def parse_cyrus_conf(text: str, filename: str = "<string>") -> CyrusConf:
    """Parse cyrus.conf text; CyrusConfError on the first problem."""
    parser = _Parser(filename)
    for lineno, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        parser.line(line, lineno)
    return parser.finish()


def load_cyrus_conf(path: str) -> CyrusConf:
    """Read and parse a cyrus.conf file; CyrusConfError if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise CyrusConfError(path, None, f"cannot read {path}: "
                             f"{exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CyrusConfError(path, None, f"{path} is not UTF-8 text: {exc.reason}") from None
    return parse_cyrus_conf(text, path)


_BLOCK = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9_]*\s*\{", re.MULTILINE)


def looks_like_cyrus_conf(text: str) -> bool:
    """True if text has "NAME {" section blocks, as cyrus.conf does (imapd.conf has
    "key: value" lines instead)."""
    return bool(_BLOCK.search(text.removeprefix("\ufeff")))
