"""Password schemes migrated from other servers (pillarbox.auth.schemes).

Where the vectors come from:
  SPEC     Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512" (SHA-crypt.txt), its test vectors
  DOVECOT  Dovecot's sources (src/auth/password-scheme-crypt.c self-test samples) and its
           "Password Schemes" documentation (SSHA/SSHA256/PLAIN.b64 examples, password "pass")
  OPENSSL  `openssl passwd -6|-5|-1 -salt SALT PASSWORD` (OpenSSL 3.0.19)
  LIBC     libxcrypt's crypt(3) (DES, empty passwords OpenSSL refuses)
  OPENWALL crypt_blowfish / OpenBSD bcrypt vectors; jBCrypt (cost 10, UTF-8)
  ARGON2   the Argon2 reference implementation's src/test.c
  DIGEST   `printf PASSWORD | openssl dgst -md5|-sha1|-sha256|-sha512` (salted: salt appended)
"""

import random
import time

import argon2
import bcrypt
import pytest

from pillarbox.auth import schemes
from pillarbox.auth.schemes import (SUPPORTED, UnsupportedScheme, des_crypt, md5_crypt, sha256_crypt,
                                    sha512_crypt, verify_scheme)

LONG_TEXT = "a very much longer text to encrypt.  This one even stretches over morethan one line."

