"""pillarbox as `make run` starts it: master with generated imapd.conf and cyrus.conf."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import cached_property
from pathlib import Path

from bench import system, users
from bench.servers.base import Server, ServerError, tail

BIN = Path(sys.executable).parent
IMAP_MAXCHILD = 600          # the memory scenario holds 500 connections
WORKER_IDLE = 10             # -T: an idle worker above prefork leaves after 10-20 s


class PillarboxServer(Server):
    name = "pillarbox"
    label = "pillarbox"

    @property
    def configdir(self) -> Path:
        return self.root / "config"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def log_path(self) -> Path:
        return self.root / "master.log"

    def maildir(self, user: str) -> Path:
        return self.spool / "user" / user

    def configure(self) -> None:
        for directory in (self.configdir, self.spool / "user"):
            directory.mkdir(parents=True, exist_ok=True)
        (self.root / "imapd.conf").write_text(self._imapd_conf())
        (self.root / "cyrus.conf").write_text(self._cyrus_conf())
        users.write_passwd(self.configdir / "passwd")

    def _imapd_conf(self) -> str:
        text = (f"configdirectory: {self.configdir}\n"
                f"partition-default: {self.spool}\n"
                f"servername: bench\n"
                f"allowplaintext: yes\n"
                f"imapidlehibernate: {self.idle_hibernate}\n")
        return text + (f"cyrus_user: {self.account.pw_name}\n" if self.drops_root else "")

    @property
    def run_as(self) -> str:
        return self.account.pw_name if self.drops_root else "root"

    @cached_property
    def drops_root(self) -> bool:
        """Whether the benchmark account can run the venv's interpreter (it cannot when Python
        lives under root's 0700 home, as a pyenv install does): if not, master stays root."""
        result = subprocess.run(["runuser", "-u", self.account.pw_name, "--", sys.executable, "-c", "pass"],
                                capture_output=True)
        return result.returncode == 0

    def _cyrus_conf(self) -> str:
        p = self.ports
        return ("SERVICES {\n"
                f'  imap     cmd="imapd -U 250 -T {WORKER_IDLE}" listen="127.0.0.1:{p.imap}" '
                f"prefork={self.prefork} maxchild={IMAP_MAXCHILD}\n"
                f'  imapresume cmd="imapd -R -T {WORKER_IDLE}" listen="{self.configdir}/socket/imapresume" '
                f"prefork=1 maxchild={IMAP_MAXCHILD}\n"
                f'  imapcold cmd="imapd -U 1"   listen="127.0.0.1:{p.imap_cold}" prefork=0 maxchild=200\n'
                f'  pop3     cmd="pop3d"        listen="127.0.0.1:{p.pop3}" prefork=1\n'
                f'  lmtp     cmd="lmtpd -a"     listen="127.0.0.1:{p.lmtp}" prefork=2\n'
                "}\n"
                'DAEMON {\n  idled cmd="idled" wait=y\n}\n')

    def _launch(self) -> subprocess.Popen:
        ready = self.root / "ready"
        ready.unlink(missing_ok=True)
        command = [str(BIN / "master"), "-C", str(self.root / "imapd.conf"), "-M", str(self.root / "cyrus.conf"),
                   "-L", str(self.log_path), "-r", str(ready)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=self.root)
        deadline = time.monotonic() + 30
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise ServerError(f"master did not start: {tail(self.log_path)}")
            time.sleep(0.02)
        return process

    def minimum_processes(self) -> int:
        return 1 + self.prefork + 1 + 2 + 2          # + idled and a resume worker

    def idle_settle_seconds(self) -> float:
        """Hibernation, then the pool shrinking back: workers left idle exit after -T (randomised up to 2x)."""
        return self.idle_hibernate + 2 * WORKER_IDLE + 3.0

    def version(self) -> str:
        return system.pillarbox_version()

    def description(self) -> dict[str, str]:
        return {
            "processes": (f"master + imapd workers (prefork={self.prefork}, -U 250, -T {WORKER_IDLE}, "
                          f"maxchild={IMAP_MAXCHILD}), "
                          "pop3d prefork=1, lmtpd -a prefork=2 (preauthorised, as Dovecot's LMTP); one process per "
                          f"connection; IDLE sessions hibernate into idled after {self.idle_hibernate}s "
                          "(imapidlehibernate) and come back through `imapd -R`; "
                          f"runs as {self.run_as}"),
            "cold connections": 'second IMAP service `imapd -U 1` prefork=0: each connection waits for fork+exec',
            "fsync": ("every message file, its directory, and every SQLite WAL commit "
                      "(synchronous=FULL): 3 syncs per stored message"),
            "password hash": users.HASH_DESCRIPTION,
            "TLS": "none (allowplaintext: yes)",
        }
