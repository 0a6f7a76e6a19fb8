"""What one benchmark run does: sizes, durations, rounds (full and --quick)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    rounds: int = 3
    seed: int = 42
    # client mix (IMAP sessions like a mail client's)
    mix_concurrency: tuple[int, ...] = (1, 10, 50)
    mix_duration: float = 8.0                  # seconds per concurrency level
    mix_mailbox_messages: int = 300            # INBOX size of each mix user
    # connection set-up
    connect_samples: int = 150                 # sequential connections, pool warm
    cold_samples: int = 40                     # connections that each need a new process
    # memory
    memory_connections: tuple[int, ...] = (1, 100, 500)
    idle_hibernate: int = 5                    # both servers: seconds in IDLE before a session hibernates
    # the big mailbox
    big_messages: int = 100_000
    # LMTP
    lmtp_concurrency: tuple[int, ...] = (1, 8)
    lmtp_duration: float = 6.0
    lmtp_message_size: int = 10 * 1024
    # POP3
    pop3_messages: int = 1000
    # servers
    imap_prefork: int = 4
    command_timeout: float = 900.0             # one IMAP command (a first body SEARCH over 100k is slow)
    workdir: Path | None = None                # where mail and servers live (default: a temp dir)
    keep_workdir: bool = False
    scenarios: tuple[str, ...] = ()            # empty: all
    quick: bool = False


def quick(settings: Settings) -> Settings:
    """A ~2-minute smoke run: one round, small mailboxes, short durations."""
    return replace(settings, rounds=1, quick=True, mix_duration=2.0, mix_mailbox_messages=100,
                   connect_samples=40, cold_samples=10, memory_connections=(1, 20, 50),
                   big_messages=5000, lmtp_duration=2.0, pop3_messages=200)


MIX_USERS = 50
LMTP_USERS = 8
