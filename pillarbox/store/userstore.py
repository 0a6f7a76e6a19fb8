"""One user's mail: Maildir++ folders on disk plus the SQLite index.

Every operation that changes anything runs inside one index write
transaction, and does its file-system step (link, rename, unlink) inside it
too, so pillarbox processes never interleave. The order of steps is chosen
so a crash at any instant leaves a state that the next sync repairs:

* append: file written to tmp/ and fsync'd; renamed into cur/ and the
  directory fsync'd; row inserted; COMMIT. A crash before the commit leaves
  a complete file that the next sync adopts (never a half file, never a row
  without a file). Only after COMMIT is the append acknowledged.
* flag change: rename the file to its new letters, update the row, COMMIT.
* expunge: unlink the file, delete the row, record the UID as expunged, COMMIT.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Iterable

from pillarbox import mailboxname
from pillarbox.config import Config
from pillarbox.store import maildir
from pillarbox.store.errors import (InvalidMailboxName, MailboxExists, MailboxNotEmptyOrSpecial,
                                    MailboxNotFound, MessageNotFound, QuotaExceeded, StoreError, UserNotFound)
from pillarbox.store.index import Index, open_index
from pillarbox.store.layout import user_root
from pillarbox.store.maildir import DELETED, SEEN, SYSTEM_FLAGS, FileName, KeywordMap
from pillarbox.store.records import AppendResult, Changes, MailboxInfo, MessageRecord
from pillarbox.store.sync import DiskEntry, FolderState, disk_flags, move_new_to_cur, scan_folder

INBOX = mailboxname.INBOX
TRASH_PREFIX = "pillarbox-deleted-"
MESSAGE_COLUMNS = "uid, flags, modseq, internaldate, savedate, size, emailid, threadid"   # = index messages_view
_NOT_STORABLE = {"\\Recent", "\\*"}


SPECIAL_USES = frozenset({"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
                          "\\Important"})


_CANONICAL_SYSTEM_FLAGS = {flag.lower(): flag for flag in (*SYSTEM_FLAGS, *_NOT_STORABLE)}
_KEYWORD_SPECIALS = set('(){ %*"\\]')


def check_flags(flags: Iterable[str]) -> set[str]:
    """Flags a message may carry: the system flags (any case) and atom-like keywords."""
    result = set()
    for flag in flags:
        if flag.startswith("\\"):
            canonical = _CANONICAL_SYSTEM_FLAGS.get(flag.lower())
            if canonical is None:
                raise StoreError(f"{flag} is not a system flag that can be stored")
            result.add(canonical)
        elif not _is_keyword(flag):
            raise StoreError(f"invalid keyword {flag!r}")
        else:
            result.add(flag)
    return result


def _is_keyword(flag: str) -> bool:
    return bool(flag) and not any(c in _KEYWORD_SPECIALS or not 33 <= ord(c) <= 126 for c in flag)


def _check_special_use(special_use: str | None) -> None:
    if special_use is not None and special_use not in SPECIAL_USES:
        raise StoreError(f"{special_use} is not a special-use attribute (RFC 6154: {' '.join(sorted(SPECIAL_USES))})")


HEADER_READ = 8192


def _header_end(data: bytes) -> int | None:
    """Offset just past the blank line that ends the header (CRLF or bare LF files)."""
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(ends) if ends else None


def _flag_columns(flags: Iterable[str]) -> tuple[str, int, int]:
    ordered = sorted(set(flags) - _NOT_STORABLE)
    return " ".join(ordered), int(SEEN in ordered), int(DELETED in ordered)


def _now() -> int:
    return int(time.time())


def _object_ids(data: bytes, parsed) -> tuple[str, str]:
    """EMAILID from the content; THREADID from the thread's root Message-ID."""
    emailid = "M" + hashlib.sha256(data).hexdigest()[:24]
    root = (parsed.references[0] if parsed is not None and parsed.references
            else parsed.message_id if parsed is not None and parsed.message_id else emailid)
    return emailid, "T" + hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _parse(served: bytes):
    from pillarbox.mime import parse_message
    return parse_message(served)


@dataclass(frozen=True)
class PreparedMessage:
    """A message parsed once, to be appended to any number of mailboxes
    (one LMTP transaction to N recipients)."""
    data: bytes              # as it will be stored
    served: bytes            # as clients will see it (bare LFs as CRLF)
    parsed: object           # pillarbox.mime.ParsedMessage

    def __len__(self) -> int:
        return len(self.data)


def prepare_message(data: bytes) -> PreparedMessage:
    served = maildir.to_crlf(data)
    return PreparedMessage(data, served, _parse(served))


