"""Putting the same mail in front of both servers: seed Maildirs, hard-linked into each."""

from __future__ import annotations

import pwd
import time
from pathlib import Path

from bench import mailgen
from bench.scenarios import MailboxSpec
from bench.servers import Server


def write_seeds(seed_root: Path, specs: dict[str, MailboxSpec]) -> None:
    for user, spec in specs.items():
        folder = seed_root / user
        if (folder / "cur").is_dir():
            continue
        started = time.perf_counter()
        size = mailgen.write_maildir(folder, spec.count, spec.seed, spec.sizes)
        if spec.count >= 1000:
            print(f"  wrote {spec.count:,} messages ({size / 1e6:.0f} MB) for {user} "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)


def install(server: Server, seed_root: Path, users: list[str], account: pwd.struct_passwd) -> None:
    """Each user's INBOX as identical files (hard links) in the server's mail directory."""
    for user in users:
        target = server.maildir(user)
        mailgen.link_maildir(seed_root / user, target)
    mailgen.chown_tree(server.root, account.pw_uid, account.pw_gid)
