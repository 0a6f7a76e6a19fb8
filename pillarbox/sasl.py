"""Server-side SASL for IMAP, POP3 and LMTP: PLAIN, LOGIN, SCRAM-SHA-256.

Each mechanism is a small state machine with no I/O: the daemon base64-decodes
what the client sent, calls `step()`, sends the challenge it returns, and
repeats until `done`. Then `identity` says who authenticated (authcid) and
as whom they act (authzid); authorization (admins acting for others) is
`authorize()`'s job.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pillarbox.auth import check_password, passwd_file
from pillarbox.auth.passwd import PasswdError, ScramSecret, parse_scram, scram_secret, split_scheme

if TYPE_CHECKING:
    from pillarbox.config import Config

PLAINTEXT_MECHANISMS = ("PLAIN", "LOGIN")
ALL_MECHANISMS = ("PLAIN", "LOGIN", "SCRAM-SHA-256")


class SaslError(Exception):
    """Authentication failed or the exchange was malformed; str() is for the log."""


@dataclass(frozen=True)
class Identity:
    authcid: str        # who proved it
    authzid: str        # who they act as (== authcid unless an admin acts for someone)


class Mechanism(abc.ABC):
    name = ""

    def __init__(self, config: "Config", *, bypass_password: bool = False):
        self.config = config
        self.bypass_password = bypass_password
        self.done = False
        self.identity: Identity | None = None

    @abc.abstractmethod
    def step(self, response: bytes | None) -> bytes | None:
        """Feed the client's (decoded) response; returns the next challenge, or None when done."""

    def _check(self, authcid: str, password: str) -> None:
        if not authcid or not (self.bypass_password or check_password(self.config, authcid, password)):
            raise SaslError("authentication failed")


class Plain(Mechanism):
    name = "PLAIN"

    def step(self, response: bytes | None) -> bytes | None:
        if response is None:
            return b""                      # empty challenge: send the credentials
        parts = response.split(b"\0")
        if len(parts) != 3:
            raise SaslError("malformed PLAIN response")
        authzid, authcid, password = (p.decode("utf-8", "surrogateescape") for p in parts)
        self._check(authcid, password)
        self.identity = Identity(authcid, authzid or authcid)
        self.done = True
        return None


class Login(Mechanism):
    name = "LOGIN"

    def __init__(self, config: "Config", **kwargs):
        super().__init__(config, **kwargs)
        self.user: str | None = None

    def step(self, response: bytes | None) -> bytes | None:
        if response is None and self.user is None:
            return b"Username:"
        if self.user is None:
            self.user = (response or b"").decode("utf-8", "surrogateescape")
            return b"Password:"
        self._check(self.user, (response or b"").decode("utf-8", "surrogateescape"))
        self.identity = Identity(self.user, self.user)
        self.done = True
        return None


