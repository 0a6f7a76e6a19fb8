"""The password file: one `user:{SCHEME}data[:extra fields]` line per user.

The format is Dovecot's passwd-file, so an admin can bring one along. New
passwords are stored as `{SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey`
(RFC 5802/7677, Dovecot's layout): a salted PBKDF2 hash that verifies a
plaintext login and also serves SASL SCRAM-SHA-256 without the plaintext.
Hashes migrated from other servers ({SHA512-CRYPT}, {BLF-CRYPT}, {ARGON2ID},
{SSHA512}, ... see pillarbox.auth.schemes) verify as they did there.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass

SCRAM_ITERATIONS = 4096          # RFC 7677's minimum, and Dovecot's default
USERNAME_FORBIDDEN = set(":\n\r\0/") | {" ", "\t"}


class PasswdError(Exception):
    pass


@dataclass(frozen=True)
class ScramSecret:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes


def scram_secret(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> ScramSecret:
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return ScramSecret(iterations, salt, hashlib.sha256(client_key).digest(), server_key)


def hash_password(password: str) -> str:
    secret = scram_secret(password)
    fields = [str(secret.iterations)] + [base64.b64encode(v).decode()
                                          for v in (secret.salt, secret.stored_key, secret.server_key)]
    return "{SCRAM-SHA-256}" + ",".join(fields)


def split_scheme(stored: str) -> tuple[str, str]:
    if stored.startswith("{") and "}" in stored:
        scheme, _, data = stored[1:].partition("}")
        return scheme.upper(), data
    return "PLAIN", stored


def parse_scram(data: str) -> ScramSecret:
    try:
        iterations, salt, stored_key, server_key = data.split(",")
        return ScramSecret(int(iterations), base64.b64decode(salt, validate=True),
                           base64.b64decode(stored_key, validate=True), base64.b64decode(server_key, validate=True))
    except (ValueError, TypeError) as exc:
        raise PasswdError(f"malformed SCRAM-SHA-256 entry: {exc}") from exc


def verify_password(stored: str, password: str) -> bool:
    scheme, data = split_scheme(stored)
    if scheme == "PLAIN":
        return hmac.compare_digest(data.encode("utf-8"), password.encode("utf-8"))
    if scheme == "SCRAM-SHA-256":
        secret = parse_scram(data)
        candidate = scram_secret(password, secret.salt, secret.iterations)
        return hmac.compare_digest(candidate.stored_key, secret.stored_key)
    from pillarbox.auth.schemes import UnsupportedScheme, verify_scheme
    try:
        return verify_scheme(scheme, data, password)
    except UnsupportedScheme:
        raise PasswdError(f"password scheme {{{scheme}}} is not supported") from None


def validate_username(name: str) -> None:
    if not name or len(name) > 255 or any(c in USERNAME_FORBIDDEN for c in name) or name.startswith((".", "-")):
        raise PasswdError(f"invalid user name {name!r}: use letters, digits, '.', '_', '-', '@', '+' "
                          f"(no spaces, ':' or '/')")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise PasswdError(f"invalid user name {name!r}: control characters")


class PasswdFile:
    def __init__(self, path: str):
        self.path = path

    def entries(self) -> dict[str, str]:
        """user -> stored password field."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise PasswdError(f"cannot read {self.path}: {exc.strerror}") from exc
        result = {}
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, _, rest = line.partition(":")
            result[user] = rest.split(":", 1)[0]
        return result

    def lookup(self, user: str) -> str | None:
        return self.entries().get(user)

    def authenticate(self, user: str, password: str) -> bool:
        stored = self.lookup(user)
        return stored is not None and verify_password(stored, password)

    def set_password(self, user: str, password: str, *, create: bool, replace: bool) -> None:
        validate_username(user)
        with self._locked():
            lines = self._lines()
            index = _line_of(lines, user)
            if index is not None and not replace:
                raise PasswdError(f"user '{user}' already exists")
            if index is None and not create:
                raise PasswdError(f"no such user '{user}'")
            stored = hash_password(password)
            if index is None:
                lines.append(f"{user}:{stored}")
            else:
                _, _, rest = lines[index].partition(":")
                extra = rest.split(":", 1)[1:]          # Dovecot's uid:gid:...:extra fields stay
                lines[index] = ":".join([user, stored, *extra])
            self._write(lines)

    def delete(self, user: str) -> None:
        with self._locked():
            lines = self._lines()
            index = _line_of(lines, user)
            if index is None:
                raise PasswdError(f"no such user '{user}'")
            del lines[index]
            self._write(lines)

    def _lines(self) -> list[str]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read().splitlines()
        except FileNotFoundError:
            return []

    def _locked(self):
        return _FileLock(self.path + ".lock")

    def _write(self, lines: list[str]) -> None:
        """Replace the file atomically, comments and unknown fields kept as they were."""
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".passwd.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in lines)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o640)
            _keep_ownership(temporary, self.path)
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


def _line_of(lines: list[str], user: str) -> int | None:
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("#") and line.partition(":")[0] == user:
            return index
    return None


def _keep_ownership(temporary: str, path: str) -> None:
    """As root, give the new file the old one's owner (or its directory's), so
    `pillarbox user add` run as root leaves it readable by cyrus_user."""
    if os.geteuid() != 0:
        return
    try:
        reference = os.stat(path)
    except FileNotFoundError:
        reference = os.stat(os.path.dirname(path) or ".")
    os.chown(temporary, reference.st_uid, reference.st_gid)


class _FileLock:
    def __init__(self, path: str):
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc) -> None:
        os.close(self.fd)
