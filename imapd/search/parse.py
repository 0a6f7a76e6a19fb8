"""The SEARCH command's arguments: RETURN options, CHARSET and the search keys.

Grammar (RFC 3501 6.4.4 and 9, RFC 9051 6.4.4 and 9, with RFC 4466/4731 return
options, RFC 5182 "$", RFC 7162 MODSEQ, RFC 8474 EMAILID/THREADID, RFC 8514
SAVED*, RFC 5032 OLDER/YOUNGER):

    search         = "SEARCH" [SP "RETURN" SP "(" [opt *(SP opt)] ")"] SP search-program
    opt            = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
    search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)

The keys become a small tree: `And`, `Or`, `Not` and leaf `Key`s. Synonyms
are normalised while parsing so that evaluation has few cases:

    ANSWERED DELETED DRAFT FLAGGED SEEN  -> Key("FLAG", "\\Answered") ...
    UNANSWERED ... UNSEEN               -> Not(Key("FLAG", ...))
    UNKEYWORD k                          -> Not(Key("KEYWORD", k))
    NEW                                  -> And((Key("RECENT"), Not(Key("FLAG", "\\Seen"))))
    OLD                                  -> Not(Key("RECENT"))
    FROM TO CC BCC SUBJECT s             -> Key("HEADER", ("From", s)) ...
    a sequence set                       -> Key("SEQ", SequenceSet)     (imapd.protocol.sequence)
    UID set                              -> Key("UID", SequenceSet)
    BEFORE ON SINCE SENT* SAVED* date    -> Key(name, datetime.date)
    LARGER SMALLER OLDER YOUNGER n       -> Key(name, int)
    MODSEQ [entry type] n                -> Key("MODSEQ", (n, entry, type))  entry/type None when absent

Decisions (recorded here and in the report):

* NEW, OLD and RECENT are IMAP4rev1 keys; RFC 9051 removed \\Recent, so a
  session that enabled IMAP4rev2 gets BAD for them.
* CHARSET: "UTF-8" and "US-ASCII" (any case, atom or string) are accepted;
  anything else fails with NO [BADCHARSET (UTF-8 US-ASCII)]. Without CHARSET the
  charset is US-ASCII for IMAP4rev1 and UTF-8 for IMAP4rev2. Strings are always
  decoded as UTF-8 (US-ASCII is a subset, and being lenient with an 8-bit
  string under US-ASCII costs nothing); bytes that are not UTF-8 are BAD.
* RETURN () means RETURN (ALL) (RFC 4731). The program's return_options hold
  the result options the ESEARCH reply carries, in the fixed order MIN MAX
  COUNT ALL; SAVE is taken out into `save`. So RETURN (SAVE) alone gives
  return_options == () and save == True: no ESEARCH reply at all (RFC 5182 2,
  RFC 9051 6.4.4). Without RETURN, return_options is None (plain SEARCH reply)
  for IMAP4rev1 and ("ALL",) for IMAP4rev2, which always answers with ESEARCH.
* "$" (RFC 5182) is part of the SequenceSet: alone, or in a comma list ("1,$"
  is grammatical; SequenceSet also takes "$,1"). It means the saved UIDs that
  still exist.
* The MODSEQ entry name and type are checked and kept but not used: the store
  keeps one MODSEQ per message, which RFC 7162 3.1.5 allows to stand for all.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from imapd.errors import CommandFailed
from imapd.protocol.sequence import SequenceSet
from imapd.protocol.tokens import Atom, List, String, Token

MAX_DEPTH = 100                      # nesting of (), OR and NOT
CHARSETS = ("UTF-8", "US-ASCII")
BADCHARSET = "BADCHARSET (UTF-8 US-ASCII)"
RESULT_OPTIONS = ("MIN", "MAX", "COUNT", "ALL")     # the order of an ESEARCH reply's data
MAX_NUMBER64 = 2 ** 63 - 1
MAX_NUMBER32 = 2 ** 32 - 1


class SearchError(CommandFailed):
    """A SEARCH that cannot run: BAD (code None) for syntax, NO [BADCHARSET ...] for a charset.

    It is an imapd.errors.CommandFailed, so the dispatcher replies with
    `tag <status> [<code>] <text>` by itself. `code` is the whole response
    code ("BADCHARSET (UTF-8 US-ASCII)"); `str()` gives the reply text after
    the status, response code included.
    """

    def __init__(self, text: str, code: str | None = None, status: str | None = None):
        super().__init__(text, code)
        self.status = status or ("NO" if code else "BAD")

    def __str__(self) -> str:
        return f"[{self.code}] {self.text}" if self.code else self.text


@dataclass(frozen=True)
class Key:
    name: str
    arg: object = None


@dataclass(frozen=True)
class Not:
    key: object


@dataclass(frozen=True)
class Or:
    left: object
    right: object


@dataclass(frozen=True)
class And:
    keys: tuple


@dataclass(frozen=True)
class SearchProgram:
    key: object                                 # And | Or | Not | Key
    charset: str                                # "UTF-8" or "US-ASCII"
    return_options: tuple[str, ...] | None      # None: plain SEARCH reply; else the ESEARCH result options
    save: bool                                  # RETURN (SAVE): keep the result for "$"
    uses_modseq: bool                           # a MODSEQ key: reply carries MODSEQ (RFC 7162 3.1.5)
    uses_saved: bool = False                    # refers to "$"


# ------------------------------------------------------------------ keys

_FLAG_KEYS = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft", "FLAGGED": "\\Flagged",
              "SEEN": "\\Seen"}
_HEADER_KEYS = {"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc", "SUBJECT": "Subject"}
_DATE_KEYS = {"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"}
_REV1_ONLY = {"NEW", "OLD", "RECENT"}
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"), 1)}
_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})\Z")
_DIGITS = re.compile(r"\d+\Z")
_OBJECTID = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")
_ATOM_SPECIALS = set('(){ %*"\\]')
_ENTRY_TYPES = ("PRIV", "SHARED", "ALL")


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."


class _Parser:
    def __init__(self, imap4rev2: bool):
        self.imap4rev2 = imap4rev2
        self.uses_modseq = False
        self.uses_saved = False

    # -------------------------------------------------------- key lists

    def key_list(self, tokens, depth: int):
        """Every key of a token sequence, ANDed (one key stands for itself)."""
        keys = []
        position = 0
        while position < len(tokens):
            key, position = self.key(tokens, position, depth)
            keys.append(key)
        return keys[0] if len(keys) == 1 else And(tuple(keys))

    def key(self, tokens, position: int, depth: int):
        if depth > MAX_DEPTH:
            raise SearchError(f"search criteria nested more than {MAX_DEPTH} deep")
        token = tokens[position]
        position += 1
        if isinstance(token, List):
            if not token.items:
                raise SearchError("empty parenthesised search key list")
            return self.key_list(token.items, depth + 1), position
        if not isinstance(token, Atom):
            raise SearchError("expected a search key, got a string")
        text = token.text
        if text[:1].isdigit() or text[:1] in ("*", "$"):
            return Key("SEQ", self.sequence_set(text)), position
        name = text.upper()
        if name in _REV1_ONLY and self.imap4rev2:
            raise SearchError(f"{name} is not an IMAP4rev2 search key (RFC 9051 removed \\Recent)")

        if name == "ALL":
            return Key("ALL"), position
        if name in _FLAG_KEYS:
            return Key("FLAG", _FLAG_KEYS[name]), position
        if name.startswith("UN") and name[2:] in _FLAG_KEYS:
            return Not(Key("FLAG", _FLAG_KEYS[name[2:]])), position
        if name == "RECENT":
            return Key("RECENT"), position
        if name == "NEW":
            return And((Key("RECENT"), Not(Key("FLAG", "\\Seen")))), position
        if name == "OLD":
            return Not(Key("RECENT")), position
        if name == "SAVEDATESUPPORTED":
            return Key("SAVEDATESUPPORTED"), position
        if name in ("KEYWORD", "UNKEYWORD"):
            keyword = self.keyword(self.argument(tokens, position, name, "a keyword"), name)
            key = Key("KEYWORD", keyword)
            return (key if name == "KEYWORD" else Not(key)), position + 1
        if name in _HEADER_KEYS:
            value = self.astring(self.argument(tokens, position, name, "a string"), name)
            return Key("HEADER", (_HEADER_KEYS[name], value)), position + 1
        if name in ("BODY", "TEXT"):
            return Key(name, self.astring(self.argument(tokens, position, name, "a string"), name)), position + 1
        if name == "HEADER":
            field = self.astring(self.argument(tokens, position, name, "a field name and a string"), name)
            if not field or any(not 33 <= ord(c) <= 126 or c == ":" for c in field):
                raise SearchError(f"HEADER needs a header field name, not {_short(field)!r}")
            value = self.astring(self.argument(tokens, position + 1, name, "a field name and a string"), name)
            return Key("HEADER", (field, value)), position + 2
        if name in _DATE_KEYS:
            return Key(name, self.date(self.argument(tokens, position, name, "a date"), name)), position + 1
        if name in ("LARGER", "SMALLER"):
            token = self.argument(tokens, position, name, "a number")
            return Key(name, self.number(token, name, 0, MAX_NUMBER64)), position + 1
        if name in ("OLDER", "YOUNGER"):
            token = self.argument(tokens, position, name, "an interval in seconds")
            return Key(name, self.number(token, name, 1, MAX_NUMBER32)), position + 1
        if name == "UID":
            token = self.argument(tokens, position, name, "a UID set")
            if not isinstance(token, Atom):
                raise SearchError("UID needs a UID set")
            return Key("UID", self.sequence_set(token.text)), position + 1
        if name == "NOT":
            self.argument(tokens, position, name, "a search key")
            key, position = self.key(tokens, position, depth + 1)
            return Not(key), position
        if name == "OR":
            self.argument(tokens, position, name, "two search keys")
            left, position = self.key(tokens, position, depth + 1)
            self.argument(tokens, position, name, "two search keys")
            right, position = self.key(tokens, position, depth + 1)
            return Or(left, right), position
        if name == "MODSEQ":
            return self.modseq(tokens, position)
        if name in ("EMAILID", "THREADID"):
            value = self.astring(self.argument(tokens, position, name, "an object id"), name)
            if not _OBJECTID.match(value):
                raise SearchError(f"{name} needs an object id (RFC 8474), not {_short(value)!r}")
            return Key(name, value), position + 1
        raise SearchError(f"unknown search key {_short(text)}")

    # -------------------------------------------------------- arguments

    @staticmethod
    def argument(tokens, position: int, name: str, what: str) -> Token:
        if position >= len(tokens):
            raise SearchError(f"{name} needs {what}")
        return tokens[position]

    @staticmethod
    def astring(token: Token, name: str) -> str:
        if isinstance(token, String):
            try:
                return token.data.decode("utf-8")
            except UnicodeDecodeError:
                raise SearchError(f"{name}: the search string is not valid UTF-8") from None
        if isinstance(token, Atom):
            try:
                token.text.encode("utf-8")
            except UnicodeEncodeError:
                raise SearchError(f"{name}: the search string is not valid UTF-8") from None
            return token.text
        raise SearchError(f"{name} needs a string, not a parenthesised list")

    def keyword(self, token: Token, name: str) -> str:
        keyword = self.astring(token, name)
        if not keyword or any(c in _ATOM_SPECIALS or not 33 <= ord(c) <= 126 for c in keyword):
            raise SearchError(f"{name} needs a keyword (an atom), not {_short(keyword)!r}")
        return keyword

    @staticmethod
    def date(token: Token, name: str) -> datetime.date:
        text = token.text if isinstance(token, Atom) else token.text() if isinstance(token, String) else ""
        match = _DATE.match(text)
        month = _MONTHS.get(match.group(2).upper()) if match else None
        if month is not None:
            try:
                return datetime.date(int(match.group(3)), month, int(match.group(1)))
            except ValueError:
                pass
        raise SearchError(f"{name} needs a date like 1-Feb-1994, not {_short(text)!r}")

    @staticmethod
    def number(token: Token, name: str, lowest: int, highest: int) -> int:
        text = token.text if isinstance(token, Atom) else ""
        if _DIGITS.match(text) and lowest <= int(text) <= highest:
            return int(text)
        shown = _short(text) if text else "a string or list"
        raise SearchError(f"{name} needs a number from {lowest} to {highest}, not {shown}")

    def sequence_set(self, text: str) -> SequenceSet:
        try:
            parsed = SequenceSet.parse(text)
        except ValueError:
            raise SearchError(f"invalid sequence set {_short(text)}") from None
        self.uses_saved |= parsed.uses_saved
        return parsed

    def modseq(self, tokens, position: int):
        self.uses_modseq = True
        entry = entry_type = None
        token = self.argument(tokens, position, "MODSEQ", "a mod-sequence value")
        if isinstance(token, String) or (isinstance(token, Atom) and token.text.startswith("/")):
            entry = token.text() if isinstance(token, String) else token.text
            if not entry.lower().startswith("/flags/") or len(entry) == len("/flags/"):
                raise SearchError(f'MODSEQ entry name must be "/flags/<flag>", not {_short(entry)!r}')
            kind = self.argument(tokens, position + 1, "MODSEQ", "an entry type (priv, shared or all)")
            if not isinstance(kind, Atom) or kind.text.upper() not in _ENTRY_TYPES:
                raise SearchError("MODSEQ entry type must be priv, shared or all")
            entry_type = kind.text.lower()
            position += 2
        token = self.argument(tokens, position, "MODSEQ", "a mod-sequence value")
        value = self.number(token, "MODSEQ", 0, MAX_NUMBER64)
        return Key("MODSEQ", (value, entry, entry_type)), position + 1


def _return_options(token: Token) -> tuple[tuple[str, ...], bool]:
    if not isinstance(token, List):
        raise SearchError("RETURN needs a parenthesised list of result options")
    wanted = set()
    save = False
    for item in token.items:
        option = item.text.upper() if isinstance(item, Atom) else None
        if option == "SAVE":
            save = True
        elif option in RESULT_OPTIONS:
            wanted.add(option)
        else:
            shown = _short(item.text) if isinstance(item, Atom) else "a string or list"
            raise SearchError(f"unknown RETURN option {shown} (supported: MIN MAX COUNT ALL SAVE)")
    if not wanted and not save:
        wanted.add("ALL")                                   # RFC 4731: RETURN () is RETURN (ALL)
    return tuple(o for o in RESULT_OPTIONS if o in wanted), save


def _is_atom(token: Token, word: str) -> bool:
    return isinstance(token, Atom) and token.text.upper() == word


def parse_search(tokens: list[Token], *, esearch_allowed: bool, imap4rev2: bool) -> SearchProgram:
    """The SEARCH / UID SEARCH arguments (everything after the command name)."""
    tokens = list(tokens)
    position = 0
    return_options: tuple[str, ...] | None = ("ALL",) if imap4rev2 else None
    save = False
    if tokens and _is_atom(tokens[0], "RETURN"):
        if not (esearch_allowed or imap4rev2):
            raise SearchError("SEARCH RETURN needs the ESEARCH extension")
        if len(tokens) < 2:
            raise SearchError("RETURN needs a parenthesised list of result options")
        return_options, save = _return_options(tokens[1])
        position = 2

    charset = "UTF-8" if imap4rev2 else "US-ASCII"
    if position < len(tokens) and _is_atom(tokens[position], "CHARSET"):
        if position + 1 >= len(tokens) or isinstance(tokens[position + 1], List):
            raise SearchError("CHARSET needs a charset name")
        name_token = tokens[position + 1]
        name = name_token.text if isinstance(name_token, Atom) else name_token.text()
        if name.upper() not in CHARSETS:
            raise SearchError(f"charset {_short(name)} is not supported", BADCHARSET, "NO")
        charset = name.upper()
        position += 2

    if position >= len(tokens):
        raise SearchError("SEARCH needs at least one search key")
    parser = _Parser(imap4rev2)
    key = parser.key_list(tokens[position:], 0)
    return SearchProgram(key=key, charset=charset, return_options=return_options, save=save,
                         uses_modseq=parser.uses_modseq, uses_saved=parser.uses_saved)
