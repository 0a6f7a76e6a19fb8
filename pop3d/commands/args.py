"""Argument checks shared by the commands: every mistake is an -ERR that says what was wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pop3d.errors import Err
from pop3d.protocol import parse_number, printable

if TYPE_CHECKING:
    from pop3d.maildrop import Message
    from pop3d.protocol import Command
    from pop3d.session import Pop3Server


def count(command: "Command", low: int, high: int, usage: str) -> None:
    if not low <= len(command.args) <= high:
        if len(command.args) < low:
            raise Err(f"missing argument: {usage}")
        raise Err(f"too many arguments: {usage}")


def number(text: str, what: str = "message number") -> int:
    value = parse_number(text)
    if value is None:
        raise Err(f"invalid {what}: {printable(text, 20)}")
    return value


def message(server: "Pop3Server", text: str) -> "Message":
    return server.maildrop.message(number(text))
