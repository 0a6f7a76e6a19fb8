"""Maildir files: names, flag letters, durable writes.

A message file is `<base>:2,<letters>` in cur/ (or `<base>` in new/). Our
base names follow Dovecot's: `<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<crlf size>`.
System flags are the Maildir letters; keywords are the lower-case letters a-z
mapped through the folder's `dovecot-keywords` file, as Dovecot keeps it.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"
SYSTEM_FLAGS = (SEEN, ANSWERED, FLAGGED, DELETED, DRAFT)
FORWARDED = "$Forwarded"

# Maildir letters (cr.yp.to/proto/maildir.html); P ("passed") is $Forwarded
LETTER_OF_FLAG = {DRAFT: "D", FLAGGED: "F", FORWARDED: "P", ANSWERED: "R", SEEN: "S", DELETED: "T"}
FLAG_OF_LETTER = {letter: flag for flag, letter in LETTER_OF_FLAG.items()}
INFO_SEPARATOR = ":2,"
KEYWORDS_FILE = "dovecot-keywords"
MAX_LETTER_KEYWORDS = 26
SUBDIRS = ("tmp", "new", "cur")

_hostname = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"
_sequence = 0


@dataclass(frozen=True)
class FileName:
    base: str           # unique part, stable across flag changes
    letters: str        # info letters after ":2," ("" if none)

    @classmethod
    def parse(cls, name: str) -> "FileName":
        base, separator, letters = name.partition(INFO_SEPARATOR)
        return cls(base, letters if separator else "")

    def render(self) -> str:
        return f"{self.base}{INFO_SEPARATOR}{''.join(sorted(set(self.letters)))}"

    def size_hints(self) -> tuple[int | None, int | None]:
        """(S=, W=) from the base name: physical and CRLF sizes, where given."""
        physical = virtual = None
        for field in self.base.split(",")[1:]:
            key, _, value = field.partition("=")
            if value.isdigit():
                if key == "S":
                    physical = int(value)
                elif key == "W":
                    virtual = int(value)
        return physical, virtual


def unique_base(size: int, crlf_size: int) -> str:
    global _sequence
    _sequence += 1
    now = time.time()
    seconds = int(now)
    micros = int((now - seconds) * 1_000_000)
    return f"{seconds}.M{micros}P{os.getpid()}Q{_sequence}.{_hostname},S={size},W={crlf_size}"


def crlf_size(data: bytes) -> int:
    """Size of data with every bare LF served as CRLF."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def has_bare_lf(data: bytes) -> bool:
    return data.count(b"\n") != data.count(b"\r\n")


def to_crlf(data: bytes) -> bytes:
    if not has_bare_lf(data):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class KeywordMap:
    """A folder's dovecot-keywords: "<index> <keyword>" lines, letter = 'a' + index."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, KEYWORDS_FILE)
        self.by_index: dict[int, str] = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    index, _, keyword = line.strip().partition(" ")
                    if index.isdigit() and keyword and int(index) < MAX_LETTER_KEYWORDS:
                        self.by_index[int(index)] = keyword
        except FileNotFoundError:
            pass

    def keyword(self, letter: str) -> str | None:
        return self.by_index.get(ord(letter) - ord("a"))

    def letter(self, keyword: str, *, assign: bool) -> str | None:
        for index, name in self.by_index.items():
            if name.lower() == keyword.lower():
                return chr(ord("a") + index)
        if not assign or len(self.by_index) >= MAX_LETTER_KEYWORDS:
            return None
        index = min(set(range(MAX_LETTER_KEYWORDS)) - set(self.by_index))
        self.by_index[index] = keyword
        self._save()
        return chr(ord("a") + index)

    def _save(self) -> None:
        text = "".join(f"{index} {name}\n" for index, name in sorted(self.by_index.items()))
        write_file_atomically(self.path, text.encode("utf-8"), sync=False)


def flags_from_letters(letters: str, keywords: KeywordMap) -> set[str]:
    flags = set()
    for letter in letters:
        if letter in FLAG_OF_LETTER:
            flags.add(FLAG_OF_LETTER[letter])
        elif "a" <= letter <= "z":
            keyword = keywords.keyword(letter)
            if keyword:
                flags.add(keyword)
    return flags


def letters_from_flags(flags: set[str], keywords: KeywordMap) -> str:
    letters = []
    for flag in flags:
        if flag in LETTER_OF_FLAG:
            letters.append(LETTER_OF_FLAG[flag])
        elif not flag.startswith("\\"):
            letter = keywords.letter(flag, assign=True)
            if letter:
                letters.append(letter)
    return "".join(sorted(letters))


# ---------------------------------------------------------------- durable file operations

def fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tmp(folder: str, base: str, data: bytes, mtime: float | None = None) -> str:
    """Write data to folder/tmp/base and fsync it; returns the path."""
    path = os.path.join(folder, "tmp", base)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    os.close(fd)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_file_atomically(path: str, data: bytes, *, sync: bool = True) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)


def make_folder(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    for sub in SUBDIRS:
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)


def is_folder(path: str) -> bool:
    return all(os.path.isdir(os.path.join(path, sub)) for sub in ("new", "cur"))


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def clean_tmp(folder: str, older_than: float = 36 * 3600) -> int:
    """Remove tmp/ files older than 36 hours, as the Maildir spec says."""
    tmp = os.path.join(folder, "tmp")
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(tmp))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    return removed


COURIER_KEYWORDS_DIR = "courierimapkeywords"


class CourierKeywords:
    """Keywords a Courier-IMAP Maildir keeps in courierimapkeywords/, read at first sight.

    `:list` holds the keyword names, a blank line, then `base:index index ...`
    lines; a file named `base` (or `.N.base`, the highest N winning) lists a
    message's keywords by name and overrides `:list`.
    """

    def __init__(self, folder: str):
        self.directory = os.path.join(folder, COURIER_KEYWORDS_DIR)
        self.by_base: dict[str, set[str]] = {}
        if os.path.isdir(self.directory):
            self._read_list()
            self._read_updates()

    def _read_list(self) -> None:
        try:
            with open(os.path.join(self.directory, ":list"), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().split("\n")
        except FileNotFoundError:
            return
        names: list[str] = []
        position = 0
        while position < len(lines) and lines[position]:
            names.append(lines[position])
            position += 1
        for line in lines[position + 1:]:
            base, _, indexes = line.rpartition(":")
            if base and indexes:
                self.by_base[base] = {names[int(i)] for i in indexes.split() if i.isdigit() and int(i) < len(names)}

    def _read_updates(self) -> None:
        newest: dict[str, tuple[int, str]] = {}
        for name in os.listdir(self.directory):
            if name == ":list":
                continue
            serial, base = -1, name
            if name.startswith("."):
                number, _, rest = name[1:].partition(".")
                if not number.isdigit() or not rest:
                    continue
                serial, base = int(number), rest
            if base not in newest or (newest[base][0] >= 0 and (serial < 0 or serial > newest[base][0])):
                newest[base] = (serial, name)
        for base, (_, name) in newest.items():
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8", errors="replace") as handle:
                    self.by_base[base] = {line.strip() for line in handle if line.strip()}
            except OSError:
                continue

    def keywords(self, base: str) -> set[str]:
        return self.by_base.get(base, set())
