"""Leaving root after the listeners are bound (ports below 1024 need it)."""

from __future__ import annotations

import grp
import os
import pwd

from pillarbox import log


class PrivilegeError(Exception):
    pass


def drop_privileges(user: str | None, group: str | None, owned_dirs: list[str]) -> None:
    """As root: become `cyrus_user` (and `cyrus_group`, else the user's group).

    The directories master created for itself are handed to that user first.
    Without cyrus_user, master stays root and says so."""
    if os.geteuid() != 0:
        return
    if not user:
        log.warning("master: running as root because imapd.conf sets no cyrus_user; "
                    "set cyrus_user so workers do not run as root")
        return
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise PrivilegeError(f"cyrus_user '{user}' does not exist") from None
    gid = account.pw_gid
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise PrivilegeError(f"cyrus_group '{group}' does not exist") from None
    for directory in owned_dirs:
        _chown_tree(directory, account.pw_uid, gid)
    os.initgroups(user, gid)
    os.setgid(gid)
    os.setuid(account.pw_uid)
    log.info(f"master: dropped privileges to {user} (uid {account.pw_uid}, gid {gid})")


def _chown_tree(directory: str, uid: int, gid: int) -> None:
    os.chown(directory, uid, gid)
    for name in os.listdir(directory):
        os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)
