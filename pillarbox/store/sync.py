"""Reconciling the index with what is on disk (changes made behind our back).

The file system is the truth for which messages exist and their Maildir
flags; the index is the truth for UIDs and MODSEQs. A folder is rescanned
only when the mtime of its new/ or cur/ differs from the one recorded at the
last scan, so an unchanged mailbox costs two stat() calls. A scan whose
directory changed within the last timestamp tick is recorded as dirty, so a
change landing in the same tick is found by the next scan.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from pillarbox.store import maildir
from pillarbox.store.maildir import FileName, KeywordMap

DIRTY_WINDOW_NS = 50_000_000          # 50 ms: coarser than any file system's mtime tick


@dataclass
class FolderState:
    new_mtime: int
    cur_mtime: int

    @classmethod
    def read(cls, folder: str) -> "FolderState":
        return cls(_mtime(os.path.join(folder, "new")), _mtime(os.path.join(folder, "cur")))

    def recordable(self) -> "FolderState":
        """What to store after a scan: 0 for a directory changed too recently to trust."""
        now = time.time_ns()
        return FolderState(*(m if now - m > DIRTY_WINDOW_NS else 0 for m in (self.new_mtime, self.cur_mtime)))

    def matches(self, row) -> bool:
        return bool(row["new_mtime"] and row["cur_mtime"]) and \
            (self.new_mtime, self.cur_mtime) == (row["new_mtime"], row["cur_mtime"])


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class DiskEntry:
    base: str
    filename: str          # "cur/<name>" or "new/<name>"
    letters: str
    mtime: float
    size: int


def scan_folder(folder: str) -> dict[str, DiskEntry]:
    """Every message file in new/ and cur/, by base name (cur/ wins a duplicate)."""
    found: dict[str, DiskEntry] = {}
    for sub in ("new", "cur"):
        try:
            entries = os.scandir(os.path.join(folder, sub))
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                name = FileName.parse(entry.name)
                letters = name.letters if sub == "cur" else ""
                found[name.base] = DiskEntry(name.base, f"{sub}/{entry.name}", letters, info.st_mtime, info.st_size)
    return found


def disk_flags(entry: DiskEntry, keywords: KeywordMap, known_keywords: set[str]) -> set[str]:
    """Flags a file name carries, plus index-only keywords (those without a letter)."""
    flags = maildir.flags_from_letters(entry.letters, keywords)
    unlettered = {k for k in known_keywords if not k.startswith("\\") and keywords.letter(k, assign=False) is None}
    return flags | unlettered


def move_new_to_cur(folder: str, entry: DiskEntry) -> DiskEntry:
    """Adopt a message delivered into new/ by another program: move it to cur/."""
    if not entry.filename.startswith("new/"):
        return entry
    target = f"cur/{entry.base}{maildir.INFO_SEPARATOR}"
    try:
        os.rename(os.path.join(folder, entry.filename), os.path.join(folder, target))
    except FileNotFoundError:
        return entry
    return DiskEntry(entry.base, target, "", entry.mtime, entry.size)
