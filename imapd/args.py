"""Reading command arguments: counts, mailbox names, flags, dates."""

from __future__ import annotations

import calendar
import re
from typing import TYPE_CHECKING

from imapd.errors import Bad, No
from imapd.protocol.tokens import Atom, List, Token, astring
from pillarbox.mailboxname import MailboxNameError

if TYPE_CHECKING:
    from imapd.server import ImapServer

MONTHS = {name: number for number, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
_DATETIME = re.compile(r"^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")


def count(args: tuple, low: int, high: int | None = None, usage: str = "") -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise Bad(f"wrong number of arguments{': ' + usage if usage else ''}")


def text(token: Token, what: str = "argument") -> str:
    value = astring(token)
    if value is None:
        raise Bad(f"{what} must be a string, not a list")
    return value


def atom(token: Token, what: str = "argument") -> str:
    if not isinstance(token, Atom):
        raise Bad(f"{what} must be an atom")
    return token.text


def parenthesised(token: Token, what: str = "argument") -> tuple:
    if not isinstance(token, List):
        raise Bad(f"{what} must be a parenthesised list")
    return token.items


def mailbox(server: "ImapServer", token: Token) -> str:
    """The store's name for a mailbox argument (modified UTF-7, or UTF-8 under UTF8=ACCEPT)."""
    external = text(token, "mailbox name")
    try:
        return server.namespace.to_internal(external, utf8=server.utf8)
    except MailboxNameError as error:
        raise No(str(error), getattr(error, "code", None) or "CANNOT") from None


def external_name(server: "ImapServer", internal: str) -> str:
    return server.namespace.to_external(internal, utf8=server.utf8)


def flag_list(token: Token) -> list[str]:
    items = token.items if isinstance(token, List) else (token,)
    flags = []
    for item in items:
        if not isinstance(item, Atom):
            raise Bad("flags are atoms like \\Seen or $Label")
        flags.append(item.text)
    return flags


def date_time(token: Token) -> int:
    """RFC 3501 date-time ("21-Nov-2026 07:00:00 +0000") as unix seconds."""
    value = text(token, "date-time")
    match = _DATETIME.match(value)
    if not match or match.group(2).capitalize() not in MONTHS:
        raise Bad(f"invalid date-time {value!r}: expected \"dd-Mon-yyyy hh:mm:ss +zzzz\"")
    day, month, year, hour, minute, second, sign, zh, zm = match.groups()
    seconds = calendar.timegm((int(year), MONTHS[month.capitalize()], int(day), int(hour), int(minute),
                               int(second), 0, 0, 0))
    offset = (int(zh) * 60 + int(zm)) * 60
    return seconds - offset if sign == "+" else seconds + offset

