"""Which mailbox a POP3 login reaches: INBOX, or a subfolder with popsubfolders.

With `popsubfolders: yes` a login name "user+folder" (with virtdomains,
"user+folder@domain") authenticates as "user" and serves the folder
"folder" of that user instead of INBOX, as in Cyrus. The folder is named
as an IMAP client names it below INBOX, with the hierarchy separator of
unixhierarchysep ("user+Lists/pillarbox", or "user+Lists.pillarbox" with
unixhierarchysep: no), in modified UTF-7 or UTF-8. "user+INBOX" and
"user+" are INBOX.

With popsubfolders off (the default) a "+" is an ordinary character of the
user name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pillarbox.mailboxname import INBOX, MailboxNameError, Namespace

if TYPE_CHECKING:
    from pillarbox.config import Config


class BadFolder(Exception):
    pass


def split_login(config: "Config", name: str) -> tuple[str, str | None]:
    """(user, folder as the client wrote it or None)."""
    if not config.getbool("popsubfolders"):
        return name, None
    plus = name.find("+")
    if plus < 0:
        return name, None
    end = len(name)
    if config.getstr("virtdomains") != "off":
        at = name.find("@", plus)
        end = at if at >= 0 else end
    folder = name[plus + 1:end]
    return name[:plus] + name[end:], (folder or None)


def mailbox_for(config: "Config", folder: str | None) -> str:
    """The internal mailbox name of the maildrop; BadFolder if `folder` is no valid name."""
    if folder is None or folder.upper() == INBOX:
        return INBOX
    namespace = Namespace.from_config(config)
    external = folder if namespace.altnamespace else f"{INBOX}{namespace.separator}{folder}"
    try:
        return namespace.to_internal(external, utf8=not folder.isascii())
    except MailboxNameError as exc:
        raise BadFolder(str(exc)) from None
