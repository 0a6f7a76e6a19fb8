"""Expire duplicate-suppression records (what Cyrus's cyr_expire -E does for its duplicate db).

    python -m lmtpd.prune [-C imapd.conf] [--days N] [--user USER ...] [--quiet]

Walks every user store of the default partition (or only the named users)
and removes the records lmtpd made more than N days ago (default 3). Meant
to run from master as an EVENT, e.g. in cyrus.conf:

    EVENTS {
        duplicateprune  cmd="python3 -m lmtpd.prune -C /etc/pillarbox/imapd.conf"  at=0400
    }

Exit status: 0, or 1 if some store could not be pruned (the others are).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from lmtpd import duplicate
from pillarbox import log
from pillarbox.config import Config, ConfigError, default_config_path


def user_ids(config: Config) -> list[str]:
    """Every user with a store in the default partition: local names and local@domain."""
    from pillarbox.store.layout import partition_path
    base = partition_path(config)
    found = []
    found += _names(os.path.join(base, "user"))
    domains = os.path.join(base, "domain")
    for domain in _names(domains):
        found += [f"{local}@{domain}" for local in _names(os.path.join(domains, domain, "user"))]
    return sorted(found)


def _names(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    except FileNotFoundError:
        return []


def prune_all(config: Config, days: float, users: list[str] | None = None) -> tuple[int, int, list[str]]:
    """(records removed, stores visited, errors)."""
    from pillarbox.store import StoreError, UserNotFound, UserStore
    import sqlite3
    cutoff = time.time() - days * 86400
    removed = visited = 0
    errors = []
    for user in users if users is not None else user_ids(config):
        try:
            with UserStore.open(config, user, create=False) as store:
                removed += duplicate.prune(store, cutoff)
                visited += 1
        except UserNotFound:
            continue
        except (StoreError, OSError, sqlite3.Error) as exc:
            errors.append(f"{user}: {exc}")
    return removed, visited, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmtpd.prune",
                                     description="expire lmtpd's duplicate delivery records")
    parser.add_argument("-C", dest="config", metavar="imapd.conf")
    parser.add_argument("--days", type=float, default=duplicate.DEFAULT_EXPIRY_DAYS,
                        help=f"keep records this many days (default {duplicate.DEFAULT_EXPIRY_DAYS})")
    parser.add_argument("--user", action="append", help="only this user (repeatable)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must not be negative")
    os.umask(0o077)
    log.setup("lmtpd.prune")
    try:
        config = Config.load(args.config or default_config_path())
    except ConfigError as exc:
        print(f"lmtpd.prune: {exc}", file=sys.stderr)
        return 78
    try:
        removed, visited, errors = prune_all(config, args.days, args.user)
    except Exception as exc:          # no partition configured, ...
        print(f"lmtpd.prune: {exc}", file=sys.stderr)
        return 1
    for error in errors:
        print(f"lmtpd.prune: {error}", file=sys.stderr)
        log.error(f"duplicate prune: {error}")
    summary = f"duplicate prune: removed {removed} records older than {args.days:g} days in {visited} stores"
    log.info(summary)
    if not args.quiet:
        print(summary)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
