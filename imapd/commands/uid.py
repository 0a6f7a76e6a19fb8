"""UID FETCH|STORE|SEARCH|COPY|MOVE|EXPUNGE: the same commands, addressed by UID."""

import importlib

from imapd import args
from imapd.errors import Bad

SUBCOMMANDS = {"FETCH": "fetch", "STORE": "store", "SEARCH": "search", "COPY": "copy", "MOVE": "copy",
               "EXPUNGE": "expunge"}


def handle(server, command):
    if not command.args:
        raise Bad("UID needs a command")
    name = args.atom(command.args[0], "UID command").upper()
    if name not in SUBCOMMANDS:
        raise Bad(f"UID {name[:20]} is not a command")
    inner = type(command)(tag=command.tag, name=name, args=tuple(command.args[1:]))
    module = importlib.import_module(f"imapd.commands.{SUBCOMMANDS[name]}")
    return module.handle(server, inner, uid=True)
