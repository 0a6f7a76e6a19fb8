"""pillarbox(8): the admin command.

    pillarbox [-C imapd.conf] user add NAME [--password-stdin]
    pillarbox [-C imapd.conf] user passwd NAME [--password-stdin]
    pillarbox [-C imapd.conf] user delete NAME
    pillarbox [-C imapd.conf] user list
"""

from __future__ import annotations

import argparse
import getpass
import sys

from pillarbox.auth import AuthConfigError, PasswdError, passwd_file
from pillarbox.config import Config, ConfigError, default_config_path


class AdminError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pillarbox", description="pillarbox administration")
    parser.add_argument("-C", dest="config", metavar="imapd.conf",
                        help=f"configuration file (default: $PILLARBOX_CONFIG or /etc/imapd.conf)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    user = commands.add_parser("user", help="manage users in the password file")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("add", "add a user"), ("passwd", "change a user's password")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input")
    actions.add_parser("delete", help="remove a user").add_argument("name")
    actions.add_parser("list", help="list users")
    return parser


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
    else:
        adding = args.action == "add"
        if not adding and users.lookup(args.name) is None:
            raise AdminError(f"no such user '{args.name}'")
        if adding and users.lookup(args.name) is not None:
            raise AdminError(f"user '{args.name}' already exists")
        users.set_password(args.name, read_password(args.password_stdin), create=adding, replace=not adding)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        return user_command(config, args)
    except (AdminError, PasswdError, AuthConfigError) as exc:
        print(f"pillarbox: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
