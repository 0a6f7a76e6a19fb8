"""Where a user's Maildir++ lives: partitions and virtual domains."""

from __future__ import annotations

import os

from pillarbox.auth.passwd import PasswdError, validate_username
from pillarbox.config import Config
from pillarbox.store.errors import StoreError


def split_user(config: Config, user: str) -> tuple[str, str | None]:
    """(local part, domain or None) as virtdomains says; the default domain is no domain."""
    if config.getstr("virtdomains") == "off" or "@" not in user:
        return user, None
    local, _, domain = user.rpartition("@")
    domain = domain.lower()
    if domain == (config.getstr("defaultdomain") or "").lower():
        return local, None
    return local, domain


def partition_path(config: Config) -> str:
    partitions = config.partitions()
    name = config.getstr("defaultpartition") or "default"
    if name not in partitions:
        raise StoreError(f"imapd.conf has no partition-{name}: there is nowhere to store mail")
    return partitions[name]


def user_root(config: Config, user: str) -> str:
    """{partition}/user/<name> or {partition}/domain/<domain>/user/<local>."""
    try:
        validate_username(user)
    except PasswdError as exc:
        raise StoreError(str(exc)) from None
    local, domain = split_user(config, user)
    base = partition_path(config)
    if domain is None:
        return os.path.join(base, "user", local)
    if "/" in domain or domain.startswith("."):
        raise StoreError(f"invalid domain {domain!r}")
    return os.path.join(base, "domain", domain, "user", local)
