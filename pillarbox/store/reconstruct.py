"""`pillarbox reconstruct`: rebuild a user's index from the Maildir alone.

Every folder is rescanned regardless of recorded mtimes: files without a row
get new UIDs, rows without a file become expunged, renamed files give their
flags back, counters are recomputed and text not yet indexed is indexed. UIDs
the index still knows are kept. An index SQLite cannot open is moved aside
(`pillarbox.index.db.corrupt-<time>`) and rebuilt from scratch, with new
UIDVALIDITYs, as IMAP requires when UIDs are lost.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass

from pillarbox.config import Config
from pillarbox.store import maildir
from pillarbox.store.index import INDEX_FILE
from pillarbox.store.layout import user_root
from pillarbox.store.userstore import UserStore


@dataclass
class FolderReport:
    name: str
    messages_before: int
    messages_after: int
    uidvalidity: int


def _open_or_replace(config: Config, user: str) -> tuple[UserStore, str | None]:
    try:
        store = UserStore.open(config, user, create=False)
        problems = [row[0] for row in store.db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            store.close()
            raise sqlite3.DatabaseError("; ".join(problems[:3]))
        return store, None
    except sqlite3.DatabaseError as exc:
        root = user_root(config, user)
        moved = os.path.join(root, f"{INDEX_FILE}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(os.path.join(root, INDEX_FILE + suffix)):
                os.rename(os.path.join(root, INDEX_FILE + suffix), moved + suffix)
        return UserStore.open(config, user, create=False), f"index unreadable ({exc}); moved to {moved}"


def reconstruct(config: Config, user: str, mailbox: str | None = None) -> tuple[list[FolderReport], list[str]]:
    store, note = _open_or_replace(config, user)
    notes = [note] if note else []
    with store:
        store.sync_folders()
        names = [mailbox] if mailbox else [info.name for info in store.list_mailboxes()]
        reports = [_rebuild_folder(store, name) for name in names]
    return reports, notes


def _rebuild_folder(store: UserStore, name: str) -> FolderReport:
    row = store._row(name)
    before = row["messages"]
    folder = store.folder_path(row["dirname"])
    maildir.clean_tmp(folder)
    with store.index.write():
        store.db.execute("UPDATE mailboxes SET new_mtime = 0, cur_mtime = 0 WHERE id = ?", (row["id"],))
        store._reconcile(store._fresh(row["id"]), folder)
        store._recount(row["id"])
    store.search_text(name, "\x00")          # indexes any text not indexed yet
    info = store.info(name)
    return FolderReport(name, before, info.messages, info.uidvalidity)
