"""Prepare the `make run` tree: directories, a self-signed certificate, the demo user.

    python -m pillarbox.devsetup [-C conf/dev/imapd.conf]

Idempotent: what exists is left alone.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

from pillarbox.auth import passwd_file
from pillarbox.config import Config

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


def write_self_signed_certificate(cert_path: str, key_path: str, hostname: str = "localhost") -> None:
    """A 2048-bit RSA key and a certificate for localhost/127.0.0.1/::1, valid 10 years."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pillarbox development")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names = x509.SubjectAlternativeName([
        x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1"))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(alt_names, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    for path in (cert_path, key_path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def prepare(config: Config) -> list[str]:
    """Create what the config points at; returns what was done, for the user."""
    done = []
    configdir = config.getpath("configdirectory")
    for directory in [configdir, *config.partitions().values()]:
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750)
            done.append(f"created {directory}")
    cert, key = config.getpath("tls_server_cert"), config.getpath("tls_server_key")
    if cert and key and not (os.path.exists(cert) and os.path.exists(key)):
        write_self_signed_certificate(cert, key)
        done.append(f"wrote a self-signed certificate {cert}")
    users = passwd_file(config)
    if users.lookup(DEMO_USER) is None:
        users.set_password(DEMO_USER, DEMO_PASSWORD, create=True, replace=False)
        done.append(f"added user '{DEMO_USER}'")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pillarbox.devsetup")
    parser.add_argument("-C", dest="config", default="conf/dev/imapd.conf")
    args = parser.parse_args(argv)
    for line in prepare(Config.load(args.config)):
        print(f"devsetup: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
