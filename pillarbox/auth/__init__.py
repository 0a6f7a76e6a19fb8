"""Authentication: where the password file is, and checking a login against it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pillarbox.auth.passwd import PasswdError, PasswdFile

if TYPE_CHECKING:
    from pillarbox.config import Config


class AuthConfigError(Exception):
    pass


def passwd_path(config: "Config") -> str:
    configured = config.getpath("passwd_file")
    if configured and "{" not in configured:
        return configured
    configdir = config.getpath("configdirectory")
    if not configdir:
        raise AuthConfigError("imapd.conf sets neither passwd_file nor configdirectory: "
                              "there is no password file to check logins against")
    return os.path.join(configdir, "passwd")


def passwd_file(config: "Config") -> PasswdFile:
    return PasswdFile(passwd_path(config))


def check_password(config: "Config", user: str, password: str) -> bool:
    """True if `password` is `user`'s. Unknown users and broken entries are False."""
    try:
        return passwd_file(config).authenticate(user, password)
    except PasswdError:
        return False


__all__ = ["AuthConfigError", "PasswdError", "PasswdFile", "check_password", "passwd_file", "passwd_path"]
