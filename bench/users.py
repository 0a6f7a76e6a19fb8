"""The benchmark users: the same names, password and password hashes on both servers.

Both servers read a passwd-file (Dovecot's format, which pillarbox also uses)
with `{SHA512-CRYPT}` entries: glibc's `$6$` crypt, 5000 rounds (the scheme's
default), a fixed salt per user. Neither server caches authentication (Dovecot's
auth_cache_size is 0 by default), so every LOGIN verifies the hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench.settings import LMTP_USERS, MIX_USERS
from pillarbox.auth.schemes import sha512_crypt

PASSWORD = "bench-Secret-42"
HASH_SCHEME = "SHA512-CRYPT"
HASH_DESCRIPTION = "{SHA512-CRYPT} ($6$, 5000 rounds, glibc crypt format), verified on every LOGIN by both servers"
BIG_USER = "bigbox"
POP3_USER = "popuser"


def mix_users() -> list[str]:
    return [f"mix{n:02d}" for n in range(1, MIX_USERS + 1)]


def lmtp_users() -> list[str]:
    return [f"lmtp{n}" for n in range(1, LMTP_USERS + 1)]


def all_users() -> list[str]:
    return [*mix_users(), *lmtp_users(), BIG_USER, POP3_USER]


@dataclass(frozen=True)
class PasswdEntry:
    user: str
    hashed: str

    def line(self) -> str:
        return f"{self.user}:{{{HASH_SCHEME}}}{self.hashed}"


def entry(user: str) -> PasswdEntry:
    salt = hashlib.sha256(user.encode()).hexdigest()[:16]     # fixed: same file every run
    return PasswdEntry(user, sha512_crypt(PASSWORD, f"$6${salt}$"))


def write_passwd(path: Path, extra_fields: str = "") -> None:
    """One line per user; extra_fields (":uid:gid:...") is appended for Dovecot's userdb."""
    path.write_text("".join(entry(user).line() + extra_fields + "\n" for user in all_users()))
