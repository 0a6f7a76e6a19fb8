"""Show or set which folders a user accepts plus-addressed mail (user+folder) into.

    python -m lmtpd.plus [-C imapd.conf] USER                    show the setting
    python -m lmtpd.plus [-C imapd.conf] USER --all              any existing folder (the default)
    python -m lmtpd.plus [-C imapd.conf] USER --none             none: +detail always goes to INBOX
    python -m lmtpd.plus [-C imapd.conf] USER --only F [F ...]   only these folders

Folder names are the store's ("/" between levels). Special-use folders
(\\Sent, \\Drafts, \\Trash, \\Junk, ...) never take plus-addressed mail.
The setting lives in the user's store, so it moves with the mail.
"""

from __future__ import annotations

import argparse
import os
import sys

from lmtpd.folders import allowed_folders, set_allowed_folders
from pillarbox.config import Config, ConfigError, default_config_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmtpd.plus", description=__doc__.split("\n")[0])
    parser.add_argument("-C", dest="config", metavar="imapd.conf")
    parser.add_argument("user")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--all", action="store_true", help="every existing folder")
    choice.add_argument("--none", action="store_true", help="no folder")
    choice.add_argument("--only", nargs="+", metavar="FOLDER", help="only these folders")
    args = parser.parse_args(argv)
    os.umask(0o077)
    from pillarbox import mailboxname
    from pillarbox.store import StoreError, UserStore
    try:
        config = Config.load(args.config or default_config_path())
        with UserStore.open(config, args.user, create=False) as store:
            if args.all:
                set_allowed_folders(store, None)
            elif args.none:
                set_allowed_folders(store, set())
            elif args.only:
                set_allowed_folders(store, {mailboxname.validate(name) for name in args.only})
            allowed = allowed_folders(store)
    except (ConfigError, StoreError, mailboxname.MailboxNameError) as exc:
        print(f"lmtpd.plus: {exc}", file=sys.stderr)
        return 1
    if allowed is None:
        print(f"{args.user}: plus addressing into any existing folder")
    elif not allowed:
        print(f"{args.user}: plus addressing disabled (always INBOX)")
    else:
        print(f"{args.user}: plus addressing into: {', '.join(sorted(allowed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
