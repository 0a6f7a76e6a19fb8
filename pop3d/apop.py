"""APOP (RFC 1939 section 7): the greeting's timestamp and the digest check.

APOP proves the password by MD5(timestamp + password), so the server needs
the password itself. Of the entries pillarbox's password file holds, only
{PLAIN} ones (and bare ones, which mean {PLAIN}) have it; hashes cannot
answer an APOP challenge. So:

* the greeting carries a timestamp (and with it the APOP offer) only when
  the password file has at least one {PLAIN} entry, or pop3d runs with -N,
  and tls_required is off (a client would send APOP before STLS);
* for a user whose entry is a hash, APOP fails like a wrong password
  ([AUTH]); the log says why. Such users log in with USER/PASS or AUTH.

APOP is not a plaintext mechanism (the password does not cross the wire),
so allowplaintext does not restrict it, as in Cyrus.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import socket
import time
from typing import TYPE_CHECKING

from pillarbox.auth import AuthConfigError, PasswdError, passwd_file, passwd_path
from pillarbox.auth.passwd import split_scheme

if TYPE_CHECKING:
    from pillarbox.config import Config

_HOST_CHARS = re.compile(r"[^A-Za-z0-9.-]")
_DIGEST = re.compile(r"[0-9a-fA-F]{32}\Z")

# path -> ((inode, size, mtime), has a {PLAIN} entry): a worker rereads the
# password file only when it changed
_support_cache: dict[str, tuple[tuple[int, int, int], bool]] = {}


def hostname(config: "Config") -> str:
    return config.getstr("servername") or socket.gethostname() or "localhost"


def make_timestamp(host: str) -> str:
    """A msg-id-like <pid.random.time@host>, unique to this greeting."""
    domain = _HOST_CHARS.sub("", host).strip(".-") or "localhost"
    return f"<{os.getpid()}.{secrets.token_hex(8)}.{int(time.time())}@{domain}>"


def store_supports_apop(config: "Config") -> bool:
    """True if the password file holds at least one plaintext password."""
    try:
        path = passwd_path(config)
        status = os.stat(path)
    except (AuthConfigError, OSError):
        return False
    key = (status.st_ino, status.st_size, status.st_mtime_ns)
    cached = _support_cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        supported = any(split_scheme(stored)[0] == "PLAIN" for stored in passwd_file(config).entries().values())
    except PasswdError:
        supported = False
    _support_cache[path] = (key, supported)
    return supported


def offered(config: "Config", *, no_password: bool) -> bool:
    if config.getbool("tls_required") or not config.getbool("allowapop"):
        return False
    return no_password or store_supports_apop(config)


class ApopFailed(Exception):
    """str() is the reason, for the log."""


def verify(config: "Config", timestamp: str, user: str, digest: str, *, no_password: bool = False) -> None:
    """Raise ApopFailed unless `digest` is MD5(timestamp + user's password)."""
    if not _DIGEST.match(digest):
        raise ApopFailed("malformed APOP digest")
    if no_password:
        return                      # -N: as for USER/PASS, the password is not checked
    try:
        stored = passwd_file(config).lookup(user)
    except (AuthConfigError, PasswdError) as exc:
        raise ApopFailed(str(exc)) from None
    if stored is None:
        raise ApopFailed("authentication failed")
    scheme, password = split_scheme(stored)
    if scheme != "PLAIN":
        raise ApopFailed(f"APOP needs a {{PLAIN}} password entry; {user} has {{{scheme}}}")
    expected = hashlib.md5((timestamp + password).encode("utf-8"), usedforsecurity=False).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise ApopFailed("authentication failed")