class ScramSha256(Mechanism):
    """RFC 5802 / RFC 7677, without channel binding (gs2 "n" or "y")."""
    name = "SCRAM-SHA-256"

    def __init__(self, config: "Config", **kwargs):
        super().__init__(config, **kwargs)
        self.stage = 0
        self.secret: ScramSecret | None = None
        self.user = ""
        self.authzid = ""
        self.client_first_bare = b""
        self.server_first = b""
        self.nonce = b""

    def step(self, response: bytes | None) -> bytes | None:
        if response is None:
            return b""
        if self.stage == 0:
            return self._client_first(response)
        if self.stage == 1:
            return self._client_final(response)
        if self.stage == 2:
            self.done = True                # the client acknowledges server-final with an empty response
            return None
        raise SaslError("SCRAM exchange already finished")

    def _client_first(self, message: bytes) -> bytes:
        gs2, _, rest = message.partition(b",")
        authzid_field, _, bare = rest.partition(b",")
        if gs2 not in (b"n", b"y") or not bare:
            raise SaslError("SCRAM: channel binding is not supported, or malformed client-first")
        if authzid_field.startswith(b"a="):
            self.authzid = _unescape(authzid_field[2:].decode("utf-8", "surrogateescape"))
        attributes = _attributes(bare)
        if "n" not in attributes or "r" not in attributes or "m" in attributes:
            raise SaslError("SCRAM: malformed client-first")
        self.user = _unescape(attributes["n"])
        self.secret = self._lookup_secret(self.user)
        self.client_first_bare = bare
        self.nonce = attributes["r"].encode() + base64.b64encode(secrets.token_bytes(18))
        self.server_first = (b"r=" + self.nonce + b",s=" + base64.b64encode(self.secret.salt) +
                             b",i=" + str(self.secret.iterations).encode())
        self.stage = 1
        return self.server_first

    def _lookup_secret(self, user: str) -> ScramSecret:
        try:
            stored = passwd_file(self.config).lookup(user)
        except PasswdError as exc:
            raise SaslError(str(exc)) from None
        if stored is None:
            # answer like for a real user so the exchange does not reveal who exists
            return scram_secret(secrets.token_hex(16))
        scheme, data = split_scheme(stored)
        if scheme == "SCRAM-SHA-256":
            return parse_scram(data)
        if scheme == "PLAIN":
            return scram_secret(data)
        raise SaslError(f"SCRAM-SHA-256 needs a {{SCRAM-SHA-256}} or {{PLAIN}} entry; {user} has {{{scheme}}}")

    def _client_final(self, message: bytes) -> bytes:
        without_proof, _, proof_field = message.rpartition(b",p=")
        attributes = _attributes(without_proof)
        if attributes.get("r", "").encode() != self.nonce or "c" not in attributes:
            raise SaslError("SCRAM: nonce mismatch or malformed client-final")
        auth_message = self.client_first_bare + b"," + self.server_first + b"," + without_proof
        signature = hmac.digest(self.secret.stored_key, auth_message, "sha256")
        try:
            proof = base64.b64decode(proof_field, validate=True)
        except ValueError:
            raise SaslError("SCRAM: malformed proof") from None
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if len(proof) != 32 or not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.secret.stored_key):
            if not self.bypass_password:
                raise SaslError("authentication failed")
        self.identity = Identity(self.user, self.authzid or self.user)
        self.stage = 2
        server_signature = hmac.digest(self.secret.server_key, auth_message, "sha256")
        return b"v=" + base64.b64encode(server_signature)


def _attributes(message: bytes) -> dict[str, str]:
    result = {}
    for field in message.decode("utf-8", "surrogateescape").split(","):
        key, equals, value = field.partition("=")
        if equals and len(key) == 1:
            result.setdefault(key, value)
    return result


def _unescape(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


MECHANISMS = {"PLAIN": Plain, "LOGIN": Login, "SCRAM-SHA-256": ScramSha256}


def offered_mechanisms(config: "Config", *, plaintext_ok: bool) -> list[str]:
    """Mechanisms to advertise: sasl_mech_list (if set) intersected with what we have;
    PLAIN and LOGIN only where plaintext is acceptable (TLS, or allowplaintext)."""
    configured = [m.upper() for m in config.getlist("sasl_mech_list")] or list(ALL_MECHANISMS)
    return [m for m in configured if m in MECHANISMS and (plaintext_ok or m not in PLAINTEXT_MECHANISMS)]


def new_mechanism(name: str, config: "Config", *, bypass_password: bool = False) -> Mechanism:
    try:
        return MECHANISMS[name.upper()](config, bypass_password=bypass_password)
    except KeyError:
        raise SaslError(f"unknown mechanism {name}") from None


def authorize(config: "Config", identity: Identity) -> str:
    """The user the session acts as. Only `admins` may act for someone else."""
    if identity.authzid == identity.authcid:
        return identity.authcid
    if identity.authcid in config.getlist("admins"):
        return identity.authzid
    raise SaslError(f"{identity.authcid} may not act as {identity.authzid} (not in admins)")


def exchange(mechanism: Mechanism, response: bytes | None, send_challenge, read_response) -> Identity:
    """Run a mechanism to the end: send each challenge with send_challenge(bytes),
    read each client line with read_response() -> bytes (base64, "*" cancels)."""
    challenge = mechanism.step(response)
    while not mechanism.done:
        send_challenge(challenge or b"")
        challenge = mechanism.step(decode_response(read_response()))
    return mechanism.identity


def who(mechanism: Mechanism) -> str | None:
    """The user a (possibly failed) exchange was for, for the log."""
    identity = mechanism.identity
    return identity.authcid if identity else getattr(mechanism, "user", None) or None


def decode_response(text: bytes) -> bytes | None:
    """A client's base64 line; '*' cancels (None), '=' is an empty initial response."""
    stripped = text.strip()
    if stripped == b"*":
        raise SaslError("authentication cancelled by the client")
    if stripped == b"=":
        return b""
    try:
        return base64.b64decode(stripped, validate=True)
    except ValueError:
        raise SaslError("response is not valid base64") from None
