"""Which command runs in which state, and where each one lives."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from imapd.errors import Bad

if TYPE_CHECKING:
    from imapd.protocol.parser import ParsedCommand
    from imapd.server import ImapServer

ANY = {"not authenticated", "authenticated", "selected"}
NOT_AUTH = {"not authenticated"}
AUTH = {"authenticated", "selected"}
SELECTED = {"selected"}

# command -> (module in imapd.commands, states)
COMMANDS = {
    "CAPABILITY": ("capability", ANY), "NOOP": ("noop", ANY), "LOGOUT": ("logout", ANY), "ID": ("id", ANY),
    "STARTTLS": ("starttls", NOT_AUTH), "LOGIN": ("login", NOT_AUTH), "AUTHENTICATE": ("authenticate", NOT_AUTH),
    "ENABLE": ("enable", {"authenticated"}), "SELECT": ("select", AUTH), "EXAMINE": ("select", AUTH),
    "CREATE": ("create", AUTH), "DELETE": ("delete", AUTH), "RENAME": ("rename", AUTH),
    "SUBSCRIBE": ("subscribe", AUTH), "UNSUBSCRIBE": ("subscribe", AUTH), "LIST": ("list", AUTH),
    "LSUB": ("list", AUTH), "NAMESPACE": ("namespace", AUTH), "STATUS": ("status", AUTH),
    "APPEND": ("append", AUTH), "IDLE": ("idle", AUTH), "CHECK": ("noop", SELECTED),
    "CLOSE": ("close", SELECTED), "UNSELECT": ("close", SELECTED), "EXPUNGE": ("expunge", SELECTED),
    "SEARCH": ("search", SELECTED), "FETCH": ("fetch", SELECTED), "STORE": ("store", SELECTED),
    "COPY": ("copy", SELECTED), "MOVE": ("copy", SELECTED), "UID": ("uid", SELECTED),
}


class NoReply(str):
    """A handler that already sent its tagged reply (STARTTLS) returns this."""


NO_REPLY = NoReply("")


def run(server: "ImapServer", command: "ParsedCommand"):
    entry = COMMANDS.get(command.name)
    if entry is None:
        raise Bad(f"unknown command {command.name[:30]}")
    module_name, states = entry
    if server.state not in states:
        raise Bad(_wrong_state(command.name, server.state))
    module = importlib.import_module(f"imapd.commands.{module_name}")
    return module.handle(server, command)


def _wrong_state(name: str, state: str) -> str:
    if state == "not authenticated":
        return f"{name} is not valid before logging in"
    if state == "authenticated" and name in ("CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE",
                                             "COPY", "MOVE", "UID"):
        return f"{name} needs a selected mailbox"
    return f"{name} is not valid in the {state} state"