class UserStore:
    def __init__(self, config: Config, user: str, root: str, index: Index):
        self.config = config
        self.user = user
        self.root = root
        self.index = index
        self.db = index.db

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, config: Config, user: str, *, create: bool = True) -> "UserStore":
        root = user_root(config, user)
        if not os.path.isdir(os.path.join(root, "cur")):
            if not create:
                raise UserNotFound(f"user {user!r} has no mail store")
            maildir.make_folder(root)
        store = cls(config, user, root, open_index(root))
        store._ensure_inbox()
        return store

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> "UserStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ensure_inbox(self) -> None:
        if self.db.execute("SELECT 1 FROM mailboxes WHERE name = ?", (INBOX,)).fetchone():
            return
        with self.index.write():
            if not self.db.execute("SELECT 1 FROM mailboxes WHERE name = ?", (INBOX,)).fetchone():
                self._insert_mailbox(INBOX, "")
                default_quota = self.config.getint("autocreate_quota")
                if default_quota > 0:
                    self.db.execute("INSERT OR IGNORE INTO quota VALUES ('STORAGE', ?)", (default_quota,))

    # ------------------------------------------------------------ paths and rows

    def folder_path(self, dirname: str) -> str:
        return os.path.join(self.root, dirname) if dirname else self.root

    def _keyword_map(self, folder: str) -> KeywordMap:
        # reread per transaction: another process may have assigned letters
        return KeywordMap(folder)

    def _validate(self, name: str) -> str:
        try:
            return mailboxname.validate(name)
        except mailboxname.MailboxNameError as exc:
            raise InvalidMailboxName(str(exc)) from None

    def _dirname(self, name: str) -> str:
        try:
            return mailboxname.to_maildir(name)
        except mailboxname.MailboxNameError as exc:
            raise InvalidMailboxName(str(exc)) from None

    def _row(self, name: str):
        name = self._validate(name)
        row = self.db.execute("SELECT * FROM mailboxes WHERE name = ?", (name,)).fetchone()
        if row is None:
            self.sync_folders()
            row = self.db.execute("SELECT * FROM mailboxes WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise MailboxNotFound(name)
        return row

    def _fresh(self, mailbox_id: int):
        row = self.db.execute("SELECT * FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
        if row is None:
            raise MailboxNotFound(f"#{mailbox_id}")
        return row

    def _insert_mailbox(self, name: str, dirname: str, special_use: str | None = None) -> int:
        cursor = self.db.execute(
            "INSERT INTO mailboxes (name, dirname, mailboxid, uidvalidity, special_use) VALUES (?, ?, ?, ?, ?)",
            (name, dirname, "F" + uuid.uuid4().hex[:24], self.index.next_uidvalidity(), special_use))
        return cursor.lastrowid

    # ------------------------------------------------------------ mailboxes

    def info(self, name: str) -> MailboxInfo:
        return MailboxInfo.from_row(self.sync(name))

    def list_mailboxes(self) -> list[MailboxInfo]:
        self.sync_folders()
        rows = self.db.execute("SELECT * FROM mailboxes ORDER BY name").fetchall()
        return [MailboxInfo.from_row(row) for row in rows]

    def create_mailbox(self, name: str, special_use: str | None = None) -> MailboxInfo:
        _check_special_use(special_use)
        name = self._validate(name)
        self._dirname(name)             # fails for an over-long name before any parent is made
        with self.index.write():
            self.sync_folders()
            if self.db.execute("SELECT 1 FROM mailboxes WHERE name = ?", (name,)).fetchone():
                raise MailboxExists(name)
            self._create_ancestors(name)
            mailbox_id = self._create_folder(name, special_use)
            return MailboxInfo.from_row(self._fresh(mailbox_id))

    def _create_ancestors(self, name: str) -> None:
        ancestor = mailboxname.parent(name)
        missing = []
        while ancestor and ancestor != INBOX:
            if self.db.execute("SELECT 1 FROM mailboxes WHERE name = ?", (ancestor,)).fetchone():
                break
            missing.append(ancestor)
            ancestor = mailboxname.parent(ancestor)
        for ancestor in reversed(missing):
            self._create_folder(ancestor)

    def _create_folder(self, name: str, special_use: str | None = None) -> int:
        dirname = self._dirname(name)
        path = self.folder_path(dirname)
        maildir.make_folder(path)
        marker = os.path.join(path, "maildirfolder")
        if not os.path.exists(marker):
            open(marker, "wb").close()
        return self._insert_mailbox(name, dirname, special_use)

    def delete_mailbox(self, name: str) -> None:
        name = self._validate(name)
        if name == INBOX:
            raise MailboxNotEmptyOrSpecial("INBOX cannot be deleted")
        with self.index.write():
            row = self._row(name)
            trash = os.path.join(self.root, f"{TRASH_PREFIX}{row['id']}-{uuid.uuid4().hex[:8]}")
            try:
                os.rename(self.folder_path(row["dirname"]), trash)
            except FileNotFoundError:
                trash = None
            self._forget_mailbox(row["id"])
        if trash:
            shutil.rmtree(trash, ignore_errors=True)

    def _forget_mailbox(self, mailbox_id: int) -> None:
        self.db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM messages WHERE mailbox = ?)", (mailbox_id,))
        for table in ("messages", "expunged"):
            self.db.execute(f"DELETE FROM {table} WHERE mailbox = ?", (mailbox_id,))
        self.db.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))

    def rename_mailbox(self, old: str, new: str) -> None:
        old, new = self._validate(old), self._validate(new)
        if new == INBOX:
            raise MailboxExists(INBOX)
        if new == old or new.startswith(old + "/"):
            raise InvalidMailboxName(f"cannot rename {old!r} to {new!r}: a mailbox cannot move into itself")
        if old == INBOX:
            self._rename_inbox(new)
            return
        with self.index.write():
            row = self._row(old)
            family = [row] + self.db.execute("SELECT * FROM mailboxes WHERE name LIKE ? ESCAPE '\\'",
                                             (_like_prefix(old + "/"),)).fetchall()
            # every target is checked (names, limits, clashes) before any directory moves
            targets = [(r, self._validate(new + r["name"][len(old):])) for r in family]
            dirnames = {target: self._dirname(target) for _, target in targets}
            for _, target in targets:
                if self.db.execute("SELECT 1 FROM mailboxes WHERE name = ?", (target,)).fetchone():
                    raise MailboxExists(target)
            self._create_ancestors(new)
            for r, target in targets:
                dirname = dirnames[target]
                os.rename(self.folder_path(r["dirname"]), self.folder_path(dirname))
                self.db.execute("UPDATE mailboxes SET name = ?, dirname = ? WHERE id = ?", (target, dirname, r["id"]))
                self.db.execute("UPDATE subscriptions SET name = ? WHERE name = ?", (target, r["name"]))

    def _rename_inbox(self, new: str) -> None:
        """RFC 3501: move INBOX's messages to a new mailbox; INBOX stays, empty."""
        with self.index.write():
            self.create_mailbox(new)
            inbox = self.sync(INBOX)
            uids = [r[0] for r in self.db.execute("SELECT uid FROM messages WHERE mailbox = ?", (inbox["id"],))]
            if uids:
                self.move(INBOX, uids, new)

    def subscribe(self, name: str) -> None:
        name = self._validate(name)
        with self.index.write():
            self.db.execute("INSERT OR IGNORE INTO subscriptions VALUES (?)", (name,))

    def unsubscribe(self, name: str) -> None:
        name = self._validate(name)
        with self.index.write():
            self.db.execute("DELETE FROM subscriptions WHERE name = ?", (name,))

    def subscriptions(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM subscriptions ORDER BY name")]

    def set_special_use(self, name: str, special_use: str | None) -> None:
        _check_special_use(special_use)
        with self.index.write():
            row = self._row(name)
            self.db.execute("UPDATE mailboxes SET special_use = ? WHERE id = ?", (special_use, row["id"]))

    # ------------------------------------------------------------ syncing with the disk

    def sync_folders(self) -> None:
        """Adopt folders other programs created; forget those they removed."""
        on_disk = {}
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(TRASH_PREFIX):
                    shutil.rmtree(entry.path, ignore_errors=True)
                    continue
                name = mailboxname.from_maildir(entry.name)
                if name and entry.is_dir(follow_symlinks=False) and maildir.is_folder(entry.path):
                    on_disk[entry.name] = name
        known = {row["dirname"]: row for row in self.db.execute("SELECT id, name, dirname FROM mailboxes")}
        added = {d: n for d, n in on_disk.items() if d not in known}
        removed = [row for d, row in known.items() if d and d not in on_disk]
        if not added and not removed:
            return
        with self.index.write():
            for dirname, name in added.items():
                if not self.db.execute("SELECT 1 FROM mailboxes WHERE dirname = ? OR name = ?",
                                       (dirname, name)).fetchone():
                    self._insert_mailbox(name, dirname)
            for row in removed:
                if not os.path.isdir(self.folder_path(row["dirname"])):
                    self._forget_mailbox(row["id"])

    def sync(self, name: str):
        """The mailbox row, after adopting any change made on disk behind our back."""
        row = self._row(name)
        folder = self.folder_path(row["dirname"])
        if FolderState.read(folder).matches(row):
            return row
        with self.index.write():
            row = self._fresh(row["id"])
            if not FolderState.read(folder).matches(row):
                self._reconcile(row, folder)
            return self._fresh(row["id"])

    def _reconcile(self, row, folder: str) -> None:
        if not os.path.isdir(folder):
            raise MailboxNotFound(row["name"])
        disk = scan_folder(folder)
        known = {r["base"]: r for r in self.db.execute(
            "SELECT id, uid, base, filename, flags FROM messages WHERE mailbox = ?", (row["id"],))}
        keywords = self._keyword_map(folder)
        modseq = row["highestmodseq"] + 1
        changed = False
        for base, message in known.items():
            entry = disk.get(base)
            if entry is None:
                self._forget_message(row["id"], message["id"], message["uid"], modseq)
                changed = True
            elif entry.filename != message["filename"]:
                changed |= self._adopt_rename(message, entry, keywords, modseq)
        uidnext = row["uidnext"]
        arrivals = sorted((e for b, e in disk.items() if b not in known), key=lambda e: (e.mtime, e.base))
        courier = maildir.CourierKeywords(folder) if arrivals else None
        for entry in arrivals:
            self._adopt_new_file(row["id"], folder, move_new_to_cur(folder, entry), keywords, uidnext, modseq,
                                 courier.keywords(entry.base))
            uidnext += 1
            changed = True
        state = FolderState.read(folder).recordable()
        self.db.execute("UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, new_mtime = ?, cur_mtime = ? "
                        "WHERE id = ?", (uidnext, modseq if changed else row["highestmodseq"],
                                         state.new_mtime, state.cur_mtime, row["id"]))
        if changed:
            self._recount(row["id"])

    def _adopt_rename(self, message, entry: DiskEntry, keywords: KeywordMap, modseq: int) -> bool:
        flags = disk_flags(entry, keywords, set(message["flags"].split()))
        text, seen, deleted = _flag_columns(flags)
        if text == message["flags"]:
            self.db.execute("UPDATE messages SET filename = ? WHERE id = ?", (entry.filename, message["id"]))
            return False
        self.db.execute("UPDATE messages SET filename = ?, flags = ?, seen = ?, deleted = ?, modseq = ? WHERE id = ?",
                        (entry.filename, text, seen, deleted, modseq, message["id"]))
        return True

    def _adopt_new_file(self, mailbox_id: int, folder: str, entry: DiskEntry, keywords: KeywordMap,
                        uid: int, modseq: int, extra_keywords: set[str] = frozenset()) -> None:
        physical, virtual = FileName.parse(os.path.basename(entry.filename)).size_hints()
        if physical == entry.size and virtual is not None:
            size, crlf = virtual, int(virtual == physical)
        else:
            try:
                with open(os.path.join(folder, entry.filename), "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                return
            size, crlf = maildir.crlf_size(data), int(not maildir.has_bare_lf(data))
        valid_keywords = {k for k in extra_keywords if not k.startswith("\\") and _is_keyword(k)}
        text, seen, deleted = _flag_columns(maildir.flags_from_letters(entry.letters, keywords) | valid_keywords)
        self.db.execute(
            "INSERT INTO messages (mailbox, uid, base, filename, flags, seen, deleted, modseq, internaldate, "
            "savedate, size, raw_size, crlf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mailbox_id, uid, entry.base, entry.filename, text, seen, deleted, modseq, int(entry.mtime), _now(),
             size, entry.size, crlf))

    def _forget_message(self, mailbox_id: int, message_id: int, uid: int, modseq: int) -> None:
        self.db.execute("DELETE FROM fts WHERE rowid = ?", (message_id,))
        self.db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
        self.db.execute("INSERT OR REPLACE INTO expunged (mailbox, uid, modseq) VALUES (?, ?, ?)",
                        (mailbox_id, uid, modseq))

    def _recount(self, mailbox_id: int) -> None:
        self.db.execute(
            "UPDATE mailboxes SET (messages, unseen, deleted, size) = (SELECT count(*), "
            "coalesce(sum(seen = 0), 0), coalesce(sum(deleted), 0), coalesce(sum(size), 0) "
            "FROM messages WHERE mailbox = ?) WHERE id = ?", (mailbox_id, mailbox_id))

    def _locked_row(self, mailbox_id: int, folder: str):
        """Inside a write transaction: the current row, reconciled with the disk
        if another program changed the folder since the last look."""
        row = self._fresh(mailbox_id)
        if not FolderState.read(folder).matches(row):
            self._reconcile(row, folder)
            row = self._fresh(mailbox_id)
        return row

    def _record_own_change(self, row, folder: str, before: FolderState) -> None:
        """After our own change, keep the folder "clean" if it was clean before it."""
        if before.matches(row):
            after = FolderState.read(folder)
            self.db.execute("UPDATE mailboxes SET new_mtime = ?, cur_mtime = ? WHERE id = ?",
                            (after.new_mtime, after.cur_mtime, row["id"]))

    # ------------------------------------------------------------ quota

    def quota(self) -> dict[str, tuple[int, int | None]]:
        """{"STORAGE": (used KiB, limit KiB or None), "MESSAGE": (count, limit or None)}."""
        used_bytes, count = self.db.execute("SELECT coalesce(sum(size), 0), coalesce(sum(messages), 0) "
                                            "FROM mailboxes").fetchone()
        limits = dict(self.db.execute("SELECT resource, limit_value FROM quota").fetchall())
        return {"STORAGE": ((used_bytes + 1023) // 1024, limits.get("STORAGE")),
                "MESSAGE": (count, limits.get("MESSAGE"))}

    def set_quota(self, resource: str, limit: int | None) -> None:
        if resource not in ("STORAGE", "MESSAGE"):
            raise StoreError(f"unknown quota resource {resource!r} (STORAGE or MESSAGE)")
        with self.index.write():
            if limit is None:
                self.db.execute("DELETE FROM quota WHERE resource = ?", (resource,))
            else:
                self.db.execute("INSERT OR REPLACE INTO quota VALUES (?, ?)", (resource, limit))

    def _check_quota(self, adding_bytes: int, adding_messages: int) -> None:
        usage = self.quota()
        used_kib, limit_kib = usage["STORAGE"]
        if limit_kib is not None and adding_bytes and used_kib + (adding_bytes + 1023) // 1024 > limit_kib:
            raise QuotaExceeded("STORAGE", used_kib, limit_kib, (adding_bytes + 1023) // 1024)
        count, limit = usage["MESSAGE"]
        if limit is not None and adding_messages and count + adding_messages > limit:
            raise QuotaExceeded("MESSAGE", count, limit, adding_messages)

    # ------------------------------------------------------------ reading messages

    def messages(self, name: str) -> list[MessageRecord]:
        row = self.sync(name)
        cursor = self.db.cursor()
        cursor.row_factory = None            # plain tuples: ~2x faster than sqlite3.Row in bulk
        cursor.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE mailbox = ? ORDER BY uid", (row["id"],))
        from_row = MessageRecord.from_row
        return [from_row(r) for r in cursor]

    def changes_since(self, name: str, modseq: int) -> Changes:
        row = self.sync(name)
        with self.index.read():
            row = self._fresh(row["id"])
            updated = self.db.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE mailbox = ? AND modseq > ? "
                                      "ORDER BY uid", (row["id"], modseq)).fetchall()
            expunged = [r[0] for r in self.db.execute(
                "SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid", (row["id"], modseq))]
        return Changes([MessageRecord.from_row(r) for r in updated], expunged, row["highestmodseq"],
                       row["uidnext"], row["uidvalidity"])

    def _message_row(self, row, uid: int):
        message = self.db.execute("SELECT * FROM messages WHERE mailbox = ? AND uid = ?", (row["id"], uid)).fetchone()
        if message is None:
            raise MessageNotFound(row["name"], uid)
        return message

    def read_message(self, name: str, uid: int) -> bytes:
        """The message as served to clients (bare LFs as CRLF)."""
        row = self._row(name)
        for attempt in (0, 1):
            message = self._message_row(row, uid)
            try:
                with open(os.path.join(self.folder_path(row["dirname"]), message["filename"]), "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                if attempt:
                    raise MessageNotFound(name, uid) from None
                row = self.sync(name)      # renamed or removed by someone else
                continue
            return data if message["crlf"] else maildir.to_crlf(data)
        raise MessageNotFound(name, uid)

    def read_header(self, name: str, uid: int) -> bytes:
        """The message's header block as served (through the blank line), reading
        only the start of the file: what FETCH BODY[HEADER.FIELDS ...] needs."""
        row = self._row(name)
        message = self._message_row(row, uid)
        path = os.path.join(self.folder_path(row["dirname"]), message["filename"])
        try:
            with open(path, "rb") as handle:
                head = handle.read(HEADER_READ)
                while True:
                    end = _header_end(head)
                    if end is not None or len(head) % HEADER_READ:
                        break
                    more = handle.read(HEADER_READ)
                    if not more:
                        break
                    head += more
        except FileNotFoundError:
            data = self.read_message(name, uid)      # renamed meanwhile: the slow path finds it
            end = _header_end(data)
            return data if end is None else data[:end]
        head = head if end is None else head[:end]
        return head if message["crlf"] else maildir.to_crlf(head)

    def parsed(self, name: str, uid: int) -> tuple[list, dict]:
        """(ENVELOPE, body structure) from the cache, parsing the file once if needed."""
        row = self._row(name)
        message = self._message_row(row, uid)
        if message["envelope"] is not None and message["body"] is not None:
            return json.loads(message["envelope"]), json.loads(message["body"])
        data = self.read_message(name, uid)
        parsed = _parse(data)
        with self.index.write():
            self._cache_parse(message["id"], data, parsed, index_text=not message["indexed"])
        return parsed.envelope, parsed.body

    def _cache_parse(self, message_id: int, data: bytes, parsed, *, index_text: bool) -> None:
        emailid, threadid = _object_ids(data, parsed)
        self.db.execute("UPDATE messages SET envelope = ?, body = ?, emailid = coalesce(emailid, ?), "
                        "threadid = coalesce(threadid, ?), indexed = 1 WHERE id = ?",
                        (json.dumps(parsed.envelope), json.dumps(parsed.body), emailid, threadid, message_id))
        if index_text:
            self._index_text(message_id, parsed)

    def _index_text(self, message_id: int, parsed) -> None:
        # casefolded on both sides: the trigram tokenizer folds ASCII case only
        self.db.execute("INSERT INTO fts (rowid, header, body) VALUES (?, ?, ?)",
                        (message_id, parsed.header_text.casefold(), parsed.body_text.casefold()))

    def search_text(self, name: str, text: str, where: str = "text") -> set[int]:
        """UIDs whose header/body/either (decoded) contain text, case-insensitively."""
        row = self.sync(name)
        self._index_pending(row)
        needle = text.casefold()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = {"header": ["header"], "body": ["body"], "text": ["header", "body"]}[where]
        condition = " OR ".join(f"fts.{c} LIKE ? ESCAPE '\\'" for c in columns)
        query = (f"SELECT m.uid FROM fts JOIN messages m ON m.id = fts.rowid "
                 f"WHERE m.mailbox = ? AND ({condition})")
        return {r[0] for r in self.db.execute(query, (row["id"], *[pattern] * len(columns)))}

    def _index_pending(self, row, batch: int = 500) -> None:
        """Parse and index messages first seen on disk, in batches (one commit each)."""
        folder = self.folder_path(row["dirname"])
        pending = self.db.execute("SELECT id, filename, crlf FROM messages WHERE mailbox = ? AND indexed = 0",
                                  (row["id"],)).fetchall()
        for start in range(0, len(pending), batch):
            parsed = []
            for message in pending[start:start + batch]:
                try:
                    with open(os.path.join(folder, message["filename"]), "rb") as handle:
                        data = handle.read()
                except FileNotFoundError:
                    continue          # renamed or gone: indexed on a later pass
                served = data if message["crlf"] else maildir.to_crlf(data)
                parsed.append((message["id"], served, _parse(served)))
            with self.index.write():
                for message_id, served, result in parsed:
                    if self.db.execute("SELECT 1 FROM messages WHERE id = ? AND indexed = 0", (message_id,)).fetchone():
                        self._cache_parse(message_id, served, result, index_text=True)

    # ------------------------------------------------------------ appending

    def append(self, name: str, data: "bytes | PreparedMessage", flags: Iterable[str] = (),
               internaldate: int | None = None) -> AppendResult:
        return self.append_many(name, [(data, flags, internaldate)])[0]

    def append_many(self, name: str, items: list[tuple[bytes, Iterable[str], int | None]]) -> list[AppendResult]:
        """Append several messages atomically in one transaction (one fsync of the WAL)."""
        row = self._row(name)
        folder = self.folder_path(row["dirname"])
        self._check_quota(sum(len(d) for d, _, _ in items), len(items))
        prepared = [self._prepare(folder, data, flags, internaldate) for data, flags, internaldate in items]
        try:
            with self.index.write():
                return self._commit_appends(row["id"], folder, prepared)
        finally:
            for item in prepared:
                if os.path.exists(item["tmp"]):
                    os.unlink(item["tmp"])

    def _prepare(self, folder: str, data: "bytes | PreparedMessage", flags: Iterable[str],
                 internaldate: int | None) -> dict:
        prepared = data if isinstance(data, PreparedMessage) else prepare_message(data)
        data, served, parsed = prepared.data, prepared.served, prepared.parsed
        when = int(internaldate if internaldate is not None else time.time())
        base = maildir.unique_base(len(data), len(served))
        return {"data": data, "served": served, "parsed": parsed, "flags": check_flags(flags), "internaldate": when,
                "base": base, "tmp": maildir.write_tmp(folder, base, data, mtime=when)}

    def _commit_appends(self, mailbox_id: int, folder: str, prepared: list[dict]) -> list[AppendResult]:
        row = self._locked_row(mailbox_id, folder)
        self._check_quota(sum(len(p["data"]) for p in prepared), len(prepared))
        before = FolderState.read(folder)
        keywords = self._keyword_map(folder)
        uid, modseq = row["uidnext"], row["highestmodseq"] + 1
        results, placed = [], []
        try:
            for item in prepared:
                filename = f"cur/{FileName(item['base'], maildir.letters_from_flags(item['flags'], keywords)).render()}"
                os.rename(item["tmp"], os.path.join(folder, filename))
                placed.append(os.path.join(folder, filename))
                self._insert_appended(mailbox_id, uid, filename, item, modseq)
                results.append(AppendResult(row["uidvalidity"], uid))
                uid += 1
            maildir.fsync_directory(os.path.join(folder, "cur"))
        except BaseException:
            # the transaction rolls back: take the files back out too, so an
            # append that reported failure does not reappear at the next sync
            for path in placed:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise
        self.db.execute("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?", (uid, modseq, mailbox_id))
        self._adjust_counts(mailbox_id, prepared)
        self._record_own_change(row, folder, before)
        return results

    def _insert_appended(self, mailbox_id: int, uid: int, filename: str, item: dict, modseq: int) -> None:
        text, seen, deleted = _flag_columns(item["flags"])
        parsed = item["parsed"]
        emailid, threadid = _object_ids(item["served"], parsed)
        cursor = self.db.execute(
            "INSERT INTO messages (mailbox, uid, base, filename, flags, seen, deleted, modseq, internaldate, savedate,"
            " size, raw_size, crlf, emailid, threadid, envelope, body, indexed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (mailbox_id, uid, item["base"], filename, text, seen, deleted, modseq, item["internaldate"], _now(),
             len(item["served"]), len(item["data"]), int(item["served"] is item["data"]), emailid, threadid,
             json.dumps(parsed.envelope), json.dumps(parsed.body)))
        self._index_text(cursor.lastrowid, parsed)

    def _adjust_counts(self, mailbox_id: int, prepared: list[dict]) -> None:
        unseen = sum(SEEN not in p["flags"] for p in prepared)
        deleted = sum(DELETED in p["flags"] for p in prepared)
        size = sum(len(p["served"]) for p in prepared)
        self.db.execute("UPDATE mailboxes SET messages = messages + ?, unseen = unseen + ?, deleted = deleted + ?, "
                        "size = size + ? WHERE id = ?", (len(prepared), unseen, deleted, size, mailbox_id))

    # ------------------------------------------------------------ flags, expunge

    def store_flags(self, name: str, uids: Iterable[int], mode: str, flags: Iterable[str],
                    unchanged_since: int | None = None) -> tuple[list[MessageRecord], list[int]]:
        """mode "add" | "remove" | "replace". Returns (changed messages, UIDs that failed
        UNCHANGEDSINCE). All changed messages get one new MODSEQ."""
        if mode not in ("add", "remove", "replace"):
            raise ValueError(f"mode {mode!r}")
        requested = check_flags(flags) - _NOT_STORABLE
        row = self.sync(name)
        folder = self.folder_path(row["dirname"])
        with self.index.write():
            row = self._locked_row(row["id"], folder)
            before = FolderState.read(folder)
            keywords = self._keyword_map(folder)
            modseq = row["highestmodseq"] + 1
            changed, failed = [], []
            for message in self._messages_by_uid(row["id"], uids):
                old = set(message["flags"].split())
                if unchanged_since is not None and message["modseq"] > unchanged_since:
                    failed.append(message["uid"])
                    continue
                new = old | requested if mode == "add" else old - requested if mode == "remove" else set(requested)
                if new != old:
                    self._rewrite_flags(row, folder, message, new, keywords, modseq)
                    changed.append(message["uid"])
            if changed:
                self.db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", (modseq, row["id"]))
                self._recount_flags(row["id"])
                self._record_own_change(row, folder, before)
            records = self._records(row["id"], changed)
        return records, failed

    def _messages_by_uid(self, mailbox_id: int, uids: Iterable[int]):
        wanted = sorted(set(uids))
        rows = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows += self.db.execute(f"SELECT * FROM messages WHERE mailbox = ? AND uid IN ({','.join('?' * len(chunk))})"
                                    " ORDER BY uid", (mailbox_id, *chunk)).fetchall()
        return rows

    def _records(self, mailbox_id: int, uids: list[int]) -> list[MessageRecord]:
        wanted = sorted(set(uids))
        records = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            records += [MessageRecord.from_row(r) for r in self.db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE mailbox = ? AND uid IN ({','.join('?' * len(chunk))})"
                " ORDER BY uid", (mailbox_id, *chunk))]
        return records

    def _rewrite_flags(self, row, folder: str, message, flags: set[str], keywords: KeywordMap, modseq: int) -> None:
        base = message["base"]
        target = f"cur/{FileName(base, maildir.letters_from_flags(flags, keywords)).render()}"
        if target != message["filename"]:
            try:
                os.rename(os.path.join(folder, message["filename"]), os.path.join(folder, target))
            except FileNotFoundError:
                # renamed or removed behind our back: keep the index, the next sync adopts the disk state
                target = message["filename"]
        text, seen, deleted = _flag_columns(flags)
        self.db.execute("UPDATE messages SET filename = ?, flags = ?, seen = ?, deleted = ?, modseq = ? WHERE id = ?",
                        (target, text, seen, deleted, modseq, message["id"]))

    def _recount_flags(self, mailbox_id: int) -> None:
        self.db.execute("UPDATE mailboxes SET (unseen, deleted) = (SELECT coalesce(sum(seen = 0), 0), "
                        "coalesce(sum(deleted), 0) FROM messages WHERE mailbox = ?) WHERE id = ?",
                        (mailbox_id, mailbox_id))

    def expunge(self, name: str, uids: Iterable[int] | None = None) -> list[int]:
        """Remove messages flagged \\Deleted (only those among uids, if given). Returns their UIDs."""
        row = self.sync(name)
        folder = self.folder_path(row["dirname"])
        with self.index.write():
            row = self._locked_row(row["id"], folder)
            before = FolderState.read(folder)
            candidates = self.db.execute("SELECT id, uid, filename FROM messages WHERE mailbox = ? AND deleted = 1 "
                                         "ORDER BY uid", (row["id"],)).fetchall()
            if uids is not None:
                allowed = set(uids)
                candidates = [c for c in candidates if c["uid"] in allowed]
            if not candidates:
                return []
            modseq = row["highestmodseq"] + 1
            for message in candidates:
                try:
                    os.unlink(os.path.join(folder, message["filename"]))
                except FileNotFoundError:
                    pass
                self._forget_message(row["id"], message["id"], message["uid"], modseq)
            self.db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", (modseq, row["id"]))
            self._recount(row["id"])
            self._record_own_change(row, folder, before)
        return [c["uid"] for c in candidates]

    def claim_recent(self, name: str) -> set[int]:
        """UIDs that are \\Recent for the calling session: each new message is
        claimed by exactly one session (the first to SELECT after it arrived)."""
        row = self.sync(name)
        if row["recent_uid"] >= row["uidnext"] - 1:
            return set()                     # nothing new since the last claim: no write, no fsync
        with self.index.write():
            row = self._fresh(row["id"])
            uids = {r[0] for r in self.db.execute("SELECT uid FROM messages WHERE mailbox = ? AND uid > ?",
                                                  (row["id"], row["recent_uid"]))}
            self.db.execute("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", (row["uidnext"] - 1, row["id"]))
        return uids

    # ------------------------------------------------------------ copy and move

    def copy(self, source: str, uids: Iterable[int], target: str) -> tuple[int, list[tuple[int, int]]]:
        """Copy messages (hard links where possible). Returns (target UIDVALIDITY, [(source uid, new uid)])."""
        return self._transfer(source, uids, target, move=False)

    def move(self, source: str, uids: Iterable[int], target: str) -> tuple[int, list[tuple[int, int]]]:
        """Move messages atomically: one rename each; the source UIDs become expunged."""
        return self._transfer(source, uids, target, move=True)

    def _transfer(self, source: str, uids: Iterable[int], target: str, *, move: bool):
        src = self.sync(source)
        dst = self.sync(target)
        if src["id"] == dst["id"] and move:
            raise InvalidMailboxName("cannot move messages into the mailbox they are in")
        src_folder, dst_folder = self.folder_path(src["dirname"]), self.folder_path(dst["dirname"])
        with self.index.write():
            src, dst = self._locked_row(src["id"], src_folder), self._locked_row(dst["id"], dst_folder)
            messages = self._messages_by_uid(src["id"], uids)
            if not move:
                self._check_quota(sum(m["size"] for m in messages), len(messages))
            before_src, before_dst = FolderState.read(src_folder), FolderState.read(dst_folder)
            keywords = self._keyword_map(dst_folder)
            uid, modseq = dst["uidnext"], dst["highestmodseq"] + 1
            src_modseq = src["highestmodseq"] + 1
            pairs = []
            for message in messages:
                if self._transfer_one(message, src, src_folder, dst, dst_folder, keywords, uid, modseq, move,
                                      src_modseq):
                    pairs.append((message["uid"], uid))
                    uid += 1
            maildir.fsync_directory(os.path.join(dst_folder, "cur"))
            self.db.execute("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?", (uid, modseq, dst["id"]))
            self._recount(dst["id"])
            if move and pairs:
                self.db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", (src_modseq, src["id"]))
                self._recount(src["id"])
                self._record_own_change(src, src_folder, before_src)
            self._record_own_change(dst, dst_folder, before_dst)
        return dst["uidvalidity"], pairs

    def _transfer_one(self, message, src, src_folder, dst, dst_folder, keywords, uid, modseq, move, src_modseq) -> bool:
        flags = set(message["flags"].split())
        base = message["base"]
        if not move or self.db.execute("SELECT 1 FROM messages WHERE mailbox = ? AND base = ?",
                                       (dst["id"], base)).fetchone():
            base = maildir.unique_base(message["raw_size"], message["size"])
        filename = f"cur/{FileName(base, maildir.letters_from_flags(flags, keywords)).render()}"
        origin, destination = os.path.join(src_folder, message["filename"]), os.path.join(dst_folder, filename)
        try:
            if move:
                os.rename(origin, destination)
            else:
                _link_or_copy(origin, destination, dst_folder, base)
        except FileNotFoundError:
            return False          # expunged behind our back; the next sync records it
        if move:
            self.db.execute("INSERT OR REPLACE INTO expunged (mailbox, uid, modseq) VALUES (?, ?, ?)",
                            (src["id"], message["uid"], src_modseq))
            self.db.execute("UPDATE messages SET mailbox = ?, uid = ?, base = ?, filename = ?, modseq = ?, savedate = ? "
                            "WHERE id = ?", (dst["id"], uid, base, filename, modseq, _now(), message["id"]))
            return True
        cursor = self.db.execute(
            "INSERT INTO messages (mailbox, uid, base, filename, flags, seen, deleted, modseq, internaldate, savedate,"
            " size, raw_size, crlf, emailid, threadid, envelope, body, indexed) "
            "SELECT ?, ?, ?, ?, flags, seen, deleted, ?, internaldate, ?, size, raw_size, crlf, emailid, threadid, "
            "envelope, body, indexed FROM messages WHERE id = ?",
            (dst["id"], uid, base, filename, modseq, _now(), message["id"]))
        self.db.execute("INSERT INTO fts (rowid, header, body) SELECT ?, header, body FROM fts WHERE rowid = ?",
                        (cursor.lastrowid, message["id"]))
        return True

    # ------------------------------------------------------------ change notification

    def watcher(self, name: str):
        """Something to wait on for changes to this mailbox by any process."""
        from pillarbox.notify import ChangeWatcher
        return ChangeWatcher(*self.watch_paths(name))

    def watch_paths(self, name: str) -> tuple[list[str], str]:
        """(folders, index WAL): what changes when anyone changes this mailbox."""
        folder = self.folder_path(self._row(name)["dirname"])
        return [os.path.join(folder, "new"), os.path.join(folder, "cur")], self.index.wal_path


def _link_or_copy(origin: str, destination: str, folder: str, base: str) -> None:
    try:
        os.link(origin, destination)
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    with open(origin, "rb") as handle:
        data = handle.read()
    temporary = maildir.write_tmp(folder, base, data, mtime=os.stat(origin).st_mtime)
    os.rename(temporary, destination)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
