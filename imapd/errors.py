"""How a command fails: NO and BAD with an optional response code, or BYE."""

from __future__ import annotations


class CommandFailed(Exception):
    status = "NO"

    def __init__(self, text: str, code: str | None = None):
        super().__init__(text)
        self.text = text
        self.code = code


class No(CommandFailed):
    status = "NO"


class Bad(CommandFailed):
    status = "BAD"


class Bye(Exception):
    """End the connection after sending `* BYE text`."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text
