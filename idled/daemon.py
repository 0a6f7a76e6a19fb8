"""idled's event loop: take sessions in, watch them, give them back."""

from __future__ import annotations

import functools
import math
import os
import selectors
import socket
import time

from idled.lot import KEEPALIVE, BadState, Parked, due, next_due, park
from pillarbox import log
from pillarbox.config import Config
from pillarbox.connection import host_of
from pillarbox.handoff import HandoffError, receive_connection, send_connection
from pillarbox.proclist import ProcessRegistry
from pillarbox.proctitle import set_title
from pillarbox.service import session_end_line
from pillarbox.notify import WatchSet, fingerprint

POLL_INTERVAL = 1.0       # without inotify, how often mailboxes are compared
ACK_WAIT = 30.0           # how long a resume worker has to take a session
RECEIVE_WAIT = 2.0        # how long imapd has to finish sending one
RETRY_INTERVAL = 0.05     # a full resume listen queue is tried again this often


class Idled:
    def __init__(self, config: Config):
        self.config = config
        self.listen_path = config.getpath("idlesocket")
        self.resume_path = config.getpath("imapresumesocket")
        self.configdir = config.getpath("configdirectory")
        self.selector = selectors.DefaultSelector()
        self.watches = WatchSet()
        self.parked: set[Parked] = set()
        self.resuming: dict[socket.socket, tuple[Parked, float]] = {}     # channel -> (session, give-up time)
        self.retrying: list[tuple[Parked, float]] = []                     # woken, resume socket was full
        self.registries: dict[Parked, ProcessRegistry] = {}
        self.listener: socket.socket | None = None

    # ------------------------------------------------------------ set-up

    def listen(self) -> None:
        if not self.listen_path:
            raise OSError("idlesocket is not set")
        os.makedirs(os.path.dirname(self.listen_path), mode=0o700, exist_ok=True)
        _remove_stale_socket(self.listen_path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.listen_path)
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        if self.watches.fileno() is not None:
            self.selector.register(self.watches.fileno(), selectors.EVENT_READ, self._mailboxes_changed)
        log.info(f"idled: listening on {self.listen_path}, resuming through {self.resume_path}")
        self._title()

    def _title(self) -> None:
        set_title("idled", f"{len(self.parked)} sessions")

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        while True:
            timeout = self._timeout()
            for key, _ in self.selector.select(None if math.isinf(timeout) else max(0.0, timeout)):
                self._guarded(key.data, key.fileobj)
            self._guarded(self._timers, time.monotonic())

    @staticmethod
    def _guarded(handler, argument) -> None:
        """A bug in handling one session must not drop all the others."""
        try:
            handler(argument)
        except Exception:
            import traceback
            log.error("idled: internal error: " + " | ".join(traceback.format_exc().strip().splitlines()))

    def _timeout(self) -> float:
        wake = min(next_due(list(self.parked)), min((t for _, t in self.resuming.values()), default=math.inf))
        if self.watches.fileno() is None and self.parked:
            wake = min(wake, time.monotonic() + POLL_INTERVAL)
        if self.retrying:
            wake = min(wake, time.monotonic() + RETRY_INTERVAL)
        return wake - time.monotonic()

    def _timers(self, now: float) -> None:
        expired, keepalive = due(list(self.parked), now)
        for parked in expired:
            self._say_bye(parked, "idle for too long, logging out", "autologout (idle)")
        for parked in keepalive:
            parked.next_keepalive = now + KEEPALIVE
            if not self._write(parked, b"* OK still here\r\n"):
                self._end(parked, "connection lost (keepalive failed)")
        for channel, (parked, give_up) in list(self.resuming.items()):
            if give_up <= now:
                self._resume_failed(channel, parked, f"no resume worker took it within {ACK_WAIT:.0f}s")
        self._retry_resumes()
        if self.watches.fileno() is None:
            for parked in list(self.parked):
                if self._changed_since_parked(parked):
                    self._wake(parked, "mailbox")

    # ------------------------------------------------------------ taking sessions in

    def _accept(self, listener: socket.socket) -> None:
        try:
            channel, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with channel:
            try:
                client, state = receive_connection(channel, timeout=RECEIVE_WAIT)
            except HandoffError as error:
                log.warning(f"idled: refused a session: {error}")
                return
        try:
            parked = park(client, state)
        except BadState as error:
            log.error(f"idled: {error}; closing that connection")
            client.close()
            return
        client.setblocking(False)
        self.parked.add(parked)
        self.selector.register(client, selectors.EVENT_READ, functools.partial(self._client_readable, parked))
        self._register_session(parked)
        self._title()
        log.debug(f"parked: {parked.describe()}")
        watch = parked.watch
        if watch is not None:
            if not self.watches.add(parked, watch["directories"], None) or \
                    self._changed_since_parked(parked):
                self._wake(parked, "mailbox")

    def _changed_since_parked(self, parked: Parked) -> bool:
        watch = parked.watch
        if watch is None:
            return False
        return _comparable(fingerprint(watch["directories"])) != _comparable(watch["fingerprint"])

    def _register_session(self, parked: Parked) -> None:
        """Hibernating sessions still count for maxlogins_per_user/host."""
        registry = ProcessRegistry(self.configdir, key=str(parked.serial))
        session = parked.session
        registry.register("imap", host_of(session["peer"]), session["user"])
        self.registries[parked] = registry

    # ------------------------------------------------------------ events

    def _client_readable(self, parked: Parked, client: socket.socket) -> None:
        try:
            peeked = client.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(parked, f"connection lost ({exc})")
            return
        if not peeked:
            self._end(parked, "connection lost (connection closed by peer)")
        else:
            self._wake(parked, "client")

    def _mailboxes_changed(self, _fd) -> None:
        for parked in self.watches.changed():
            if parked in self.parked:
                self._wake(parked, "mailbox")

    # ------------------------------------------------------------ giving sessions back

    def _unpark(self, parked: Parked) -> None:
        self.parked.discard(parked)
        self.watches.remove(parked)
        try:
            self.selector.unregister(parked.client)
        except (KeyError, ValueError):
            pass
        registry = self.registries.pop(parked, None)
        if registry is not None:
            registry.unregister()
        self._title()

    def _wake(self, parked: Parked, reason: str) -> None:
        """Hand the session to a resume worker; the client socket stays ours until it says ok."""
        self._unpark(parked)
        log.debug(f"waking ({reason}): {parked.describe()}")
        self._resume(parked, time.monotonic() + ACK_WAIT)

    def _resume(self, parked: Parked, give_up: float) -> None:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.setblocking(False)
        try:
            channel.connect(self.resume_path)
        except BlockingIOError:        # the listen queue is full: many woke at once
            channel.close()
            if time.monotonic() < give_up:
                self.retrying.append((parked, give_up))
            else:
                self._resume_failed(None, parked, f"its listen queue stayed full for {ACK_WAIT:.0f}s")
            return
        except OSError as error:
            self._resume_failed(channel, parked, str(error))
            return
        try:
            channel.settimeout(RECEIVE_WAIT)
            send_connection(channel, parked.client, parked.state)
        except HandoffError as error:
            self._resume_failed(channel, parked, str(error))
            return
        channel.setblocking(False)
        self.resuming[channel] = (parked, give_up)
        self.selector.register(channel, selectors.EVENT_READ, self._resume_answered)

    def _retry_resumes(self) -> None:
        waiting, self.retrying = self.retrying, []
        for parked, give_up in waiting:
            self._resume(parked, give_up)

    def _resume_answered(self, channel: socket.socket) -> None:
        parked, _ = self.resuming[channel]
        try:
            answer = channel.recv(16)
        except BlockingIOError:
            return
        except OSError as exc:
            answer = repr(exc).encode()
        if answer != b"ok\n":
            self._resume_failed(channel, parked, f"resume worker answered {answer!r}")
            return
        self._forget_channel(channel)
        parked.client.close()

    def _resume_failed(self, channel: socket.socket | None, parked: Parked, why: str) -> None:
        log.error(f"idled: cannot resume {parked.describe()} through {self.resume_path}: {why}")
        if channel is not None:
            self._forget_channel(channel)
        self._say_bye(parked, "server busy, please reconnect", "resume failed")

    def _forget_channel(self, channel: socket.socket) -> None:
        if self.resuming.pop(channel, None) is not None:
            self.selector.unregister(channel)
        channel.close()

    # ------------------------------------------------------------ ending sessions here

    def _write(self, parked: Parked, data: bytes) -> bool:
        try:
            sent = parked.client.send(data, socket.MSG_DONTWAIT)
        except OSError:
            return False
        parked.wrote(sent)
        return sent == len(data)

    def _say_bye(self, parked: Parked, text: str, how: str) -> None:
        self._write(parked, b"* BYE " + text.encode() + b"\r\n")
        self._end(parked, how)

    def _end(self, parked: Parked, how: str) -> None:
        self._unpark(parked)
        session = parked.session
        log.info(session_end_line(session["peer"], session["user"], session["id"], how,
                                  time.time() - session["started"], session["commands"],
                                  session["bytes_in"], session["bytes_out"]))
        parked.client.close()

    def close(self, why: str) -> None:
        """Stopping: every parked client hears BYE; sessions being resumed are left to their workers."""
        for parked in list(self.parked):
            self._say_bye(parked, why, "server shutting down")
        for channel in list(self.resuming):
            parked, _ = self.resuming[channel]
            self._forget_channel(channel)
            parked.client.close()
        for parked, _ in self.retrying:
            self._say_bye(parked, why, "server shutting down")
        self.retrying = []
        if self.listener is not None:
            self.listener.close()
            try:
                os.unlink(self.listen_path)
            except OSError:
                pass
        self.watches.close()


def _comparable(stamps) -> list:
    """Fingerprints as lists: JSON brought imapd's tuples here as lists."""
    return [list(stamp) if stamp is not None else None for stamp in stamps]


def _remove_stale_socket(path: str) -> None:
    """Remove a socket left by a dead idled; refuse to steal a live one's."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except FileNotFoundError:
            return
        except OSError:
            os.unlink(path)
            return
    raise OSError(f"another idled is already listening on {path}")
