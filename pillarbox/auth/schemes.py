"""Verifying password hashes migrated from other servers.

A Dovecot passwd-file, or an export from Cyrus (sasldb/LDAP) or Courier, keeps
its users' passwords as `{SCHEME}data` in the schemes Dovecot names and
encodes. `verify_scheme(scheme, data, password)` checks a password against one
of them, following Dovecot (src/auth/password-scheme*.c and its "Password
Schemes" documentation):

* The crypt() family: SHA512-CRYPT (`$6$`), SHA256-CRYPT (`$5$`), both
  Ulrich Drepper's SHA-crypt with an optional `rounds=N$` (clamped to
  1000..999999999, default 5000, salt at most 16 bytes); BLF-CRYPT
  (bcrypt `$2a$`/`$2b$`/`$2y$`, by the `bcrypt` package, which like every
  bcrypt reads 72 bytes of password); MD5-CRYPT (`$1$`, Poul-Henning Kamp's
  md5crypt); CRYPT and DES-CRYPT, which add traditional DES crypt (13
  characters; 8 characters of password count). Dovecot verifies every one of
  its crypt schemes with libc's crypt() on the stored string, so the prefix of
  the hash decides the algorithm, not the scheme's name: `{SHA512-CRYPT}$5$...`
  and `{CRYPT}$6$...` verify as they do there (MD5-CRYPT, Dovecot's own code,
  is md5crypt alone). Verification recomputes the whole string from the stored
  setting and compares it with the stored one, as crypt() users do: a stored
  `rounds=10` (which every generator writes as `rounds=1000`) or a zero-padded
  count never matches, and is refused before any rounds are spent. SHA-crypt,
  md5crypt and DES are implemented here from their specifications (Python's
  `crypt` module is gone in 3.13). libc schemes Dovecot never named (yescrypt
  `$y$`, `$2x$`, BSDi `_`, bigcrypt, Sun `$md5$`) are not: they verify as False.
* ARGON2I, ARGON2ID, ARGON2 (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`, by
  `argon2-cffi`): Dovecot hands all three to libsodium, which takes the variant
  from the hash, and so does this. argon2d, which libsodium refuses, is False.
* Digests: SHA (= SHA1), SHA256, SHA512 and LDAP-MD5 default to base64,
  PLAIN-MD5 to hex; for these fixed-size digests Dovecot guesses the encoding
  (hex when the text is exactly twice the digest's size), and so does this;
  base64 padding may be left off.
  SSHA, SSHA256, SSHA512, SMD5: base64 of digest(password + salt) + salt, the
  salt being whatever follows the digest (at least one byte). MD5 is Dovecot's
  alias: MD5-CRYPT for a `$1$` string, PLAIN-MD5 otherwise.
* PLAIN, CLEAR, CLEARTEXT: the password itself.
* Dovecot's encoding suffixes work on every scheme: `SSHA.HEX`, `PLAIN.B64`,
  `SHA256.BASE64` (case does not matter); an unknown suffix is an unknown scheme.

Passwords and stored data are compared as bytes: UTF-8, with surrogateescape so
that a password decoded from the wire that way comes back as the client's bytes.
A password containing NUL never verifies (Dovecot's C strings could not hold
one, and bcrypt and DES would read it as the end of the key).
Every comparison of a secret is `hmac.compare_digest`.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import importlib
import re
from dataclasses import dataclass
from typing import Callable

__all__ = ["UnsupportedScheme", "verify_scheme", "SUPPORTED",
           "sha256_crypt", "sha512_crypt", "md5_crypt", "des_crypt"]


class UnsupportedScheme(Exception):
    """The scheme (or its encoding suffix) is not one this module knows."""


# -- crypt(3) helpers ---------------------------------------------------------

CRYPT_ALPHABET = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CRYPT_CHARS = frozenset(CRYPT_ALPHABET)


def _b64_from_24bit(b2: int, b1: int, b0: int, n: int) -> bytes:
    """crypt's base64: n characters of the 24-bit word, least significant 6 bits first."""
    w = (b2 << 16) | (b1 << 8) | b0
    out = bytearray()
    for _ in range(n):
        out.append(CRYPT_ALPHABET[w & 0x3F])
        w >>= 6
    return bytes(out)


