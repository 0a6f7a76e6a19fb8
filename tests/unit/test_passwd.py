import base64
import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest

from pillarbox.auth.passwd import (PasswdError, PasswdFile, hash_password, parse_scram, scram_secret,
                                   split_scheme, validate_username, verify_password)

BIN = Path(sys.executable).parent


def test_rfc7677_test_vector():
    # RFC 7677 section 3: user "user", password "pencil", 4096 iterations
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    secret = scram_secret("pencil", salt, 4096)
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    assert secret.server_key == hmac.digest(salted, b"Server Key", "sha256")
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    assert secret.stored_key == hashlib.sha256(client_key).digest()


@pytest.mark.parametrize("stored, password, ok", [
    ("{PLAIN}secret", "secret", True),
    ("{PLAIN}secret", "Secret", False),
    ("{plain}x", "x", True),
    ("bare", "bare", True),
    (hash_password("pässwörd"), "pässwörd", True),
    (hash_password("pässwörd"), "passwort", False),
])
def test_verify(stored, password, ok):
    assert verify_password(stored, password) is ok


def test_hashes_are_salted():
    assert hash_password("same") != hash_password("same")
    scheme, data = split_scheme(hash_password("same"))
    assert scheme == "SCRAM-SHA-256" and parse_scram(data).iterations == 4096


def test_migrated_hashes_verify():
    # openssl passwd -6 -salt saltsalt secret
    stored = "{SHA512-CRYPT}$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
    import bcrypt
    assert verify_password(stored, "secret") is True
    assert verify_password(stored, "secreT") is False
    blf = "{BLF-CRYPT}" + bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode()
    assert verify_password(blf, "secret") and not verify_password(blf, "Secret")


@pytest.mark.parametrize("stored", ["{NTLM}abc", "{SCRAM-SHA-256}not,valid", "{SCRAM-SHA-256}1,!!,x,y"])
def test_unsupported_or_broken_entries_raise(stored):
    with pytest.raises(PasswdError):
        verify_password(stored, "x")


@pytest.mark.parametrize("name", ["", "a:b", "a/b", "a b", ".hidden", "-x", "a\nb", "x" * 300, "a\x01"])
def test_bad_usernames(name):
    with pytest.raises(PasswdError):
        validate_username(name)


@pytest.mark.parametrize("name", ["demo", "alice@example.org", "bob+tag", "first.last", "x_y-z"])
def test_good_usernames(name):
    validate_username(name)


def test_file_round_trip_keeps_extra_fields_readable(tmp_path):
    path = tmp_path / "passwd"
    path.write_text("# dovecot style\nold:{PLAIN}pw:1000:1000::/home/old::\n")
    users = PasswdFile(str(path))
    assert users.authenticate("old", "pw")
    users.set_password("new", "pw2", create=True, replace=False)
    assert users.authenticate("new", "pw2") and users.authenticate("old", "pw")
    with pytest.raises(PasswdError, match="already exists"):
        users.set_password("new", "x", create=True, replace=False)
    users.set_password("old", "changed", create=False, replace=True)
    text = path.read_text()
    assert text.startswith("# dovecot style\nold:{SCRAM-SHA-256}") and ":1000:1000::/home/old::" in text
    assert users.authenticate("old", "changed")
    users.delete("new")
    assert users.lookup("new") is None
    assert path.read_text().startswith("# dovecot style\n")
    assert oct(path.stat().st_mode & 0o777) == "0o640"


def test_admin_user_commands(tmp_path):
    conf = tmp_path / "imapd.conf"
    conf.write_text(f"configdirectory: {tmp_path}\n")

    def admin(*args, stdin=""):
        return subprocess.run([str(BIN / "pillarbox"), "-C", str(conf), *args], input=stdin,
                              capture_output=True, text=True, timeout=30)

    assert admin("user", "add", "alice", "--password-stdin", stdin="wonderland\n").returncode == 0
    assert PasswdFile(str(tmp_path / "passwd")).authenticate("alice", "wonderland")
    again = admin("user", "add", "alice", "--password-stdin", stdin="x\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert admin("user", "passwd", "alice", "--password-stdin", stdin="rabbit\n").returncode == 0
    assert PasswdFile(str(tmp_path / "passwd")).authenticate("alice", "rabbit")
    assert admin("user", "list").stdout == "alice\n"
    missing = admin("user", "delete", "bob")
    assert missing.returncode == 1 and "no such user 'bob'" in missing.stderr
    assert admin("user", "delete", "alice").returncode == 0
    assert admin("user", "list").stdout == ""
    bad = admin("user", "add", "a:b", "--password-stdin", stdin="x\n")
    assert bad.returncode == 1 and "invalid user name" in bad.stderr
    empty = admin("user", "add", "carol", "--password-stdin", stdin="\n")
    assert empty.returncode == 1 and "empty password" in empty.stderr
