"""pillarbox(8): the admin command.

    pillarbox [-C imapd.conf] user add|passwd NAME [--password-stdin]
    pillarbox [-C imapd.conf] user delete NAME [--purge]
    pillarbox [-C imapd.conf] user list
    pillarbox [-C imapd.conf] mailbox create USER NAME [--special-use FLAG]
    pillarbox [-C imapd.conf] mailbox delete USER NAME
    pillarbox [-C imapd.conf] mailbox rename USER OLD NEW
    pillarbox [-C imapd.conf] mailbox list USER
    pillarbox [-C imapd.conf] reconstruct USER [MAILBOX]
    pillarbox [-C imapd.conf] quota get USER
    pillarbox [-C imapd.conf] quota set USER [--storage KIB|none] [--messages N|none]
    pillarbox [-C imapd.conf] deliver USER [MAILBOX] [--flag FLAG ...] < message

Mailbox names are the store's: "/" between levels, UTF-8, INBOX for the inbox.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pillarbox.auth import AuthConfigError, PasswdError, passwd_file
from pillarbox.config import Config, ConfigError, default_config_path


class AdminError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pillarbox", description="pillarbox administration")
    parser.add_argument("-C", dest="config", metavar="imapd.conf",
                        help="configuration file (default: $PILLARBOX_CONFIG or /etc/imapd.conf)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    user = commands.add_parser("user", help="manage users in the password file")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("add", "add a user"), ("passwd", "change a user's password")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input")
    delete = actions.add_parser("delete", help="remove a user")
    delete.add_argument("name")
    delete.add_argument("--purge", action="store_true", help="also delete the user's mail store")
    actions.add_parser("list", help="list users")
    _store_commands(commands)
    return parser


def _store_commands(commands) -> None:
    mailbox = commands.add_parser("mailbox", help="manage a user's mailboxes").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    create = mailbox.add_parser("create", help="create a mailbox (and missing parents)")
    create.add_argument("user")
    create.add_argument("name")
    create.add_argument("--special-use", help="e.g. \\Sent, \\Trash, \\Drafts, \\Junk, \\Archive")
    remove = mailbox.add_parser("delete", help="delete a mailbox and its messages")
    remove.add_argument("user")
    remove.add_argument("name")
    rename = mailbox.add_parser("rename", help="rename a mailbox with its children")
    rename.add_argument("user")
    rename.add_argument("old")
    rename.add_argument("new")
    mailbox.add_parser("list", help="list mailboxes with counters").add_argument("user")
    rebuild = commands.add_parser("reconstruct", help="rebuild the index from the Maildir")
    rebuild.add_argument("user")
    rebuild.add_argument("mailbox", nargs="?")
    quota = commands.add_parser("quota", help="show or set a user's quota").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    quota.add_parser("get", help="usage and limits").add_argument("user")
    setter = quota.add_parser("set", help="set limits (none removes one)")
    setter.add_argument("user")
    setter.add_argument("--storage", metavar="KIB")
    setter.add_argument("--messages", metavar="N")
    deliver = commands.add_parser("deliver", help="deliver a message from standard input")
    deliver.add_argument("user")
    deliver.add_argument("mailbox", nargs="?", default="INBOX")
    deliver.add_argument("--flag", action="append", default=[], help="a flag to set, e.g. \\Seen (repeatable)")


def load_config(path: str | None) -> Config:
    try:
        return Config.load(path or default_config_path())
    except ConfigError as exc:
        raise AdminError(str(exc)) from exc


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Retype new password: ") != password:
            raise AdminError("passwords do not match")
    if not password:
        raise AdminError("empty password refused")
    return password


def user_command(config: Config, args: argparse.Namespace) -> int:
    users = passwd_file(config)
    if args.action == "list":
        for name in sorted(users.entries()):
            print(name)
    elif args.action == "delete":
        users.delete(args.name)
        if args.purge:
            from pillarbox.store.admin import purge_user
            purge_user(config, args.name)
    else:
        adding = args.action == "add"
        if not adding and users.lookup(args.name) is None:
            raise AdminError(f"no such user '{args.name}'")
        if adding and users.lookup(args.name) is not None:
            raise AdminError(f"user '{args.name}' already exists")
        users.set_password(args.name, read_password(args.password_stdin), create=adding, replace=not adding)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        if args.command == "user":
            return user_command(config, args)
        from pillarbox.store.admin import store_command
        return store_command(config, args)
    except (AdminError, PasswdError, AuthConfigError) as exc:
        print(f"pillarbox: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        import sqlite3
        from pillarbox.store import StoreError
        if isinstance(exc, sqlite3.DatabaseError):
            print(f"pillarbox: the user's index cannot be used ({exc}); run: pillarbox reconstruct USER",
                  file=sys.stderr)
            return 1
        if isinstance(exc, (StoreError, OSError)):
            print(f"pillarbox: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
