"""Debian's isync (mbsync) doing a full two-way sync against imapd."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pillarbox.auth.passwd import PasswdFile
from pillarbox.config import Config
from pillarbox.devsetup import write_self_signed_certificate
from pillarbox.store import FLAGGED, INBOX, SEEN, UserStore
from tests.integration.conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync (Debian isync) is not installed")


def message(n: int, where: str) -> bytes:
    return (f"From: sender{n}@example.org\r\nTo: demo@example.org\r\nSubject: {where} message {n}\r\n"
            f"Message-ID: <{where}.{n}@example.org>\r\n\r\nbody of {where} message {n}\r\n" * 1).encode()


@pytest.fixture
def synced(master, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed_certificate(str(cert), str(key))
    master.add_imapd_conf(f"tls_server_cert: {cert}\ntls_server_key: {key}\nfailedloginpause: 0\n")
    PasswdFile(str(master.configdir / "passwd")).set_password("demo", "demo", create=True, replace=False)
    port = free_port()
    master.write_services(f'imap cmd="imapd" listen=127.0.0.1:{port} prefork=2')
    master.start()
    local = tmp_path / "mail"
    local.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""IMAPAccount test
Host localhost
Port {port}
User demo
Pass demo
SSLType STARTTLS
CertificateFile {cert}

IMAPStore remote
Account test

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")
    master.mbsync = lambda: subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True, text=True,
                                           timeout=300)
    master.local = local
    master.server_store = lambda: UserStore.open(Config.load(str(master.imapd_conf)), "demo")
    return master


def local_files(folder: Path) -> list[Path]:
    return sorted(p for sub in ("cur", "new") for p in (folder / sub).iterdir())


def test_two_way_sync_of_hundreds_of_messages(synced):
    with synced.server_store() as store:
        store.create_mailbox("Archive/2025")
        for n in range(200):
            store.append(INBOX, message(n, "server"), flags=[SEEN] if n % 2 else [])
        for n in range(60):
            store.append("Archive/2025", message(n, "archive"), flags=[FLAGGED])
    first = synced.mbsync()
    assert first.returncode == 0, first.stderr
    inbox = local_files(synced.local / "INBOX")
    assert len(inbox) == 200
    assert sum(1 for p in inbox if "S" in p.name.split(":2,")[-1]) == 100
    archive = local_files(synced.local / "Archive" / "2025")
    assert len(archive) == 60 and all("F" in p.name.split(":2,")[-1] for p in archive)
    assert all(b"body of" in p.read_bytes() for p in inbox[:5])

    # local changes: new messages in a new folder, flags, a deletion
    for n in range(40):
        target = synced.local / "Outbox"
        for sub in ("cur", "new", "tmp"):
            (target / sub).mkdir(parents=True, exist_ok=True)
        (target / "cur" / f"17000000{n:02d}.local{n}.host:2,S").write_bytes(message(n, "local"))
    unseen = [p for p in inbox if "S" not in p.name.split(":2,")[-1]]
    unseen[0].rename(str(unseen[0]) + "F")          # ":2," + "" + "F" -> flagged
    inbox[-1].rename(str(inbox[-1]).split(":2,")[0] + ":2,ST")     # trashed: expunged both ways
    second = synced.mbsync()
    assert second.returncode == 0, second.stderr
    with synced.server_store() as store:
        assert [m.name for m in store.list_mailboxes()] == ["Archive", "Archive/2025", INBOX, "Outbox"]
        outbox = store.messages("Outbox")
        assert len(outbox) == 40 and all(SEEN in r.flags for r in outbox)
        records = store.messages(INBOX)
        assert len(records) == 199
        assert sum(1 for r in records if FLAGGED in r.flags) == 1
        # byte-exact through the sync, apart from the X-TUID header mbsync itself adds to uploads
        bodies = {re.sub(rb"X-TUID: [^\r]*\r\n", b"", store.read_message("Outbox", r.uid)) for r in outbox}
        assert message(7, "local") in bodies

    third = synced.mbsync()                               # nothing left to do, nothing duplicated
    assert third.returncode == 0, third.stderr
    assert len(local_files(synced.local / "INBOX")) == 199
    with synced.server_store() as store:
        assert store.info(INBOX).messages == 199 and store.info("Outbox").messages == 40
