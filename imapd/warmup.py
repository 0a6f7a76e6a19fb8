"""Run one throwaway IMAP session inside the template before it forks workers.

CPython specialises bytecode in place the first time code runs, and fills
caches (compiled regexes, lru_caches) lazily. Done in each worker, that
dirties copies of shared pages; done once here, the results are shared
copy-on-write by every worker. The session uses a private temporary store
and a socketpair; nothing of it outlives this function.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

MESSAGE = (b"From: Warm Up <warm@example.org>\r\nTo: up@example.org\r\nSubject: warm-up\r\n"
           b"Message-ID: <warm@example.org>\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
           b"--b\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n--b--\r\n")

SCRIPT = [b"a CAPABILITY", b"b LOGIN warmup warmup", b"c ENABLE CONDSTORE",
          b"d APPEND INBOX (\\Seen) {%d+}\r\n" % len(MESSAGE) + MESSAGE,
          b"e SELECT INBOX", b"f FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ)",
          b"g UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (From Subject)] BODY.PEEK[])",
          b"h UID SEARCH UNSEEN SUBJECT warm", b"i UID STORE 1 +FLAGS (\\Flagged)", b"j LIST \"\" \"*\"",
          b"k STATUS INBOX (MESSAGES UNSEEN UIDNEXT)", b"l NOOP", b"m LOGOUT"]


def warm_up() -> None:
    from imapd.server import ImapServer
    from pillarbox.auth.passwd import PasswdFile
    from pillarbox.config import Config
    from pillarbox.connection import Connection
    from pillarbox import log
    from pillarbox.service import ServiceSpec, Session, WorkerOptions

    root = tempfile.mkdtemp(prefix="pillarbox-warmup-")
    ours, theirs = socket.socketpair()
    try:
        config = Config.from_text(f"configdirectory: {root}/config\npartition-default: {root}/spool\n"
                                  "allowplaintext: yes\nfailedloginpause: 0\n", service="imap")
        PasswdFile(os.path.join(root, "config", "passwd")).set_password("warmup", "warmup", create=True,
                                                                         replace=False)
        ours.sendall(b"".join(line + b"\r\n" for line in SCRIPT))
        ours.shutdown(socket.SHUT_WR)
        session = Session(ServiceSpec("imapd", serve=lambda s: None), config, WorkerOptions(),
                          Connection.from_socket(theirs))
        with log.muted():
            ImapServer(session).run()
    except Exception:
        pass                         # a warm-up must never stop the template
    finally:
        ours.close()
        theirs.close()
        shutil.rmtree(root, ignore_errors=True)