def _is_crypt_text(text: bytes, length: int) -> bool:
    return len(text) == length and all(c in _CRYPT_CHARS for c in text)


def _to_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    return text.encode("utf-8", "surrogateescape")


# -- SHA-crypt (https://www.akkadia.org/drepper/SHA-crypt.txt) ----------------

SHA_CRYPT_ROUNDS_DEFAULT = 5000
SHA_CRYPT_ROUNDS_MIN = 1000
SHA_CRYPT_ROUNDS_MAX = 999_999_999
SHA_CRYPT_SALT_MAX = 16

# The order in which the final digest's bytes are packed into characters:
# each triple is (high, middle, low) byte of a 24-bit group, written as 4 characters.
_SHA256_ORDER = ((0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14),
                 (15, 25, 5), (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29))
_SHA512_ORDER = ((0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4),
                 (47, 5, 26), (6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51),
                 (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13), (56, 14, 35),
                 (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19),
                 (62, 20, 41))


@dataclass(frozen=True)
class _ShaCryptVariant:
    magic: bytes
    new: Callable
    size: int
    checksum_len: int

    def encode(self, digest: bytes) -> bytes:
        if self.size == 32:
            groups = [_b64_from_24bit(digest[a], digest[b], digest[c], 4) for a, b, c in _SHA256_ORDER]
            groups.append(_b64_from_24bit(0, digest[31], digest[30], 3))
        else:
            groups = [_b64_from_24bit(digest[a], digest[b], digest[c], 4) for a, b, c in _SHA512_ORDER]
            groups.append(_b64_from_24bit(0, 0, digest[63], 2))
        return b"".join(groups)


_SHA256_CRYPT = _ShaCryptVariant(b"$5$", hashlib.sha256, 32, 43)
_SHA512_CRYPT = _ShaCryptVariant(b"$6$", hashlib.sha512, 64, 86)


def _parse_sha_setting(variant: _ShaCryptVariant, setting: bytes) -> tuple[bytes, int, bytes]:
    """-> (canonical prefix "$6$[rounds=N$]salt$", rounds, salt), as glibc reads a setting."""
    rest = setting[len(variant.magic):] if setting.startswith(variant.magic) else setting
    rounds, custom = SHA_CRYPT_ROUNDS_DEFAULT, False
    match = re.match(rb"rounds=([0-9]+)\$", rest)
    if match:
        digits = match.group(1)
        requested = int(digits) if len(digits) <= 12 else 10 ** 12
        rounds = min(max(requested, SHA_CRYPT_ROUNDS_MIN), SHA_CRYPT_ROUNDS_MAX)
        custom = True
        rest = rest[match.end():]
    salt = rest.split(b"$", 1)[0][:SHA_CRYPT_SALT_MAX]
    prefix = variant.magic + (b"rounds=%d$" % rounds if custom else b"") + salt + b"$"
    return prefix, rounds, salt


