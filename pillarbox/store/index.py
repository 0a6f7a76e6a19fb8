"""The per-user SQLite index: the truth for UIDs and MODSEQs.

WAL mode lets any number of sessions read while one writes; every change
runs in `BEGIN IMMEDIATE`, so writers queue on SQLite's lock (with a long
busy timeout) instead of failing. synchronous=FULL makes a COMMIT durable
(the WAL is fsync'd) before anything is acknowledged.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time

INDEX_FILE = "pillarbox.index.db"
UIDVALIDITY_FILE = "pillarbox-uidvalidity"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 120.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailboxes (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    dirname       TEXT NOT NULL UNIQUE,
    mailboxid     TEXT NOT NULL,
    uidvalidity   INTEGER NOT NULL,
    uidnext       INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    recent_uid    INTEGER NOT NULL DEFAULT 0,
    special_use   TEXT,
    messages      INTEGER NOT NULL DEFAULT 0,
    unseen        INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0,
    new_mtime     INTEGER NOT NULL DEFAULT 0,
    cur_mtime     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    id           INTEGER PRIMARY KEY,
    mailbox      INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    base         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    flags        TEXT NOT NULL DEFAULT '',
    seen         INTEGER NOT NULL DEFAULT 0,
    deleted      INTEGER NOT NULL DEFAULT 0,
    modseq       INTEGER NOT NULL,
    internaldate INTEGER NOT NULL,
    savedate     INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    raw_size     INTEGER NOT NULL,
    crlf         INTEGER NOT NULL,
    emailid      TEXT,
    threadid     TEXT,
    envelope     TEXT,
    body         TEXT,
    indexed      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (mailbox, uid),
    UNIQUE (mailbox, base)
);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox, modseq);
-- covers UserStore.messages (SELECT): a scan that never reads the cached envelope and body
-- structure in the rows, which make a 100k-message table several times larger
CREATE INDEX IF NOT EXISTS messages_view
    ON messages (mailbox, uid, flags, modseq, internaldate, savedate, size, emailid, threadid);
CREATE TABLE IF NOT EXISTS expunged (
    mailbox INTEGER NOT NULL,
    uid     INTEGER NOT NULL,
    modseq  INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged (mailbox, modseq);
CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota (resource TEXT PRIMARY KEY, limit_value INTEGER NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(header, body, tokenize='trigram');
"""


class Index:
    def __init__(self, path: str):
        self.path = path
        if not os.path.exists(path):
            # SQLite gives its -wal and -shm files the database file's mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self._depth = 0
        self._configure()

    def _configure(self) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.execute("PRAGMA temp_store=MEMORY")
        with self.write():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            if self.meta("schema") is None:
                self.set_meta("schema", str(SCHEMA_VERSION))

    @property
    def wal_path(self) -> str:
        return self.path + "-wal"

    @contextlib.contextmanager
    def write(self):
        """A write transaction; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        self._begin("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def read(self):
        """A consistent snapshot for several queries."""
        if self._depth:
            yield self.db
            return
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    def _begin(self, statement: str) -> None:
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self.db.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                # the busy handler already waited; a WAL recovery race can still say "locked"
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def next_uidvalidity(self) -> int:
        """Strictly increasing per user, near the current time as is customary.

        The last value is also kept in a file beside the index, so an index
        rebuilt after loss never reissues a UIDVALIDITY a client has seen."""
        last = max(int(self.meta("last_uidvalidity") or 0), self._uidvalidity_on_disk())
        value = max(int(time.time()), last + 1)
        self.set_meta("last_uidvalidity", str(value))
        from pillarbox.store.maildir import write_file_atomically
        write_file_atomically(self._uidvalidity_path, f"{value}\n".encode())
        return value

    @property
    def _uidvalidity_path(self) -> str:
        return os.path.join(os.path.dirname(self.path), UIDVALIDITY_FILE)

    def _uidvalidity_on_disk(self) -> int:
        try:
            with open(self._uidvalidity_path) as handle:
                return int(handle.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def close(self) -> None:
        self.db.close()


def open_index(root: str) -> Index:
    return Index(os.path.join(root, INDEX_FILE))
