"""imapd.conf: the option table and a parser following Cyrus imapd.conf(5).

A pure module: it reads text and returns typed values; it never logs, and it
imports only the standard library so that every worker can load it cheaply.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "Option",
    "OPTIONS",
    "Config",
    "default_config_path",
    "lookup_option",
    "parse_value",
]

DEFAULT_CONFIG_PATH = "/etc/imapd.conf"
CONFIGDIR_TEMPLATE = "{configdirectory}"


class ConfigError(Exception):
    """A configuration file that cannot be used, located as FILE[:LINE]."""

    def __init__(self, filename: str, lineno: int | None, message: str) -> None:
        super().__init__(filename, lineno, message)
        self.filename = filename
        self.lineno = lineno
        self.message = message

    def __str__(self) -> str:
        if self.lineno is None:
            return f"{self.filename}: {self.message}"
        return f"{self.filename}:{self.lineno}: {self.message}"


@dataclass(frozen=True)
class Option:
    """One imapd.conf option.

    ``default`` is already typed: bool, int, seconds for a duration, a tuple
    of words for a list, a string otherwise; None means unset.  ``unit`` is
    the unit of a bare number for a duration ("s", "m", "h", "d"); on an int
    option, ``unit="B"`` marks a byte size that also accepts K/M/G suffixes.
    A ``doc`` starting with "pillarbox extension:" marks an option Cyrus lacks.
    """

    name: str
    kind: str
    default: object
    doc: str
    choices: tuple[str, ...] = ()
    unit: str = "s"


_LOCAL = tuple(f"local{n}" for n in range(8))
_FACILITIES = ("daemon", "mail", "news", "user") + _LOCAL
_TLS_VERSIONS = ("tls1_0", "tls1_1", "tls1_2", "tls1_3")

_TABLE = (
    # files, partitions, identity
    Option("configdirectory", "path", None, "directory holding pillarbox state (required)"),
    Option("defaultpartition", "string", "default", "partition used for new mailboxes"),
    Option("servername", "string", None, "host name in greetings (default: gethostname())"),
    Option("serverinfo", "enum", "on", "how much server information greetings reveal", ("off", "min", "on")),
    Option("postmaster", "string", "postmaster", "user name used as the sender of server-generated mail"),
    Option("cyrus_user", "string", None, "user the services run as"),
    Option("cyrus_group", "string", None, "group the services run as (default: cyrus_user's group)"),
    Option("temp_path", "path", "/tmp", "directory for temporary files"),
    Option("umask", "string", "077", "umask of server processes (octal)"),
    Option("lmtpsocket", "path", "{configdirectory}/socket/lmtp", "UNIX socket lmtpd listens on"),
    Option("idlesocket", "path", "{configdirectory}/socket/idle", "UNIX socket idled takes hibernating IDLE sessions on"),
    Option("imapresumesocket", "path", "{configdirectory}/socket/imapresume",
           "UNIX socket of the `imapd -R` service that idled hands woken sessions to"),
    Option("sievedir", "path", "/usr/sieve", "directory searched for Sieve scripts"),
    Option("sendmail", "path", "/usr/lib/sendmail", "sendmail executable used to send mail"),
    Option("duplicate_db_path", "path", None, "duplicate delivery database (default: in configdirectory)"),
    # authentication
    Option("admins", "list", (), "user ids with administrative rights"),
    Option("allowplaintext", "bool", False, "allow plaintext passwords without TLS"),
    Option("allowanonymouslogin", "bool", False, "allow the anonymous user and SASL ANONYMOUS"),
    Option("sasl_mech_list", "list", (), "SASL mechanisms offered (empty: all supported)"),
    Option("sasl_pwcheck_method", "string", None, "accepted for Cyrus compatibility; passwords are checked against passwd_file"),
    Option("loginrealms", "list", (), "realms whose users may log in with user@realm"),
    Option("username_tolower", "bool", True, "lower-case user names before authentication"),
    Option("failedloginpause", "duration", 3, "pause after a failed login, multiplied by the failures so far", unit="s"),
    Option("plaintextloginpause", "duration", 0, "pause after a successful plaintext login", unit="s"),
    Option("plaintextloginalert", "string", None, "alert sent to the client after a plaintext login"),
    Option("virtdomains", "enum", "off", "virtual domain support", ("off", "userid", "on")),
    Option("defaultdomain", "string", "internal", "domain of unqualified user ids under virtdomains"),
    # TLS
    Option("tls_server_cert", "path", None, "certificate chain presented to clients (PEM)"),
    Option("tls_server_key", "path", None, "private key of tls_server_cert (PEM)"),
    Option("tls_client_ca_file", "path", None, "CA certificates for verifying client certificates"),
    Option("tls_client_ca_dir", "path", None, "directory of CA certificates for client certificates"),
    Option("tls_client_certs", "enum", "optional", "whether clients may present certificates", ("off", "optional", "require")),
    Option("tls_versions", "list", ("tls1_2", "tls1_3"), "TLS protocol versions to allow", _TLS_VERSIONS),
    Option("tls_ciphers", "string", "DEFAULT", "OpenSSL cipher list"),
    Option("tls_prefer_server_ciphers", "bool", False, "prefer the server's cipher order"),
    Option("tls_required", "bool", False, "require TLS before any authentication"),
    Option("tls_session_timeout", "duration", 24 * 3600, "lifetime of cached TLS sessions", unit="m"),
    # IMAP
    Option("timeout", "duration", 32 * 60, "idle IMAP autologout", unit="m"),
    Option("imapidletimeout", "duration", None, "autologout during IDLE (default: timeout)", unit="m"),
    Option("imapidlepoll", "duration", 60, "polling interval during IDLE without notifications", unit="s"),
    Option("imapidlehibernate", "duration", 30,
           "quiet seconds in IDLE before a plaintext session moves to idled (0: never)", unit="s"),
    Option("imapidresponse", "bool", True, "answer ID with server details"),
    Option("imapmagicplus", "bool", False, "allow user+namespace logins that restrict LIST"),
    Option("literalminus", "bool", False, "advertise LITERAL- instead of LITERAL+"),
    Option("unixhierarchysep", "bool", True, "use '/' as the hierarchy separator instead of '.'"),
    Option("altnamespace", "bool", True, "show personal folders beside INBOX, not under it"),
    Option("sharedprefix", "string", "Shared Folders", "prefix of the shared namespace (altnamespace)"),
    Option("userprefix", "string", "Other Users", "prefix of other users' namespace (altnamespace)"),
    Option("specialuse_extra", "list", (), "extra special-use attributes allowed on mailboxes"),
    Option("suppress_capabilities", "list", (), "capabilities never advertised"),
    Option("autocreate_quota", "int", -1, "quota (KiB) of INBOXes created at login; -1: do not create"),
    Option("autocreate_quota_messages", "int", -1, "message quota of autocreated INBOXes; -1: none"),
    Option("autocreate_inbox_folders", "string", None, "'|'-separated folders created with a new INBOX"),
    Option("autocreate_post", "bool", False, "create a missing INBOX on LMTP delivery"),
    Option("quotawarn", "int", 90, "quota usage percentage that triggers warnings"),
    Option("client_timeout", "duration", 10, "timeout for outgoing client connections", unit="s"),
    # POP3
    Option("poptimeout", "duration", 10 * 60, "idle POP3 autologout", unit="m"),
    Option("allowapop", "bool", True, "allow POP3 APOP (needs {PLAIN} password entries)"),
    Option("popminpoll", "duration", 0, "minimum time between POP3 logins of one user", unit="m"),
    Option("poppollpadding", "int", 1, "POP3 logins allowed before popminpoll applies"),
    Option("popexpiretime", "duration", -86400, "EXPIRE value advertised by CAPA; negative: NEVER", unit="d"),
    Option("popsubfolders", "bool", False, "allow user+folder POP3 logins to reach subfolders"),
    Option("popuseacl", "bool", False, "enforce ACLs in POP3"),
    Option("popuseimapflags", "bool", False, "POP3 sets \\Seen and hides \\Deleted messages"),
    Option("uidl_format", "enum", "cyrus", "format of POP3 UIDLs", ("uidonly", "cyrus", "dovecot", "courier")),
    # LMTP
    Option("lmtp_over_quota_perm_failure", "bool", False, "over-quota deliveries fail permanently (5xx)"),
    Option("lmtp_strict_quota", "bool", False, "refuse a message that would exceed the quota"),
    Option("lmtp_fuzzy_mailbox_match", "bool", False, "fuzzy matching of the +detail mailbox"),
    Option("lmtp_downcase_rcpt", "bool", True, "lower-case recipient local parts (up to '+')"),
    Option("lmtp_strict_rfc2821", "bool", True, "reject 8-bit envelope addresses"),
    Option("lmtp_catchall_mailbox", "string", None, "user receiving mail for unknown mailboxes"),
    Option("duplicatesuppression", "bool", True, "suppress duplicate deliveries by Message-ID"),
    Option("reject8bit", "bool", False, "reject messages with 8-bit header characters"),
    Option("munge8bit", "bool", True, "replace 8-bit header characters with 'X'"),
    # limits
    Option("maxlogins_per_user", "int", 0, "logged-in sessions per user; 0: unlimited"),
    Option("maxlogins_per_host", "int", 0, "logged-in sessions per client host; 0: unlimited"),
    Option("maxmessagesize", "int", 0, "largest message accepted (bytes); 0: unlimited", unit="B"),
    Option("maxword", "int", 131072, "largest atom in a command (bytes)", unit="B"),
    Option("maxquoted", "int", 131072, "largest quoted string in a command (bytes)", unit="B"),
    Option("maxliteral", "int", 131072, "largest literal outside APPEND (bytes)", unit="B"),
    Option("maxheaderlines", "int", 1000, "header lines parsed per message; 0: unlimited"),
    Option("boundary_limit", "int", 1000, "deepest MIME nesting parsed"),
    # logging
    Option("syslog_prefix", "string", None, "prefix of the program name in syslog"),
    Option("syslog_facility", "enum", "local6", "syslog facility", _FACILITIES),
    Option("debug", "bool", False, "log debug messages"),
    Option("chatty", "bool", False, "log every command"),
    # pillarbox extensions
    Option("passwd_file", "path", "{configdirectory}/passwd", "pillarbox extension: password file managed by pillarbox user"),
    Option("max_line_length", "int", 65536, "pillarbox extension: longest protocol line (bytes)", unit="B"),
    Option("max_login_failures", "int", 3, "pillarbox extension: failed logins before the connection is closed"),
    Option("worker_templates", "bool", True, "pillarbox extension: fork workers from a pre-imported template process"),
)

OPTIONS: dict[str, Option] = {opt.name: opt for opt in _TABLE}

# Cyrus options accepted so that a Cyrus imapd.conf loads, but not acted on
# (yet): setting one gives a warning saying so, and imapd.conf(5) says so too.
NO_EFFECT = frozenset({
    "temp_path", "umask", "lmtpsocket", "sievedir", "sendmail", "duplicate_db_path",
    "allowanonymouslogin", "sasl_pwcheck_method", "loginrealms", "username_tolower", "plaintextloginpause",
    "plaintextloginalert", "tls_client_ca_file", "tls_client_ca_dir", "tls_client_certs",
    "tls_prefer_server_ciphers", "tls_session_timeout", "imapidlepoll", "imapidresponse", "imapmagicplus",
    "literalminus", "sharedprefix", "userprefix", "specialuse_extra", "suppress_capabilities",
    "autocreate_quota_messages", "autocreate_inbox_folders", "autocreate_post", "quotawarn", "client_timeout",
    "popuseacl", "munge8bit", "maxword", "maxquoted", "maxliteral", "maxheaderlines", "boundary_limit", "chatty",
})

PARTITION_PREFIXES = ("partition-", "metapartition-", "archivepartition-")
_DYNAMIC_DOCS = {
    "partition-": "mail spool directory of partition NAME",
    "metapartition-": "metadata directory of partition NAME",
    "archivepartition-": "archive directory of partition NAME",
}
_FALLBACK = {"imapidletimeout": "timeout"}

_KEY_RE = re.compile(r"@?[A-Za-z0-9_-]+")
_SERVICE_RE = re.compile(r"[a-z0-9]+")
_PARTITION_NAME_RE = re.compile(r"[a-z0-9_-]+")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_SIZE_RE = re.compile(r"([+-]?[0-9]+)\s*(?:([kmg])i?)?b?", re.IGNORECASE)
_DURATION_RE = re.compile(r"(-?)((?:[0-9]+[dhms])*)([0-9]*)")
_DURATION_PART_RE = re.compile(r"([0-9]+)([dhms])")
_LIST_SPLIT_RE = re.compile(r"[\s,]+")

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_FACTOR = {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_TRUE = frozenset({"1", "yes", "y", "on", "true", "t"})
_FALSE = frozenset({"0", "no", "n", "off", "false", "f"})


def default_config_path() -> str:
    """The imapd.conf to read: $PILLARBOX_CONFIG, else /etc/imapd.conf."""
    return os.environ.get("PILLARBOX_CONFIG") or DEFAULT_CONFIG_PATH


def lookup_option(name: str) -> Option | None:
    """The Option for a table name or a partition-NAME style key."""
    opt = OPTIONS.get(name)
    if opt is not None:
        return opt
    for prefix in PARTITION_PREFIXES:
        if name.startswith(prefix) and _PARTITION_NAME_RE.fullmatch(name[len(prefix):]):
            return Option(name, "path", None, _DYNAMIC_DOCS[prefix])
    return None


def _option_for_key(key: str) -> Option | None:
    """The option a file key sets: the option itself, or via SERVICE_OPTION."""
    opt = lookup_option(key)
    if opt is not None:
        return opt
    service, sep, rest = key.partition("_")
    if sep and _SERVICE_RE.fullmatch(service):
        return lookup_option(rest)
    return None


def _parse_bool(opt: Option, text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use yes/no, on/off, true/false, 1/0)")


def _parse_int(opt: Option, text: str) -> int:
    if opt.unit == "B":
        m = _SIZE_RE.fullmatch(text)
        if not m:
            raise ValueError(f"{text!r} is not a size in bytes (examples: 65536, 64K, 10M, 1G)")
        suffix = m.group(2).lower() if m.group(2) else None
        return int(m.group(1)) * _SIZE_FACTOR[suffix]
    if not _INT_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    return int(text)


def _parse_duration(opt: Option, text: str) -> int:
    m = _DURATION_RE.fullmatch(text)
    if not m or not (m.group(2) or m.group(3)):
        raise ValueError(f"{text!r} is not a duration (examples: 30, 30m, 1h30m)")
    seconds = sum(int(n) * _SECONDS[u] for n, u in _DURATION_PART_RE.findall(m.group(2)))
    if m.group(3):
        seconds += int(m.group(3)) * _SECONDS[opt.unit]
    return -seconds if m.group(1) else seconds


def _parse_enum(opt: Option, text: str) -> str:
    word = text.lower()
    if word not in opt.choices and {"on", "off"} <= set(opt.choices):
        word = "on" if word in _TRUE else "off" if word in _FALSE else word
    if word not in opt.choices:
        raise ValueError(f"{text!r} is not one of: {', '.join(opt.choices)}")
    return word


def _parse_list(opt: Option, text: str) -> tuple[str, ...]:
    words = tuple(w for w in _LIST_SPLIT_RE.split(text) if w)
    for word in words:
        if opt.choices and word not in opt.choices:
            raise ValueError(f"{word!r} is not one of: {', '.join(opt.choices)}")
    return words


def _parse_path(opt: Option, text: str) -> str:
    if _is_templated(text) and opt.name != "configdirectory":
        return CONFIGDIR_TEMPLATE + text[len(CONFIGDIR_TEMPLATE):]
    return os.path.abspath(text)


def _parse_string(opt: Option, text: str) -> str:
    return text


_PARSERS = {
    "bool": _parse_bool,
    "int": _parse_int,
    "duration": _parse_duration,
    "enum": _parse_enum,
    "list": _parse_list,
    "path": _parse_path,
    "string": _parse_string,
}


def parse_value(opt: Option, text: str) -> object:
    """Typed value of ``text`` for ``opt``; ValueError saying why not."""
    return _PARSERS[opt.kind](opt, text)


def _is_templated(text: str) -> bool:
    return text[: len(CONFIGDIR_TEMPLATE)].lower() == CONFIGDIR_TEMPLATE


def _logical_lines(text: str):
    """(first line number, text) per line, joining backslash continuations."""
    parts: list[str] = []
    start = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not parts:
            start = lineno
            if line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        yield start, "".join(parts)
        parts = []
    if parts:
        yield start, "".join(parts)


def _read_file(path: str, where: tuple[str, int | None] | None = None) -> str:
    filename, lineno = where or (path, None)
    prefix = "" if where is None else f"@include {path}: "
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(filename, lineno, f"{prefix}cannot read configuration file: {e.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(path, bad_line, "not valid UTF-8") from None


class Config:
    """Values read from one imapd.conf, seen from one service."""

    def __init__(self, path: str | None = None, service: str | None = None) -> None:
        self.path = path
        self.service = service
        self.warnings: list[str] = []
        self._values: dict[str, object] = {}
        self._raw: dict[str, str] = {}
        self._origin: dict[str, tuple[str, int]] = {}

    @classmethod
    def load(cls, path: str | None, service: str | None = None) -> Config:
        """Read ``path``; None gives the defaults.  ConfigError if unusable."""
        config = cls(path, service)
        if path is not None:
            text = _read_file(path)
            config._parse(text, path, {os.path.realpath(path)})
        return config

    @classmethod
    def from_text(cls, text: str, filename: str = "<string>", service: str | None = None) -> Config:
        """Parse imapd.conf text; ``filename`` is used in messages only."""
        config = cls(None, service)
        config._parse(text, filename, set())
        return config

    def with_service(self, service: str | None) -> Config:
        """The same values, with ``service``'s overrides applied."""
        other = Config(self.path, service)
        other.warnings = list(self.warnings)
        other._values, other._raw, other._origin = self._values, self._raw, self._origin
        return other

    def __repr__(self) -> str:
        return f"Config(path={self.path!r}, service={self.service!r})"

    # -- reading values -------------------------------------------------

    def get(self, name: str) -> object:
        """Typed value of option ``name``: the service override, the file, or the default."""
        opt = _option(name)
        key = self._key(name)
        value = opt.default if key is None else self._values[key]
        if value is None and name in _FALLBACK:
            return self.get(_FALLBACK[name])
        return self._present(opt, value)

    def getbool(self, name: str) -> bool:
        return self._typed(name, ("bool",))

    def getint(self, name: str) -> int:
        return self._typed(name, ("int",))

    def getduration(self, name: str) -> float:
        """Seconds."""
        return self._typed(name, ("duration",))

    def getstr(self, name: str) -> str | None:
        value = self._typed(name, ("string", "enum", "path", "list"))
        return " ".join(value) if isinstance(value, list) else value

    def getlist(self, name: str) -> list[str]:
        """Words of a list option (or of a string option split the same way)."""
        value = self._typed(name, ("list", "string"))
        if isinstance(value, str):
            return list(_parse_list(_option(name), value))
        return value or []

    def getpath(self, name: str) -> str | None:
        """Absolute path; relative values were resolved against the cwd at load time."""
        return self._typed(name, ("path",))

    def raw(self, name: str) -> str | None:
        """The value as written (service override first), None if not in the file."""
        key = self._key(name, self._raw)
        return None if key is None else self._raw[key]

    def origin(self, name: str) -> str | None:
        """"FILE:LINE" where the effective value of ``name`` was set, None for a default."""
        key = self._key(name, self._origin)
        if key is None:
            return None
        filename, lineno = self._origin[key]
        return f"{filename}:{lineno}"

    def partitions(self) -> dict[str, str]:
        """{NAME: absolute path} for every partition-NAME key seen by this service."""
        prefix = self._service_prefix()
        names: dict[str, None] = {}
        for key in self._values:
            if prefix and key.startswith(prefix):
                key = key[len(prefix):]
            if key.startswith("partition-"):
                names[key[len("partition-"):]] = None
        found = {name: self.get(f"partition-{name}") for name in names}
        return {name: path for name, path in found.items() if path is not None}

    def _typed(self, name: str, kinds: tuple[str, ...]):
        opt = _option(name)
        if opt.kind not in kinds:
            raise TypeError(f"option {name!r} is of kind {opt.kind!r}, not {' or '.join(kinds)}")
        return self.get(name)

    def _service_prefix(self) -> str | None:
        return f"{self.service.lower()}_" if self.service else None

    def _key(self, name: str, table: dict | None = None) -> str | None:
        table = self._values if table is None else table
        prefix = self._service_prefix()
        if prefix and prefix + name in table:
            return prefix + name
        return name if name in table else None

    def _present(self, opt: Option, value: object) -> object:
        if value is None:
            return None
        if opt.kind == "list":
            return list(value)
        if opt.kind == "duration":
            return float(value)
        if opt.kind == "path" and opt.name != "configdirectory" and _is_templated(value):
            base = self.get("configdirectory")
            return None if base is None else os.path.normpath(base + value[len(CONFIGDIR_TEMPLATE):])
        return value

    # -- parsing ----------------------------------------------------------

    def _parse(self, text: str, filename: str, seen_files: set[str]) -> None:
        for lineno, line in _logical_lines(text):
            line = line.strip()
            if line:
                self._parse_line(line, filename, lineno, seen_files)

    def _parse_line(self, line: str, filename: str, lineno: int, seen_files: set[str]) -> None:
        key, colon, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not colon:
            raise ConfigError(filename, lineno, f"expected 'option: value', found {line!r}")
        if not _KEY_RE.fullmatch(key):
            raise ConfigError(filename, lineno, f"invalid option name {key!r}")
        key = key.lower()
        if not value:
            raise ConfigError(filename, lineno, f"{key}: empty value (remove the line to get the default)")
        if key.startswith("@"):
            self._directive(key, value, filename, lineno, seen_files)
        else:
            self._set(key, value, filename, lineno)

    def _set(self, key: str, value: str, filename: str, lineno: int) -> None:
        opt = _option_for_key(key)
        if opt is not None:
            try:
                self._values[key] = parse_value(opt, value)
            except ValueError as e:
                raise ConfigError(filename, lineno, f"{key}: {e}") from None
            if opt.name in NO_EFFECT:
                self.warnings.append(f"{filename}:{lineno}: {key} is accepted for Cyrus compatibility "
                                     "but has no effect in this version of pillarbox")
        else:
            self.warnings.append(f"{filename}:{lineno}: unknown option {key!r} (ignored)")
        if key in self._origin:
            first_file, first_line = self._origin[key]
            self.warnings.append(
                f"{filename}:{lineno}: duplicate option {key!r} "
                f"(overrides {first_file}:{first_line})"
            )
        self._raw[key] = value
        self._origin[key] = (filename, lineno)

    def _directive(self, key: str, value: str, filename: str, lineno: int, seen_files: set[str]) -> None:
        if key != "@include":
            raise ConfigError(filename, lineno, f"unknown directive {key!r}")
        path = os.path.join(os.path.dirname(filename), value)
        real = os.path.realpath(path)
        if real in seen_files:
            raise ConfigError(filename, lineno, f"@include {value}: file included twice")
        seen_files.add(real)
        self._parse(_read_file(path, (filename, lineno)), path, seen_files)


def _option(name: str) -> Option:
    opt = lookup_option(name)
    if opt is None:
        raise KeyError(f"unknown imapd.conf option {name!r}")
    return opt