def _sha_crypt_digest(variant: _ShaCryptVariant, key: bytes, salt: bytes, rounds: int) -> bytes:
    new, size = variant.new, variant.size
    # Digest B, then digest A over key, salt, B per key block, B or key per length bit.
    b = new(key + salt + key).digest()
    a = new(key + salt)
    n = len(key)
    while n > size:
        a.update(b)
        n -= size
    a.update(b[:n])
    n = len(key)
    while n:
        a.update(b if n & 1 else key)
        n >>= 1
    a_digest = a.digest()
    # P: the digest of the key repeated len(key) times, stretched to len(key);
    # S: the digest of the salt repeated 16 + A[0] times, stretched to len(salt).
    dp = new(key * len(key)).digest()
    p = (dp * (len(key) // size + 1))[:len(key)]
    ds = new(salt * (16 + a_digest[0])).digest()
    s = (ds * (len(salt) // size + 1))[:len(salt)]
    # The rounds: odd rounds hash P [S] [P] C, even ones C [S] [P] P, where S is
    # left out of rounds divisible by 3 and the middle P of those divisible by 7.
    # The pattern repeats every 42 rounds.
    table = []
    for i in range(42):
        middle = (s if i % 3 else b"") + (p if i % 7 else b"")
        table.append((True, p + middle) if i & 1 else (False, middle + p))
    c = a_digest
    for i in range(rounds):
        odd, extra = table[i % 42]
        c = new(extra + c).digest() if odd else new(c + extra).digest()
    return c


def _sha_crypt(variant: _ShaCryptVariant, key: bytes, setting: bytes) -> bytes:
    prefix, rounds, salt = _parse_sha_setting(variant, setting)
    return prefix + variant.encode(_sha_crypt_digest(variant, key, salt, rounds))


def sha256_crypt(password: str | bytes, setting: str) -> str:
    """crypt(password, setting) for a `$5$[rounds=N$]salt` setting (a whole hash works too)."""
    return _sha_crypt(_SHA256_CRYPT, _to_bytes(password), _to_bytes(setting)).decode("utf-8", "surrogateescape")


def sha512_crypt(password: str | bytes, setting: str) -> str:
    """crypt(password, setting) for a `$6$[rounds=N$]salt` setting (a whole hash works too)."""
    return _sha_crypt(_SHA512_CRYPT, _to_bytes(password), _to_bytes(setting)).decode("utf-8", "surrogateescape")


def _verify_sha_crypt(variant: _ShaCryptVariant, stored: bytes, key: bytes) -> bool:
    prefix, rounds, salt = _parse_sha_setting(variant, stored)
    # Anything crypt() would not write back identically cannot match: refuse it
    # before spending the rounds (this also keeps `rounds=99999999999` cheap).
    if not stored.startswith(prefix) or not _is_crypt_text(stored[len(prefix):], variant.checksum_len):
        return False
    computed = prefix + variant.encode(_sha_crypt_digest(variant, key, salt, rounds))
    return hmac.compare_digest(computed, stored)


# -- MD5-crypt (Poul-Henning Kamp's, FreeBSD/glibc `$1$`) ----------------------

_MD5_MAGIC = b"$1$"
_MD5_ORDER = ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))


def _parse_md5_setting(setting: bytes) -> tuple[bytes, bytes]:
    rest = setting[len(_MD5_MAGIC):] if setting.startswith(_MD5_MAGIC) else setting
    salt = rest.split(b"$", 1)[0][:8]
    return _MD5_MAGIC + salt + b"$", salt


def _md5_crypt_digest(key: bytes, salt: bytes) -> bytes:
    alt = hashlib.md5(key + salt + key).digest()
    ctx = hashlib.md5(key + _MD5_MAGIC + salt)
    n = len(key)
    while n > 0:
        ctx.update(alt[:min(n, 16)])
        n -= 16
    n = len(key)
    while n:
        ctx.update(b"\0" if n & 1 else key[:1])
        n >>= 1
    final = ctx.digest()
    for i in range(1000):
        data = (key if i & 1 else final) + (salt if i % 3 else b"") + (key if i % 7 else b"")
        final = hashlib.md5(data + (final if i & 1 else key)).digest()
    return final


def _md5_encode(final: bytes) -> bytes:
    groups = [_b64_from_24bit(final[a], final[b], final[c], 4) for a, b, c in _MD5_ORDER]
    groups.append(_b64_from_24bit(0, 0, final[11], 2))
    return b"".join(groups)


def md5_crypt(password: str | bytes, setting: str) -> str:
    """crypt(password, setting) for a `$1$salt` setting (a whole hash works too)."""
    prefix, salt = _parse_md5_setting(_to_bytes(setting))
    return (prefix + _md5_encode(_md5_crypt_digest(_to_bytes(password), salt))).decode("utf-8", "surrogateescape")


def _verify_md5_crypt(stored: bytes, key: bytes) -> bool:
    if not stored.startswith(_MD5_MAGIC):
        return False
    prefix, salt = _parse_md5_setting(stored)
    if not stored.startswith(prefix) or not _is_crypt_text(stored[len(prefix):], 22):
        return False
    computed = prefix + _md5_encode(_md5_crypt_digest(key, salt))
    return hmac.compare_digest(computed, stored)


# -- Traditional DES crypt (Version 7 Unix crypt(3), 13 characters) -----------

# FIPS 46-3's tables, 1-based bit numbers.
_DES_IP = (58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
           62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
           57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
           61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7)
_DES_FP = (40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
           38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
           36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
           34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25)
_DES_PC1 = (57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
            10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
            63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
            14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4)
_DES_PC2 = (14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4,
            26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30, 40,
            51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32)
_DES_SHIFTS = (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1)
_DES_E = (32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11,
          12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21,
          22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1)
_DES_P = (16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
          2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25)
_DES_S = (
    (14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
     0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
     4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
     15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13),
    (15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
     3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
     0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
     13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9),
    (10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
     13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
     13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
     1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12),
    (7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
     13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
     10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
     3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14),
    (2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
     14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
     4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
     11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3),
    (12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
     10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
     9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
     4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13),
    (4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
     13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
     1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
     6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12),
    (13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
     1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
     7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
     2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11),
)
_DES_RE = re.compile(rb"[./0-9A-Za-z]{13}")


def _des_subkeys(key: list[int]) -> list[list[int]]:
    cd = [key[i - 1] for i in _DES_PC1]
    c, d = cd[:28], cd[28:]
    subkeys = []
    for shift in _DES_SHIFTS:
        c, d = c[shift:] + c[:shift], d[shift:] + d[:shift]
        cd = c + d
        subkeys.append([cd[i - 1] for i in _DES_PC2])
    return subkeys


def _des_encrypt(block: list[int], subkeys: list[list[int]], expansion: list[int]) -> list[int]:
    bits = [block[i - 1] for i in _DES_IP]
    left, right = bits[:32], bits[32:]
    for subkey in subkeys:
        x = [right[e - 1] ^ k for e, k in zip(expansion, subkey)]
        out = []
        for box in range(8):
            b = x[6 * box:6 * box + 6]
            value = _DES_S[box][(b[0] << 5) | (b[5] << 4) | (b[1] << 3) | (b[2] << 2) | (b[3] << 1) | b[4]]
            out += [(value >> 3) & 1, (value >> 2) & 1, (value >> 1) & 1, value & 1]
        left, right = right, [l ^ out[p - 1] for l, p in zip(left, _DES_P)]
    bits = right + left
    return [bits[i - 1] for i in _DES_FP]


def _des_crypt(key: bytes, salt: bytes) -> bytes:
    """crypt(key, salt) for a two-character salt: 25 DES encryptions of zero,
    keyed by the low 7 bits of the first 8 bytes of the key, the salt swapping
    pairs of bits of the expansion E."""
    key_bits = []
    for c in key[:8].ljust(8, b"\0"):
        key_bits += [(c >> (6 - j)) & 1 for j in range(7)] + [0]
    expansion = list(_DES_E)
    for i, ch in enumerate(salt[:2]):
        value = CRYPT_ALPHABET.index(ch)
        for j in range(6):
            if (value >> j) & 1:
                a, b = 6 * i + j, 6 * i + j + 24
                expansion[a], expansion[b] = expansion[b], expansion[a]
    subkeys = _des_subkeys(key_bits)
    block = [0] * 64
    for _ in range(25):
        block = _des_encrypt(block, subkeys, expansion)
    block += [0, 0]
    out = bytearray(salt[:2])
    for i in range(11):
        value = 0
        for bit in block[6 * i:6 * i + 6]:
            value = (value << 1) | bit
        out.append(CRYPT_ALPHABET[value])
    return bytes(out)


def des_crypt(password: str | bytes, setting: str) -> str:
    """Traditional crypt(password, setting): a two-character salt (or a whole hash)."""
    salt = _to_bytes(setting)[:2]
    if len(salt) != 2 or any(c not in _CRYPT_CHARS for c in salt):
        raise ValueError(f"not a DES crypt salt: {setting!r}")
    return _des_crypt(_to_bytes(password), salt).decode("ascii")


def _verify_des_crypt(stored: bytes, key: bytes) -> bool:
    if not _DES_RE.fullmatch(stored):
        return False
    return hmac.compare_digest(_des_crypt(key, stored[:2]), stored)


# -- bcrypt and Argon2, by their libraries -------------------------------------

_BCRYPT_RE = re.compile(rb"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
BCRYPT_KEY_MAX = 72     # bcrypt reads at most 72 bytes of the key; the `bcrypt` package refuses more


def _verify_bcrypt(stored: bytes, key: bytes) -> bool:
    if not _BCRYPT_RE.fullmatch(stored):
        return False
    bcrypt = _import("bcrypt", "BLF-CRYPT", "bcrypt")
    return hmac.compare_digest(bcrypt.hashpw(key[:BCRYPT_KEY_MAX], stored), stored)


_ARGON2_RE = re.compile(rb"\$argon2(id|i)\$")


def _verify_argon2(stored: bytes, key: bytes) -> bool:
    match = _ARGON2_RE.match(stored)
    if not match:
        return False
    low_level = _import("argon2.low_level", "ARGON2", "argon2-cffi")
    exceptions = _import("argon2.exceptions", "ARGON2", "argon2-cffi")
    kind = low_level.Type.ID if match.group(1) == b"id" else low_level.Type.I
    try:
        return low_level.verify_secret(stored, key, kind)
    except (exceptions.Argon2Error, ValueError):   # a mismatch, or a hash argon2 cannot decode
        return False


def _import(module: str, scheme: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UnsupportedScheme(f"password scheme {{{scheme}}} needs the Python package {package}") from exc


def _verify_crypt(stored: bytes, key: bytes) -> bool:
    """libc crypt() as Dovecot uses it: the hash's own prefix picks the algorithm."""
    if stored.startswith(b"$6$"):
        return _verify_sha_crypt(_SHA512_CRYPT, stored, key)
    if stored.startswith(b"$5$"):
        return _verify_sha_crypt(_SHA256_CRYPT, stored, key)
    if stored.startswith((b"$2a$", b"$2b$", b"$2y$")):
        return _verify_bcrypt(stored, key)
    if stored.startswith(_MD5_MAGIC):
        return _verify_md5_crypt(stored, key)
    if _DES_RE.fullmatch(stored):
        return _verify_des_crypt(stored, key)
    # yescrypt ($y$), $2x$, BSDi extended DES (_), bigcrypt, ...: not implemented.
    return False


# -- digests --------------------------------------------------------------------

def _digest_verifier(name: str) -> Callable[[bytes, bytes], bool]:
    def verify(raw: bytes, key: bytes) -> bool:
        return hmac.compare_digest(hashlib.new(name, key).digest(), raw)
    return verify


_DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}


def _salted_verifier(name: str) -> Callable[[bytes, bytes], bool]:
    size = _DIGEST_SIZES[name]

    def verify(raw: bytes, key: bytes) -> bool:
        if len(raw) <= size:        # <digest><salt>, the salt at least one byte
            return False
        return hmac.compare_digest(hashlib.new(name, key + raw[size:]).digest(), raw[:size])
    return verify


def _verify_plain(raw: bytes, key: bytes) -> bool:
    return hmac.compare_digest(raw, key)


# -- schemes, encodings ---------------------------------------------------------

_NONE, _BASE64, _HEX = "none", "base64", "hex"
_SUFFIXES = {"B64": _BASE64, "BASE64": _BASE64, "HEX": _HEX}


@dataclass(frozen=True)
class _Scheme:
    encoding: str           # default encoding of the stored text
    raw_len: int            # fixed size of the decoded value, 0 for any
    verify: Callable[[bytes, bytes], bool]


def _verify_md5_alias(raw: bytes, key: bytes) -> bool:
    """Dovecot's {MD5}: MD5-CRYPT for a `$1$` string, else a PLAIN-MD5 digest."""
    if raw.startswith(_MD5_MAGIC):
        return _verify_md5_crypt(raw, key)
    digest = _decode(raw, _SCHEMES["PLAIN-MD5"], None)
    return digest is not None and _SCHEMES["PLAIN-MD5"].verify(digest, key)


_SCHEMES: dict[str, _Scheme] = {
    "PLAIN": _Scheme(_NONE, 0, _verify_plain),
    "CLEAR": _Scheme(_NONE, 0, _verify_plain),
    "CLEARTEXT": _Scheme(_NONE, 0, _verify_plain),
    "CRYPT": _Scheme(_NONE, 0, _verify_crypt),
    "DES-CRYPT": _Scheme(_NONE, 0, _verify_crypt),
    "SHA512-CRYPT": _Scheme(_NONE, 0, _verify_crypt),
    "SHA256-CRYPT": _Scheme(_NONE, 0, _verify_crypt),
    "BLF-CRYPT": _Scheme(_NONE, 0, _verify_crypt),
    "MD5-CRYPT": _Scheme(_NONE, 0, _verify_md5_crypt),
    "MD5": _Scheme(_NONE, 0, _verify_md5_alias),
    "ARGON2": _Scheme(_NONE, 0, _verify_argon2),
    "ARGON2I": _Scheme(_NONE, 0, _verify_argon2),
    "ARGON2ID": _Scheme(_NONE, 0, _verify_argon2),
    "SHA": _Scheme(_BASE64, 20, _digest_verifier("sha1")),
    "SHA1": _Scheme(_BASE64, 20, _digest_verifier("sha1")),
    "SHA256": _Scheme(_BASE64, 32, _digest_verifier("sha256")),
    "SHA512": _Scheme(_BASE64, 64, _digest_verifier("sha512")),
    "SSHA": _Scheme(_BASE64, 0, _salted_verifier("sha1")),
    "SSHA256": _Scheme(_BASE64, 0, _salted_verifier("sha256")),
    "SSHA512": _Scheme(_BASE64, 0, _salted_verifier("sha512")),
    "SMD5": _Scheme(_BASE64, 0, _salted_verifier("md5")),
    "PLAIN-MD5": _Scheme(_HEX, 16, _digest_verifier("md5")),
    "LDAP-MD5": _Scheme(_BASE64, 16, _digest_verifier("md5")),
}

SUPPORTED: frozenset[str] = frozenset(_SCHEMES)

_HEX_RE = re.compile(rb"(?:[0-9A-Fa-f]{2})*")


def _decode_hex(text: bytes) -> bytes | None:
    return binascii.unhexlify(text) if _HEX_RE.fullmatch(text) else None


def _decode_base64(text: bytes) -> bytes | None:
    if len(text) % 4 == 1:
        return None
    try:
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4), strict_mode=True)
    except binascii.Error:
        return None


def _decode(text: bytes, scheme: _Scheme, suffix: str | None) -> bytes | None:
    """Dovecot's password_decode(): the stored text to the value to verify, None if malformed."""
    encoding = scheme.encoding if suffix is None else suffix
    guessed = False
    if suffix is None and encoding != _NONE and scheme.raw_len:
        # A fixed-size digest: twice its size in characters is hex, anything else
        # base64 (and hex that does not decode falls back to base64).
        encoding = _HEX if len(text) == scheme.raw_len * 2 else _BASE64
        guessed = True
    if encoding == _NONE:
        raw = text
    elif encoding == _HEX:
        raw = _decode_hex(text)
        if raw is None and guessed:
            raw = _decode_base64(text)
    else:
        raw = _decode_base64(text)
    if raw is None or (scheme.raw_len and len(raw) != scheme.raw_len):
        return None
    return raw


def verify_scheme(scheme: str, data: str, password: str) -> bool:
    """Whether `password` matches `data` stored as `{scheme}data`.

    scheme: the name inside the braces (any case), optionally with Dovecot's
    `.HEX`/`.B64`/`.BASE64` suffix. Unknown schemes and suffixes raise
    UnsupportedScheme; a malformed hash is False; nothing else is raised.
    """
    name, dot, suffix_name = scheme.upper().partition(".")
    entry = _SCHEMES.get(name)
    suffix = _SUFFIXES.get(suffix_name) if dot else None
    if entry is None or (dot and suffix is None):
        raise UnsupportedScheme(f"password scheme {{{scheme}}} is not supported")
    try:
        key = _to_bytes(password)
        if b"\0" in key:       # no client can send one (Dovecot's C strings end there)
            return False
        raw = _decode(_to_bytes(data), entry, suffix)
        if raw is None:
            return False
        return bool(entry.verify(raw, key))
    except UnsupportedScheme:
        raise
    except Exception:       # a malformed hash, a password that cannot be encoded, ...
        return False
