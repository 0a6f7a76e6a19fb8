"""Putting one received message into the recipients' stores.

What is stored is ``Return-Path:`` and ``Received:`` (RFC 5321 4.4) followed
by the message exactly as received (dots unstuffed, CRLF line ends). The
two added fields are the same for every recipient of a transaction, so the
stored octets are too.

A recipient gets 250 only after the store returned from append: the file
fsync'd and renamed into cur/, the directory fsync'd, the index row and the
duplicate record committed (see lmtpd/duplicate.py for the one residual
window). Any failure becomes 4xx (kept queued by the MTA) or, for a full
mailbox under lmtp_over_quota_perm_failure, 552 5.2.2.

Two recipients of one transaction that land in the same user's same folder
(``Alice`` and ``alice``; a postmaster alias naming a user also addressed
directly) get one copy, as an alias expansion would.
"""

from __future__ import annotations

import email.utils
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass

from lmtpd import duplicate
from lmtpd.folders import INBOX, choose_folder
from lmtpd.machine import Accepted, Envelope
from lmtpd.protocol import Reply
from lmtpd.data import ReceivedMessage
from pillarbox import log
from pillarbox.config import Config
from pillarbox.store import MailboxNotFound, PreparedMessage, QuotaExceeded, StoreError, UserStore, prepare_message


def quota_reply(config: Config, what: str) -> Reply:
    if config.getbool("lmtp_over_quota_perm_failure"):
        return Reply(552, "5.2.2", f"{what}: mailbox is full (over quota)")
    return Reply(452, "4.2.2", f"{what}: mailbox is full (over quota), try again later")


def store_failure(what: str) -> Reply:
    return Reply(451, "4.3.0", f"{what}: temporary failure storing the message, try again later")


class StoreCache:
    """The stores a session has opened, kept for the session (a few dozen at most)."""

    def __init__(self, config: Config, limit: int = 32):
        self.config = config
        self.limit = limit
        self._open: OrderedDict[str, UserStore] = OrderedDict()

    def get(self, user: str) -> UserStore:
        store = self._open.get(user)
        if store is not None:
            self._open.move_to_end(user)
            return store
        store = UserStore.open(self.config, user)
        self._open[user] = store
        while len(self._open) > self.limit:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        return store

    def close(self) -> None:
        while self._open:
            _, store = self._open.popitem()
            try:
                store.close()
            except Exception:  # closing must not hide the session's own outcome
                pass


@dataclass(frozen=True)
class Outcome:
    reply: Reply | None          # None: stored (or a suppressed duplicate)
    duplicate: bool = False


@dataclass(frozen=True)
class Origin:
    """What the Received field says about the connection."""
    hostname: str
    peer: str                    # "127.0.0.1", "unix", "stdin"
    session_id: str


def trace_fields(envelope: Envelope, origin: Origin, when: float | None = None, token: str | None = None) -> bytes:
    """Return-Path and Received, CRLF-terminated. `token` (the Received id) names this
    transaction uniquely; duplicate suppression finds a crashed delivery's copy by it."""
    protocol = "LMTP" + ("S" if envelope.tls else "") + ("A" if envelope.auth_user else "")
    if origin.peer in ("unix", "stdin", "unknown", ""):
        via = "(local)" if origin.peer != "unix" else "(UNIX socket)"
    else:
        via = f"([IPv6:{origin.peer}])" if ":" in origin.peer else f"([{origin.peer}])"
    recipients = envelope.recipients
    for_clause = f"\r\n\tfor <{recipients[0].path.address}>" if len(recipients) == 1 else ""
    date = email.utils.formatdate(when if when is not None else time.time(), localtime=True)
    received = (f"Received: from {_clean(envelope.lhlo)} {via}\r\n\tby {_clean(origin.hostname)} "
                f"(pillarbox lmtpd) with {protocol}\r\n\tid {_clean(token or origin.session_id)}{for_clause}; {date}\r\n")
    return f"Return-Path: {envelope.sender}\r\n".encode("utf-8") + received.encode("utf-8", "replace")


def _clean(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in ".-_:[]@") or "unknown"


