"""Who a recipient address is: the policy that turns RCPT TO into store users and folders.

Pure decisions over imapd.conf and the password file; no protocol, no store
writes. What counts as a recipient is a user with an entry in the password
file (the account): mail for such a user is accepted even before their
first login (their store is created on first delivery, as imapd creates it
at first login).

* ``user`` and ``user@domain``: with ``virtdomains: off`` the domain is
  ignored (the MTA decided it is ours); otherwise ``user@domain`` is the
  user id, except that ``defaultdomain`` (and no domain) mean the plain
  ``user``.
* ``lmtp_downcase_rcpt`` (default on) lower-cases the user part (up to the
  "+"); the detail keeps its case. Domains are always lower-cased.
* ``user+detail``: plus addressing (Cyrus's). The user is ``user``; the
  detail names a folder that the delivery tries (lmtpd/folders.py). A
  local part that is itself a user name containing "+" wins over the split.
* ``postmaster`` (any case, RFC 5321 4.5.1 requires it to work): the user
  ``postmaster`` if there is one; otherwise the user named by the
  ``postmaster`` option; otherwise every user listed in ``admins``. None of
  them: unknown.
* unknown users go to ``lmtp_catchall_mailbox`` (a user) when it is set,
  else they are refused with 550 5.1.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lmtpd.protocol import Address
from pillarbox.config import Config

POSTMASTER = "postmaster"


@dataclass(frozen=True)
class Target:
    """Where one recipient's copy goes."""
    user: str                 # store user id ("alice", "bob@example.com")
    detail: str | None = None  # the +detail, if any; the folder is decided at delivery


class UnknownRecipient(Exception):
    pass


class UserDirectory:
    """The password file's user names, reread only when the file changes."""

    def __init__(self, config: Config):
        self.config = config
        self._stamp = None
        self._users: frozenset[str] = frozenset()

    def _refresh(self) -> None:
        from pillarbox.auth import passwd_file, passwd_path
        path = passwd_path(self.config)
        try:
            info = os.stat(path)
            stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp or stamp is None:
            self._users = frozenset(passwd_file(self.config).entries())
            self._stamp = stamp

    def exists(self, user: str) -> bool:
        self._refresh()
        return user in self._users


class RecipientResolver:
    def __init__(self, config: Config, users: UserDirectory | None = None):
        self.config = config
        self.users = users or UserDirectory(config)
        self.downcase = config.getbool("lmtp_downcase_rcpt")
        self.virtdomains = config.getstr("virtdomains") != "off"
        self.defaultdomain = (config.getstr("defaultdomain") or "").lower()

    def user_id(self, local: str, domain: str | None) -> str:
        if not self.virtdomains or domain is None:
            return local
        domain = domain.lower().rstrip(".")
        return local if domain == self.defaultdomain else f"{local}@{domain}"

    def resolve(self, address: Address) -> list[Target]:
        """Targets for one RCPT address (several only for the postmaster alias)."""
        local = address.local
        whole = local.lower() if self.downcase else local
        if "+" in local and self.users.exists(self.user_id(whole, address.domain)):
            return [Target(self.user_id(whole, address.domain))]
        user_part, plus, detail = local.partition("+")
        if self.downcase:
            user_part = user_part.lower()
        user = self.user_id(user_part, address.domain)
        if self.users.exists(user):
            return [Target(user, detail or None if plus else None)]
        if user_part.lower() == POSTMASTER and not detail:
            targets = self._postmaster(address.domain)
            if targets:
                return targets
        catchall = self.config.getstr("lmtp_catchall_mailbox")
        if catchall and self.users.exists(catchall):
            return [Target(catchall)]
        raise UnknownRecipient(str(address))

    def _postmaster(self, domain: str | None) -> list[Target]:
        for candidate in (self.user_id(POSTMASTER, domain), POSTMASTER, self.config.getstr("postmaster") or ""):
            if candidate and self.users.exists(candidate):
                return [Target(candidate)]
        seen, targets = set(), []
        for admin in self.config.getlist("admins"):
            if admin not in seen and self.users.exists(admin):
                seen.add(admin)
                targets.append(Target(admin))
        return targets
