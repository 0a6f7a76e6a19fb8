"""Plus addressing: which folder ``user+detail`` delivers into.

The detail is a folder name relative to the user's personal namespace,
written with the configured hierarchy separator ("/" under
``unixhierarchysep: yes``, else "."); modified UTF-7 is understood as in
IMAP. Mail goes into that folder when

* it exists (with ``lmtp_fuzzy_mailbox_match``, Cyrus's fuzzy rules: a
  folder whose name matches ignoring case, then ignoring case and
  whitespace, then the same for each parent in turn);
* it is not a special-use folder (\\Sent, \\Drafts, \\Trash, \\Junk, ...:
  nobody outside should be able to drop mail there);
* the user allows plus delivery into it: the per-user setting kept in the
  store (``lmtp.plus_folders``: absent or "*" = any folder, "" = none, else
  a list of folder names; see ``python -m lmtpd.plus``).

Anything else delivers into INBOX, as Cyrus does.
"""

from __future__ import annotations

import re

from pillarbox import mailboxname
from pillarbox.config import Config

INBOX = mailboxname.INBOX
PLUS_META = "lmtp.plus_folders"
ALL = "*"
_WHITESPACE = re.compile(r"\s+")


def detail_to_name(config: Config, detail: str) -> str | None:
    """The internal folder name a +detail spells, or None if it spells none."""
    separator = "/" if config.getbool("unixhierarchysep") else "."
    namespace = mailboxname.Namespace(separator=separator, altnamespace=True)
    for utf8 in (False, True):
        try:
            return namespace.to_internal(detail, utf8=utf8)
        except mailboxname.MailboxNameError:
            continue
    return None


def allowed_folders(store) -> set[str] | None:
    """The user's plus-delivery setting: None means every folder."""
    value = store.index.meta(PLUS_META)
    if value is None or value.strip() == ALL:
        return None
    return {line for line in value.split("\n") if line}


def set_allowed_folders(store, folders: set[str] | None) -> None:
    with store.index.write():
        store.index.set_meta(PLUS_META, ALL if folders is None else "\n".join(sorted(folders)))


def choose_folder(config: Config, store, detail: str | None) -> str:
    """INBOX, or the folder the detail names when plus delivery into it is allowed."""
    if not detail:
        return INBOX
    wanted = detail_to_name(config, detail)
    if wanted is None or wanted == INBOX:
        return INBOX
    mailboxes = {info.name: info for info in store.list_mailboxes()}
    name = _match(wanted, mailboxes, fuzzy=config.getbool("lmtp_fuzzy_mailbox_match"))
    if name is None or name == INBOX or mailboxes[name].special_use:
        return INBOX
    allowed = allowed_folders(store)
    if allowed is not None and name not in allowed:
        return INBOX
    return name


def _match(wanted: str, mailboxes, *, fuzzy: bool) -> str | None:
    if wanted in mailboxes:
        return wanted
    if not fuzzy:
        return None
    candidate: str | None = wanted
    while candidate:
        for fold in (str.casefold, lambda text: _WHITESPACE.sub("", text).casefold()):
            matches = sorted(name for name in mailboxes if fold(name) == fold(candidate))
            if matches:
                return matches[0]
        candidate = mailboxname.parent(candidate)
    return None