class Deliverer:
    def __init__(self, config: Config, stores: StoreCache, origin: Origin):
        self.config = config
        self.stores = stores
        self.origin = origin
        self.suppress_duplicates = config.getbool("duplicatesuppression")
        self.transactions = 0

    def deliver(self, envelope: Envelope, message: ReceivedMessage) -> list[Reply]:
        self.transactions += 1
        token = f"{_clean(self.origin.session_id)}.{self.transactions}"
        # parsed once here, however many recipients and partitions it goes to
        stored = prepare_message(trace_fields(envelope, self.origin, token=token) + message.data)
        ident = duplicate.identity(message.data) if self.suppress_duplicates else None
        outcomes: dict[tuple[str, str], Outcome] = {}
        replies = []
        for accepted in envelope.recipients:
            results = [self._guarded(accepted, target, envelope, stored, ident, token, outcomes)
                       for target in accepted.target]
            replies.append(self._reply(accepted, results))
        return replies

    def _guarded(self, accepted: Accepted, target, *args) -> Outcome:
        """A bug in one delivery is a temporary failure for that recipient, never a dead session."""
        try:
            return self._deliver_target(accepted, target, *args)
        except Exception:
            import traceback
            log.error(f"lmtp: internal error delivering to {target.user}: "
                      + " | ".join(traceback.format_exc().strip().splitlines())
                      + f" session={self.origin.session_id}")
            return Outcome(store_failure(f"<{accepted.path.address}>"))

    def _reply(self, accepted: Accepted, results: list[Outcome]) -> Reply:
        failures = [r.reply for r in results if r.reply is not None]
        who = f"<{accepted.path.address}>"
        if not failures:
            if all(r.duplicate for r in results):
                return Reply(250, "2.0.0", f"{who} Ok, already delivered (duplicate suppressed)")
            return Reply(250, "2.0.0", f"{who} Ok, delivered")
        # a temporary failure wins: the MTA retries, and duplicate suppression
        # keeps the copies already made from being made again
        return next((f for f in failures if f.temporary), failures[0])

    def _deliver_target(self, accepted: Accepted, target, envelope: Envelope, stored: PreparedMessage,
                        ident, token: str, outcomes: dict) -> Outcome:
        who = f"<{accepted.path.address}>"
        try:
            store = self.stores.get(target.user)
            folder = choose_folder(self.config, store, target.detail)
        except (StoreError, OSError, sqlite3.Error) as exc:
            log.error(f"lmtp: cannot open the store of {target.user}: {exc} session={self.origin.session_id}")
            return Outcome(store_failure(who))
        done = outcomes.get((target.user, folder))
        if done is not None:
            return done
        try:
            outcome = self._append(store, folder, stored, ident, token, envelope, who)
        except _FolderVanished:
            folder = INBOX
            done = outcomes.get((target.user, folder))
            outcome = done or self._append(store, folder, stored, ident, token, envelope, who)
        outcomes[(target.user, folder)] = outcome
        return outcome

    def _append(self, store: UserStore, folder: str, stored: PreparedMessage, ident, token: str, envelope: Envelope,
                who: str) -> Outcome:
        dup_key = duplicate.key(ident, folder) if ident else None
        message_id = ident[0] if ident else "-"
        try:
            # phase 1 (its own commit): is it here already? if not, say who is delivering it
            if dup_key and duplicate.claim(store, folder, dup_key, token):
                return self._duplicate(store, folder, message_id)
            # phase 2: the message and the final record in one commit
            with store.index.write():
                if dup_key and duplicate.delivered(store, dup_key):
                    return self._duplicate(store, folder, message_id)
                result = store.append(folder, stored)
                if dup_key:
                    duplicate.record(store, dup_key)
        except QuotaExceeded as exc:
            log.notice(f"lmtp: {store.user} {folder} {exc}; message {message_id} refused "
                       f"session={self.origin.session_id}")
            return Outcome(quota_reply(self.config, who))
        except MailboxNotFound:
            if folder != INBOX:
                raise _FolderVanished() from None
            log.error(f"lmtp: {store.user} has no INBOX session={self.origin.session_id}")
            return Outcome(store_failure(who))
        except (StoreError, OSError, sqlite3.Error) as exc:
            log.error(f"lmtp: storing a message for {store.user} {folder} failed: {exc} "
                      f"session={self.origin.session_id}")
            return Outcome(store_failure(who))
        log.info(f"delivered: {message_id} from={envelope.sender} to={store.user} mailbox={folder} "
                 f"uid={result.uid} size={len(stored)} session={self.origin.session_id}")
        return Outcome(None)

    def _duplicate(self, store: UserStore, folder: str, message_id: str) -> Outcome:
        log.info(f"dupelim: eliminated duplicate message to {store.user} {folder} id {message_id} "
                 f"session={self.origin.session_id}")
        return Outcome(None, duplicate=True)


class _FolderVanished(Exception):
    """The +detail folder was deleted between choosing it and appending: use INBOX."""