# (setting, password, crypt() output)
SHA_CRYPT_VECTORS = [
    # SPEC: SHA-256
    ("$5$saltstring", "Hello world!",
     "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    ("$5$rounds=10000$saltstringsaltstring", "Hello world!",
     "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
    ("$5$rounds=5000$toolongsaltstring", "This is just a test",
     "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
    ("$5$rounds=1400$anotherlongsaltstring", LONG_TEXT,
     "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"),
    ("$5$rounds=77777$short", "we have a short salt string but not a short password",
     "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"),
    ("$5$rounds=123456$asaltof16chars..", "a short string",
     "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"),
    ("$5$rounds=10$roundstoolow", "the minimum number is still observed",
     "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"),
    # SPEC: SHA-512
    ("$6$saltstring", "Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ("$6$rounds=10000$saltstringsaltstring", "Hello world!",
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/"
     "YTBmSK6H9qs/y3RnOaw5v."),
    ("$6$rounds=5000$toolongsaltstring", "This is just a test",
     "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/"
     "e1JSbq3y6JMxxl8audkUEm0"),
    ("$6$rounds=1400$anotherlongsaltstring", LONG_TEXT,
     "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7Um"
     "JEiDwGqd8p4ur1"),
    ("$6$rounds=77777$short", "we have a short salt string but not a short password",
     "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5Cxtgf"
     "iAc0"),
    ("$6$rounds=123456$asaltof16chars..", "a short string",
     "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIM"
     "VcgEJAstJeonj1"),
    ("$6$rounds=10$roundstoolow", "the minimum number is still observed",
     "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYY"
     "BaHHrsX."),
    # DOVECOT self-test samples
    ("$5$rounds=1000$0123456789abcdef", "08/15!test~4711",
     "$5$rounds=1000$0123456789abcdef$K/DksR0DT01hGc8g/kt9McEgrbFMKi9qrb1jehe7hn4"),
    ("$6$rounds=1000$0123456789abcdef", "08/15!test~4711",
     "$6$rounds=1000$0123456789abcdef$ZIAd5WqfyLkpvsVCVUU1GrvqaZTqvhJoouxdSqJO71l9Ld3tVrfOatEjarhghvEYADkq//LpDn"
     "TeO90tcbtHR1"),
    # OPENSSL
    ("$6$saltsaltsaltsalt", "password",
     "$6$saltsaltsaltsalt$bcXJ8qxwY5sQ4v8MTl.0B1jeZ0z0JlA9jjmbUoCJZ.1wYXiLTU.q2ILyrDJLm890lyfuF7sWAeli0yjOyFPkf0"),
    ("$5$./Ab0123456789z", "password",
     "$5$./Ab0123456789z$bR36B5nkgTJdTNodyy.wuJ1hrwQJ2u6ZnooPNOetP19"),
    ("$6$rounds=1000$xyz", "secret",
     "$6$rounds=1000$xyz$65ELfJXFY9CVU2.3nHlH8CN/n7NYcHnBLkrfS1Qll2Xpp9nHw1V6h.BSm0oyExW62BQwEm9ThMQtn18gGXODT."),
    ("$5$rounds=12345$xyz", "secret",
     "$5$rounds=12345$xyz$vzGo/YE4Y.qp8Dli1pZAlvdTuszHHi7F7tolP.8jEE8"),
    ("$6$mysalt", "pässwörd",
     "$6$mysalt$vdIuq27UsGD6mf5uS1ddN6Lzk9Ghzj1SQtKkDfVUhJkZymrBGSAfpEiH5uJBwGORaDSML7/rxF91wRax5NKAT/"),
    ("$6$mysalt", "x" * 130,        # longer than two SHA-512 blocks of key
     "$6$mysalt$TIvzXLFLtTQykVH/Bw9Ao8G2FMj1nDYEQdPXFEbQGBMkgnvnKp/TjTLYjUnLflZYZgd4rdPzXjMRMCIRoMeUw1"),
    ("$5$mysalt", "y" * 70,
     "$5$mysalt$feyEWif3PsOoZAC.cbuSosMn94uoGzqpBY1pfnj9qPB"),
    # LIBC: the empty password
    ("$6$emptypw", "",
     "$6$emptypw$TWmzQ8/uLn1BFSZ5Lkfum8lAba5vixF9Nl3Aiof.Praatq9nh0kkPuTdoVrIL6du0L6LAoadbPq.q.D7keveg/"),
    ("$5$emptypw", "",
     "$5$emptypw$j9q8SS0S/38BPIfLsJXsxKvW/sehZJL1AxFdvBj6YQ2"),
]

MD5_CRYPT_VECTORS = [       # OPENSSL
    ("$1$salt", "password", "$1$salt$qJH7.N4xYta3aEG/dfqo/0"),
    ("$1$12345678", "pässwörd", "$1$12345678$mQ1/t.WwP76MO4VquZEL.0"),
    ("$1$", "password", "$1$$I2o9Z7NcvQAKp7wyCTlia0"),
    ("$1$abc", "z" * 40, "$1$abc$kkeslG6DTJGfX7JUJ0S1T/"),
    ("$1$saltsalt", "", "$1$saltsalt$5Jhcit4zN9UlGiA0txPkO0"),
    ("$1$emptypw", "", "$1$emptypw$zhghydSokQESgWwaHRZFS/"),
]

DES_CRYPT_VECTORS = [
    ("vp", "pass", "vpvKh.SaNbR6s"),                       # DOVECOT documentation
    ("JB", "08/15!test~4711", "JBOZ0DgmtucwE"),           # DOVECOT self-test
    ("ab", "password", "abJnggxhB/yWI"),                   # LIBC
    ("..", "", "..X8NBuQ4l6uQ"),                           # LIBC
    ("zz", "12345678extra", "zzRtj6pNdfpLE"),              # LIBC: 8 characters count
    ("./", "été", "./BP7hxAS9MMQ"),                        # LIBC: UTF-8 bytes, top bit dropped
]

BCRYPT_VECTORS = [          # OPENWALL, DOVECOT
    ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
    ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"),
    ("$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"),
    ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""),
    ("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
     "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    ("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
     "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"),
    ("$2a$04$0123456789abcdefABCDE.N.drYX5yIAL1LkTaaZotW3yI0hQhZru", "08/15!test~4711"),
    ("$2b$04$0123456789abcdefABCDE.N.drYX5yIAL1LkTaaZotW3yI0hQhZru", "08/15!test~4711"),
    ("$2y$04$0123456789abcdefABCDE.N.drYX5yIAL1LkTaaZotW3yI0hQhZru", "08/15!test~4711"),
    ("$2a$10$.TtQJ4Jr6isd4Hp.mVfZeuh6Gws4rOQ/vdBczhDx.19NFK0Y84Dle", "ππππππππ"),
]

ARGON2_VECTORS = [          # ARGON2 src/test.c, password "password", salt "somesalt"
    ("$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8", "password"),
    ("$argon2i$v=16$m=256,t=2,p=1$c29tZXNhbHQ$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY", "password"),
    ("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"),
    ("$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", "password"),
    # argon2-cffi 25.1's PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("secret")
    ("$argon2id$v=19$m=64,t=1,p=1$4GnuA2JsHgwfuGrMy8/GAA$Z++8X08R4/WBRJDRhTs7SLmAt4CDe85rLsK+I8ZrO60", "secret"),
]

# (scheme, stored data, password) that verify
GOOD = (
    [(scheme, expected, password) for _, password, expected in SHA_CRYPT_VECTORS
     for scheme in (("SHA256-CRYPT",) if expected.startswith("$5$") else ("SHA512-CRYPT",)) + ("CRYPT",)]
    + [(scheme, expected, password) for _, password, expected in MD5_CRYPT_VECTORS
       for scheme in ("MD5-CRYPT", "CRYPT", "MD5")]
    + [(scheme, expected, password) for _, password, expected in DES_CRYPT_VECTORS
       for scheme in ("CRYPT", "DES-CRYPT")]
    + [(scheme, stored, password) for stored, password in BCRYPT_VECTORS for scheme in ("BLF-CRYPT", "CRYPT")]
    + [(scheme, stored, password) for stored, password in ARGON2_VECTORS
       for scheme in ("ARGON2I", "ARGON2ID", "ARGON2")]
    + [
        # SPEC: rounds=5000 is the default, so the hash without it is the same
        ("SHA256-CRYPT", "$5$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5", "This is just a test"),
        ("SHA512-CRYPT", "$6$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/"
                         "e1JSbq3y6JMxxl8audkUEm0", "This is just a test"),
        # Dovecot verifies every crypt scheme with crypt(): the hash's prefix decides
        ("SHA512-CRYPT", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"),
        ("BLF-CRYPT", "$1$salt$qJH7.N4xYta3aEG/dfqo/0", "password"),
        ("SHA256-CRYPT", "vpvKh.SaNbR6s", "pass"),
        # DES reads 8 characters
        ("CRYPT", "JBOZ0DgmtucwE", "08/15!te"),
        ("CRYPT", "JBOZ0DgmtucwE", "08/15!teNOPE"),
        # DIGEST: unsalted digests, base64 by default, hex recognised by its length
        ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
        ("SHA", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "password"),
        ("SHA", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8", "password"),
        ("SHA1", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
        ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g", "password"),      # padding left off
        ("SHA.HEX", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "password"),
        ("SHA.B64", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
        ("SHA256", "XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=", "password"),
        ("SHA256", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "password"),
        ("SHA512", "sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lThf+rDKy8hg==",
         "password"),
        ("SHA512", "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb9"
                   "80b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86", "password"),
        ("PLAIN-MD5", "5f4dcc3b5aa765d61d8327deb882cf99", "password"),
        ("PLAIN-MD5", "X03MO1qnZdYdgyfeuILPmQ==", "password"),
        ("LDAP-MD5", "X03MO1qnZdYdgyfeuILPmQ==", "password"),
        ("LDAP-MD5", "5f4dcc3b5aa765d61d8327deb882cf99", "password"),
        ("MD5", "5f4dcc3b5aa765d61d8327deb882cf99", "password"),
        ("MD5", "X03MO1qnZdYdgyfeuILPmQ==", "password"),
        # DOVECOT documentation, and the dovehash README's SSHA
        ("SSHA", "986H5cS9JcDYQeJd6wKaITMho4M9CrXM", "pass"),
        ("SSHA.B64", "986H5cS9JcDYQeJd6wKaITMho4M9CrXM", "pass"),
        ("SSHA.BASE64", "986H5cS9JcDYQeJd6wKaITMho4M9CrXM", "pass"),
        ("SSHA.HEX", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852d1", "pass"),
        ("SSHA.hex", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852d1", "pass"),
        ("SSHA256", "SoR/78T5q0UPFng8UCXWQxOUKhzrJZlwfNtllAupAeUT+kQv", "pass"),
        ("SSHA", "PTggDCOUPEVj5h7bZjhxfKWQBpey47nF", "abcdef"),
        # DIGEST: salted (salt 01020304 and 0a0b0c0d)
        ("SSHA512", "AipZm0gEWQ1ixOx4uyUR3Tm6Lm3FSjS7pIQPtIXU3kdcPb2uANxlcKXCjXiOUaliFQhcPGx40pMSN6dQcjsMDAECAwQ=",
         "pass"),
        ("SMD5", "fYvbBILx3NXnYuLFUrWDFAoLDA0=", "pass"),
        # cleartext, and Dovecot's example of an encoded one
        ("PLAIN", "secret", "secret"),
        ("CLEAR", "secret", "secret"),
        ("CLEARTEXT", "secret", "secret"),
        ("PLAIN", "", ""),
        ("PLAIN.B64", "e1x9OiEiCg==", '{\\}:!"\n'),
        ("PLAIN.HEX", "70617373", "pass"),
        ("PLAIN.HEX", "ff", "\udcff"),          # a non-UTF-8 byte, as surrogateescape decodes it
        ("plain-md5", "5f4dcc3b5aa765d61d8327deb882cf99", "password"),
    ]
)


@pytest.mark.parametrize("setting, password, expected", SHA_CRYPT_VECTORS)
def test_sha_crypt_vectors(setting, password, expected):
    function = sha256_crypt if setting.startswith("$5$") else sha512_crypt
    assert function(password, setting) == expected
    assert function(password, expected) == expected        # the whole hash serves as the setting


@pytest.mark.parametrize("setting, password, expected", MD5_CRYPT_VECTORS)
def test_md5_crypt_vectors(setting, password, expected):
    assert md5_crypt(password, setting) == expected
    assert md5_crypt(password, expected) == expected


@pytest.mark.parametrize("setting, password, expected", DES_CRYPT_VECTORS)
def test_des_crypt_vectors(setting, password, expected):
    assert des_crypt(password, setting) == expected
    assert des_crypt(password, expected) == expected


def test_des_crypt_refuses_a_bad_salt():
    with pytest.raises(ValueError):
        des_crypt("pass", "!x")


@pytest.mark.parametrize("scheme, data, password", GOOD)
def test_good(scheme, data, password):
    assert verify_scheme(scheme, data, password) is True


def _significant(scheme: str, data: str, password: str) -> bytes:
    """The part of the password the hash depends on: DES reads 7 bits of 8 bytes, bcrypt 72 bytes."""
    key = password.encode("utf-8", "surrogateescape")
    if scheme in ("CRYPT", "DES-CRYPT", "SHA256-CRYPT") and len(data) == 13:
        return bytes(c & 0x7F for c in key[:8].ljust(8, b"\0"))
    if data.startswith("$2"):
        return key[:72]
    return key


@pytest.mark.parametrize("scheme, data, password", GOOD)
def test_wrong_password(scheme, data, password):
    for wrong in {password + "x", "x" + password, password[:-1], password.swapcase(), password + "\0"}:
        if _significant(scheme, data, wrong) != _significant(scheme, data, password):
            assert verify_scheme(scheme, data, wrong) is False, wrong


def test_rounds_default_and_clamping():
    # rounds=10 is raised to the minimum 1000, and crypt() writes rounds=1000
    assert sha256_crypt("the minimum number is still observed", "$5$rounds=10$roundstoolow") == \
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"
    assert sha256_crypt("the minimum number is still observed", "$5$rounds=1000$roundstoolow") == \
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"
    # a default setting and an explicit rounds=5000 hash alike, only the text differs
    assert sha512_crypt("Hello world!", "$6$rounds=5000$saltstring") == \
        "$6$rounds=5000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
    # the maximum, 999999999, read but not run here
    assert schemes._parse_sha_setting(schemes._SHA512_CRYPT, b"$6$rounds=1000000000$salt") == \
        (b"$6$rounds=999999999$salt$", 999_999_999, b"salt")
    assert schemes._parse_sha_setting(schemes._SHA512_CRYPT, b"$6$rounds=" + b"9" * 5000 + b"$salt") == \
        (b"$6$rounds=999999999$salt$", 999_999_999, b"salt")
    assert schemes._parse_sha_setting(schemes._SHA256_CRYPT, b"$5$rounds=x$salt") == \
        (b"$5$rounds=x$", 5000, b"rounds=x")     # as glibc: not a count, so part of the salt


SHA512_HELLO = "svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
SHA256_LOW = "yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"

MALFORMED = [
    # SHA-crypt: what crypt() would never write back
    ("SHA256-CRYPT", "$5$rounds=10$roundstoolow$" + SHA256_LOW, "the minimum number is still observed"),
    ("SHA256-CRYPT", "$5$rounds=01000$roundstoolow$" + SHA256_LOW, "the minimum number is still observed"),
    ("SHA512-CRYPT", "$6$rounds=5000000000$saltstring$" + SHA512_HELLO, "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring$" + SHA512_HELLO[:-1], "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring$" + SHA512_HELLO + "x", "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring$" + SHA512_HELLO[:-1] + "!", "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring$" + SHA512_HELLO + "$", "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring", "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstring$", "Hello world!"),
    ("SHA512-CRYPT", "$6$", "Hello world!"),
    ("SHA512-CRYPT", "$6$saltstringsaltstring$" + SHA512_HELLO, "Hello world!"),   # salt over 16
    ("SHA512-CRYPT", "", ""),
    ("SHA512-CRYPT", "$7$saltstring$" + SHA512_HELLO, "Hello world!"),
    ("SHA512-CRYPT", "saltstring$" + SHA512_HELLO, "Hello world!"),
    # MD5-crypt
    ("MD5-CRYPT", "$1$salt$qJH7.N4xYta3aEG/dfqo/", "password"),
    ("MD5-CRYPT", "$1$salt$qJH7.N4xYta3aEG/dfqo/0$", "password"),
    ("MD5-CRYPT", "$1$salt$qJH7.N4xYta3aEG/dfqo/0x", "password"),
    ("MD5-CRYPT", "$1$saltsaltS$qJH7.N4xYta3aEG/dfqo/0", "password"),
    ("MD5-CRYPT", "salt$qJH7.N4xYta3aEG/dfqo/0", "password"),
    ("MD5-CRYPT", "$6$saltstring$" + SHA512_HELLO, "Hello world!"),    # MD5-CRYPT is md5crypt alone
    ("MD5-CRYPT", "", ""),
    # DES and the crypt() schemes not implemented
    ("CRYPT", "vpvKh.SaNbR6", "pass"),
    ("CRYPT", "vpvKh.SaNbR6s.", "pass"),
    ("CRYPT", "v!vKh.SaNbR6s", "pass"),
    ("CRYPT", "", ""),
    ("CRYPT", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", "password"),
    ("CRYPT", "$2x$04$0123456789abcdefABCDE.N.drYX5yIAL1LkTaaZotW3yI0hQhZru", "08/15!test~4711"),
    ("CRYPT", "_J9..CCCCXBrJUJV154M", "U*U*U*U*"),
    # bcrypt
    ("BLF-CRYPT", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", "U*U"),
    ("BLF-CRYPT", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW", "U*U"),
    ("BLF-CRYPT", "$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
    ("BLF-CRYPT", "$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
    ("BLF-CRYPT", "$2c$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
    ("BLF-CRYPT", "$2a$05$CCCCCCCCCCCCCCCCCCCCC!E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
    ("BLF-CRYPT", "$2a$05$", "U*U"),
    # Argon2
    ("ARGON2ID", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/", "password"),
    ("ARGON2ID", "$argon2id$v=19$m=256,t=2,p=1c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"),
    ("ARGON2ID", "$argon2id$v=19$m=banana,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
     "password"),
    ("ARGON2ID", "$argon2id$v=19$m=256,t=2,p=1$$", "password"),
    ("ARGON2ID", "$argon2id$", "password"),
    ("ARGON2ID", "argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"),
    # argon2d: libsodium, and so Dovecot, does not verify it
    ("ARGON2", "$argon2d$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"),
    # digests of the wrong size or encoding
    ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9", "password"),
    ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=W6ph", "password"),
    ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g==", "password"),
    ("SHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g= ", "password"),
    ("SHA", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd", "password"),
    ("SHA", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd80", "password"),
    ("SHA", "!!!!", "password"),
    ("SHA", "", ""),
    ("SHA.HEX", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
    ("SHA.B64", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "password"),
    ("SHA256", "XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQ", "password"),
    ("PLAIN-MD5", "5f4dcc3b5aa765d61d8327deb882cf9", "password"),
    ("PLAIN-MD5", "5f4dcc3b5aa765d61d8327deb882cf9g", "password"),
    ("LDAP-MD5", "X03MO1qnZdYdgyfeuILP", "password"),
    ("MD5", "nonsense", "password"),
    # salted digests need a salt
    ("SSHA", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),           # a bare SHA1 digest
    ("SSHA", "", ""),
    ("SSHA", "986H5cS9JcDYQeJd6wKaITMho4M9CrX!", "pass"),
    ("SSHA.HEX", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852d", "pass"),
    ("SSHA.HEX", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852dz", "pass"),
    ("SSHA", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852d1", "pass"),   # hex is not guessed for SSHA
    ("SSHA512", "sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lThf+rDKy8hg==",
     "password"),
    ("SMD5", "X03MO1qnZdYdgyfeuILPmQ==", "password"),
    # cleartext encodings
    ("PLAIN.B64", "e1x9OiEiC", '{\\}:!"\n'),
    ("PLAIN.B64", "e1x9OiEiCg==x", '{\\}:!"\n'),
    ("PLAIN.HEX", "7061737", "pass"),
    # passwords that cannot be encoded, or hold a NUL
    ("PLAIN", "\ud800", "\ud800"),
    ("PLAIN.HEX", "706100", "pa\0"),
    ("BLF-CRYPT", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", "\0"),
]


@pytest.mark.parametrize("scheme, data, password", MALFORMED)
def test_malformed_is_false(scheme, data, password):
    assert verify_scheme(scheme, data, password) is False


def test_malformed_refused_before_the_rounds():
    started = time.monotonic()
    assert verify_scheme("SHA512-CRYPT", "$6$rounds=999999999999$saltstring$" + SHA512_HELLO, "Hello world!") is False
    assert verify_scheme("SHA512-CRYPT", "$6$rounds=999999999$saltstring$" + SHA512_HELLO + "!",
                         "Hello world!") is False
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("scheme", ["SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5", "DIGEST-MD5", "NTLM", "LANMAN",
                                    "PLAIN-MD4", "PLAIN-TRUNC", "OTP", "PBKDF2", "RPA", "SKEY", "", "SHA3",
                                    "SSHA.B32", "PLAIN.", "SHA512-CRYPT.ROT13", "{SHA}", "NOPE.HEX"])
def test_unknown_scheme_raises(scheme):
    with pytest.raises(UnsupportedScheme):
        verify_scheme(scheme, "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password")


def test_supported():
    assert SUPPORTED == frozenset({
        "PLAIN", "CLEAR", "CLEARTEXT", "CRYPT", "DES-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT",
        "MD5-CRYPT", "MD5", "ARGON2", "ARGON2I", "ARGON2ID", "SHA", "SHA1", "SHA256", "SHA512", "SSHA",
        "SSHA256", "SSHA512", "SMD5", "PLAIN-MD5", "LDAP-MD5"})
    for scheme in SUPPORTED:
        assert verify_scheme(scheme, "", "x") is False
        assert verify_scheme(scheme.lower(), "", "x") is False


def test_scheme_name_case():
    assert verify_scheme("sha512-crypt", SHA_CRYPT_VECTORS[7][2], "Hello world!") is True
    assert verify_scheme("Ssha.Hex", "3f5ca6203f8cdaa44d9160575c1ee1d77abcf59ca5f852d1", "pass") is True


def test_argon2_generated_by_argon2_cffi():
    for kind in (argon2.Type.ID, argon2.Type.I):
        hasher = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=kind)
        stored = hasher.hash("correct horse battery staple")
        assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$" if kind == argon2.Type.ID
                                 else "$argon2i$v=19$m=64,t=1,p=1$")
        for scheme in ("ARGON2ID", "ARGON2I", "ARGON2"):
            assert verify_scheme(scheme, stored, "correct horse battery staple") is True
            assert verify_scheme(scheme, stored, "correct horse battery stapler") is False


def test_bcrypt_generated_by_bcrypt():
    stored = bcrypt.hashpw("pässwörd".encode(), bcrypt.gensalt(4)).decode()
    assert verify_scheme("BLF-CRYPT", stored, "pässwörd") is True
    assert verify_scheme("BLF-CRYPT", stored, "passwörd") is False
    long = "ü" * 40      # 80 bytes: bcrypt reads the first 72
    stored = bcrypt.hashpw(long.encode()[:72], bcrypt.gensalt(4)).decode()
    assert verify_scheme("BLF-CRYPT", stored, long) is True
    assert verify_scheme("BLF-CRYPT", stored, "ü" * 36) is True
    assert verify_scheme("BLF-CRYPT", stored, "ü" * 35) is False


def test_bytes_and_surrogates():
    # a password decoded with surrogateescape verifies as the client's bytes
    stored = sha512_crypt(b"caf\xe9", "$6$latin1")
    assert stored == sha512_crypt("caf\udce9", "$6$latin1")
    assert verify_scheme("SHA512-CRYPT", stored, "caf\udce9") is True
    assert verify_scheme("SHA512-CRYPT", stored, "café") is False


def test_never_raises_on_garbage():
    rnd = random.Random(20240611)
    alphabet = "$./=+,:0123456789abcdefABCDEFxyzXYZ{}\\ \t\x00é\udcff"
    prefixes = ["", "$1$", "$5$", "$6$", "$5$rounds=", "$6$rounds=1000$", "$2a$04$", "$2y$05$", "$argon2id$",
                "$argon2i$v=19$m=8,t=1,p=1$", "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHQ$"]
    for _ in range(300):
        data = rnd.choice(prefixes) + "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 70)))
        password = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 10)))
        for scheme in sorted(SUPPORTED) + ["SSHA.HEX", "PLAIN.B64", "SHA256.BASE64"]:
            assert verify_scheme(scheme, data, password) in (True, False)
