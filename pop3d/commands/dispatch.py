"""Which command runs in which state, and where each one lives."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pop3d.errors import Err
from pop3d.protocol import AUTHORIZATION, TRANSACTION, printable

if TYPE_CHECKING:
    from pop3d.protocol import Command
    from pop3d.session import Pop3Server

IN_AUTHORIZATION = frozenset({AUTHORIZATION})
IN_TRANSACTION = frozenset({TRANSACTION})
ANY = IN_AUTHORIZATION | IN_TRANSACTION

# command -> (module in pop3d.commands, states)
COMMANDS = {
    "CAPA": ("capa", ANY), "QUIT": ("quit", ANY),
    "USER": ("user", IN_AUTHORIZATION), "PASS": ("password", IN_AUTHORIZATION),
    "APOP": ("apop", IN_AUTHORIZATION), "AUTH": ("auth", IN_AUTHORIZATION), "STLS": ("stls", IN_AUTHORIZATION),
    "STAT": ("stat", IN_TRANSACTION), "LIST": ("list", IN_TRANSACTION), "UIDL": ("uidl", IN_TRANSACTION),
    "TOP": ("top", IN_TRANSACTION), "RETR": ("retr", IN_TRANSACTION), "DELE": ("dele", IN_TRANSACTION),
    "RSET": ("rset", IN_TRANSACTION), "NOOP": ("noop", IN_TRANSACTION),
}


def known(name: str) -> bool:
    return name in COMMANDS


def run(server: "Pop3Server", command: "Command") -> bytes:
    entry = COMMANDS.get(command.name)
    if entry is None:
        if not command.name:
            raise Err("empty command line")
        raise Err(f"unknown command {printable(command.name, 20)}")
    module_name, states = entry
    if server.state not in states:
        when = "before logging in" if server.state == AUTHORIZATION else "after logging in"
        raise Err(f"{command.name} is not valid {when}")
    module = importlib.import_module(f"pop3d.commands.{module_name}")
    return module.handle(server, command)
