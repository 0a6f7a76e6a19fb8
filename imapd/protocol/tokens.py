"""The values a command's arguments are made of.

An IMAP command line tokenizes into Atom, String and List values:

* Atom: any atom, including numbers ("42"), NIL, flags ("\\Seen"), sequence
  sets ("1:3,5:*", "$") and fetch attributes with their section and partial
  kept whole ("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>").
* String: a quoted string or a literal, as bytes. `literal` tells which;
  `binary` marks a literal8 (~{n}).
* List: a parenthesised list of values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Atom:
    text: str

    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class String:
    data: bytes
    literal: bool = False
    binary: bool = False

    def text(self) -> str:
        """UTF-8 decoded (surrogateescape keeps any byte)."""
        return self.data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class List:
    items: tuple = field(default_factory=tuple)


Token = Atom | String | List


def astring(token: Token) -> str | None:
    """The text of an atom or string (IMAP astring), None for a list."""
    if isinstance(token, Atom):
        return token.text
    if isinstance(token, String):
        return token.text()
    return None
