"""The store's half of the pillarbox admin command (mailbox, reconstruct, quota, deliver)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from pillarbox.config import Config
from pillarbox.store.errors import StoreError, UserNotFound
from pillarbox.store.layout import user_root
from pillarbox.store.userstore import UserStore


def _limit(text: str | None) -> int | None:
    if text is None or text.lower() in ("none", "unlimited"):
        return None
    if not text.isdigit():
        raise StoreError(f"a quota limit is a whole number or 'none', not {text!r}")
    return int(text)


def open_user(config: Config, user: str) -> UserStore:
    """The user's store; created on first use only for a user in the password file."""
    from pillarbox.auth import passwd_file
    try:
        return UserStore.open(config, user, create=False)
    except UserNotFound:
        if passwd_file(config).lookup(user) is None:
            raise StoreError(f"no such user {user!r} (add it with: pillarbox user add {user})") from None
        return UserStore.open(config, user)


def mailbox_command(config: Config, args: argparse.Namespace) -> int:
    with open_user(config, args.user) as store:
        if args.action == "create":
            store.create_mailbox(args.name, special_use=args.special_use)
        elif args.action == "delete":
            store.delete_mailbox(args.name)
        elif args.action == "rename":
            store.rename_mailbox(args.old, args.new)
        else:
            print(f"{'MAILBOX':30} {'MESSAGES':>8} {'UNSEEN':>7} {'SIZE':>10} {'UIDVALIDITY':>11} {'UIDNEXT':>8}  USE")
            for info in [store.info(m.name) for m in store.list_mailboxes()]:
                print(f"{info.name:30} {info.messages:8} {info.unseen:7} {info.size:10} {info.uidvalidity:11} "
                      f"{info.uidnext:8}  {info.special_use or ''}")
    return 0


def reconstruct_command(config: Config, args: argparse.Namespace) -> int:
    from pillarbox.store.reconstruct import reconstruct
    reports, notes = reconstruct(config, args.user, args.mailbox)
    for note in notes:
        print(f"reconstruct: {note}")
    for report in reports:
        print(f"{report.name}: {report.messages_before} -> {report.messages_after} messages "
              f"(UIDVALIDITY {report.uidvalidity})")
    return 0


def quota_command(config: Config, args: argparse.Namespace) -> int:
    with open_user(config, args.user) as store:
        if args.action == "set":
            if args.storage is None and args.messages is None:
                raise StoreError("quota set needs --storage and/or --messages")
            limits = {resource: _limit(text) for resource, text in (("STORAGE", args.storage),
                                                                    ("MESSAGE", args.messages)) if text is not None}
            for resource, limit in limits.items():
                store.set_quota(resource, limit)
        for resource, (used, limit) in store.quota().items():
            unit = " KiB" if resource == "STORAGE" else ""
            print(f"{resource:8} {used}{unit} of {'unlimited' if limit is None else f'{limit}{unit}'}")
    return 0


def deliver_command(config: Config, args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read()
    if not data:
        raise StoreError("no message on standard input")
    with open_user(config, args.user) as store:
        result = store.append(args.mailbox, data, flags=args.flag)
    print(f"delivered to {args.user} {args.mailbox} UID {result.uid} (UIDVALIDITY {result.uidvalidity})")
    return 0


def purge_user(config: Config, user: str) -> None:
    root = user_root(config, user)
    if os.path.isdir(root):
        shutil.rmtree(root)


def store_command(config: Config, args: argparse.Namespace) -> int:
    handlers = {"mailbox": mailbox_command, "reconstruct": reconstruct_command, "quota": quota_command,
                "deliver": deliver_command}
    return handlers[args.command](config, args)
