"""The benchmark's mail: deterministic messages, written once as Maildir files.

Each mailbox is written once under <workdir>/seed/<user>/ with Dovecot-style
file names (`<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<crlf size>:2,<flags>`)
and hard-linked into each server's mail directory, so both servers open
byte-identical files (and share one copy in the page cache).
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

WORDS = ("mail server python maildir index message folder client search quota delivery flag archive "
         "project meeting report invoice holiday schedule budget review customer release travel team "
         "contract update question answer support ticket agenda minutes draft final notes").split()
SENDERS = ("Alice Martin", "Bob Chen", "Carol Diaz", "Dave Evans", "Erin Fox", "Frank Gill", "Grace Hall")
BASE_TIME = 1_700_000_000
HOST = "bench"


MIX_SIZES = (60, 150, 300, 600, 1200)        # body words: about 0.8-9 KB, 3.5 KB on average
SMALL_SIZES = (40, 80, 150, 300)             # the 100,000-message mailbox: 1.4 KB on average


def message(n: int, rng: random.Random, body_words: int | None = None, tag: str = "",
            sizes: tuple[int, ...] = MIX_SIZES) -> bytes:
    """An RFC 5322 plain-text message with CRLF line ends."""
    words = body_words if body_words is not None else rng.choice(sizes)
    sender = SENDERS[n % len(SENDERS)]
    chosen = rng.choices(WORDS, k=words)
    lines = [" ".join(chosen[i:i + 12]) for i in range(0, words, 12)] or [""]
    date = format_datetime(datetime(2025, 11, 1 + n % 28, 7, n % 60, tzinfo=timezone.utc))
    headers = (f"Return-Path: <{sender.split()[0].lower()}@example.org>\r\n"
               f"From: {sender} <{sender.split()[0].lower()}@example.org>\r\n"
               f"To: Bench User <user@bench.test>\r\n"
               f"Subject: report {n} {rng.choice(WORDS)} {rng.choice(WORDS)}\r\n"
               f"Date: {date}\r\n"
               f"Message-ID: <{tag}{n}.{rng.getrandbits(48):x}@example.org>\r\n"
               f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return (headers + "\r\n".join(lines) + "\r\n").encode()


def sized_message(n: int, rng: random.Random, size: int, tag: str) -> bytes:
    """A message of exactly `size` bytes (LMTP's 10 KB deliveries)."""
    data = message(n, rng, body_words=size // 5, tag=tag)
    if len(data) >= size:
        return data[:size - 2].rstrip(b"\r") + b"\r\n"
    return data + b"x" * (size - len(data) - 2) + b"\r\n"


def file_name(n: int, data: bytes, flags: str) -> str:
    base = f"{BASE_TIME + n}.M{n % 1_000_000}P4242Q{n}.{HOST},S={len(data)},W={len(data)}"
    return f"{base}:2,{flags}"


def flags_for(n: int, rng: random.Random) -> str:
    """Most mail read, some answered or flagged: what an INBOX looks like."""
    letters = "S" if rng.random() < 0.8 else ""
    if rng.random() < 0.1:
        letters = "R" + letters
    if rng.random() < 0.05:
        letters = "F" + letters
    return "".join(sorted(letters))


def write_maildir(folder: Path, count: int, seed: int, sizes: tuple[int, ...] = MIX_SIZES) -> int:
    """A Maildir++ INBOX of `count` messages in cur/; returns the bytes written."""
    rng = random.Random(seed)
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    cur = folder / "cur"
    for n in range(1, count + 1):
        data = message(n, rng, sizes=sizes)
        (cur / file_name(n, data, flags_for(n, rng))).write_bytes(data)
        total += len(data)
    return total


def link_maildir(source: Path, target: Path) -> None:
    """Hard-link every message of source into a new Maildir at target."""
    for sub in ("tmp", "new", "cur"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("new", "cur"):
        with os.scandir(source / sub) as entries:
            for entry in entries:
                os.link(entry.path, target / sub / entry.name)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for directory, subdirs, files in os.walk(root):
        for name in (*subdirs, *files):
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)
