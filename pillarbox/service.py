"""The worker side of master: what imapd, pop3d and lmtpd share.

A daemon supplies a ServiceSpec (its name and a `serve(session)` function);
`run_service` does the rest, the way Cyrus's master/service.c does:

* under master (fd 3 is the status pipe, fd 4 the listening socket): report
  AVAILABLE, take the accept lock, accept one connection, report busy, move
  the connection onto stdin/stdout, serve it, and loop until `-U uses`
  connections were served or no connection came for `-T timeout` seconds
  (randomised up to twice that so a pool does not expire all at once);
* otherwise (inetd, or a shell): serve stdin/stdout once.

SIGHUP asks a worker to go: at once when idle, after its session when busy.
"""

from __future__ import annotations

import errno
import fcntl
import getopt
import os
import select
import signal
import socket
import stat
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from pillarbox import log
from pillarbox.config import Config, ConfigError, default_config_path
from pillarbox.connection import Connection, ConnectionClosed, ConnectionTimeout, host_of
from pillarbox.masterproto import (ENV_ACCEPT_LOCK, ENV_SERVICE, LISTEN_FD, STATUS_FD, Status,
                                   encode_status)
from pillarbox.proctitle import set_title

EX_USAGE = 64
EX_CONFIG = 78

DEFAULT_USES = 250
DEFAULT_IDLE_TIMEOUT = 60


@dataclass
class WorkerOptions:
    config_path: str | None = None
    uses: int = DEFAULT_USES
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT
    tls_on_connect: bool = False
    ssf: int | None = None
    debug: bool = False
    no_password: bool = False
    resume: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceSpec:
    """What a daemon tells the runtime about itself."""
    name: str                                   # "imapd": log ident and process title
    serve: Callable[["Session"], None]          # serves one connection
    has_password: bool = True                   # accepts -N
    extra_options: str = ""                     # more getopt letters, e.g. "a" or "x:"
    usage: str = ""
    preload: Callable[[], None] | None = None   # imports a template does before forking workers
    resumes: bool = False                       # -R: take connections handed over by idled

    @property
    def default_service_name(self) -> str:
        """The service name for imapd.conf overrides when master did not set one."""
        return self.name[:-1] if self.name.endswith("d") else self.name


class UsageError(Exception):
    pass


class Terminated(BaseException):
    """SIGTERM: master (or the admin) stops this process now."""


class HandedOff(Exception):
    """The connection now belongs to another process (IDLE hibernation): not a logout."""


def parse_options(spec: ServiceSpec, argv: list[str]) -> WorkerOptions:
    letters = "C:U:T:sp:D" + ("N" if spec.has_password else "") + ("R" if spec.resumes else "") + spec.extra_options
    try:
        pairs, args = getopt.getopt(argv, letters)
    except getopt.GetoptError as exc:
        raise UsageError(str(exc)) from exc
    options = WorkerOptions(args=args)
    for flag, value in pairs:
        _apply_option(options, flag, value)
    return options


_NUMBER_FLAGS = {"-U": "uses", "-T": "idle_timeout", "-p": "ssf"}
_SWITCHES = {"-s": "tls_on_connect", "-D": "debug", "-N": "no_password", "-R": "resume"}


def _apply_option(options: WorkerOptions, flag: str, value: str) -> None:
    if flag == "-C":
        options.config_path = value
    elif flag in _NUMBER_FLAGS:
        setattr(options, _NUMBER_FLAGS[flag], _nonnegative_int(flag, value))
    elif flag in _SWITCHES:
        setattr(options, _SWITCHES[flag], True)
    else:
        options.extra[flag] = value


def _nonnegative_int(flag: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"option {flag} requires a number, not {value!r}") from None
    if number < 0:
        raise UsageError(f"option {flag} must not be negative")
    return number


# ---------------------------------------------------------------- sessions

class Session:
    """One client connection: what the protocol code needs beyond bytes."""

    _counter = 0

    def __init__(self, spec: ServiceSpec, config: Config, options: WorkerOptions, conn: Connection,
                 resumed: dict | None = None):
        Session._counter += 1
        self.spec = spec
        self.config = config
        self.options = options
        self.conn = conn
        self.id = f"{os.getpid()}-{int(time.time())}-{Session._counter}"
        self.user: str | None = None
        self.mechanism: str | None = None
        self.commands = 0
        self.started = time.monotonic()
        self.resumed = resumed          # the state of a session handed back by idled
        self._telemetry = None

    # -- facts about the connection
    @property
    def peer(self) -> str:
        return self.conn.peer

    @property
    def ssf(self) -> int:
        if self.conn.tls:
            return 256
        return self.options.ssf or 0

    @property
    def is_secure(self) -> bool:
        """TLS is up, or master's cmd vouched for the channel (-p ssf > 1)."""
        return self.ssf > 1

    def plaintext_allowed(self) -> bool:
        return self.is_secure or self.config.getbool("allowplaintext")

    # -- the admin's message files
    def shutdown_message(self) -> str | None:
        """First line of {configdirectory}/msg/shutdown: the service is closed."""
        return _first_line(self._msg_path("shutdown"))

    def motd(self) -> str | None:
        """First line of {configdirectory}/msg/motd, sent as an ALERT."""
        return _first_line(self._msg_path("motd"))

    def _msg_path(self, name: str) -> str | None:
        configdir = self.config.getpath("configdirectory")
        return os.path.join(configdir, "msg", name) if configdir else None

    # -- TLS
    def tls_available(self) -> bool:
        from pillarbox.tls import tls_available
        return tls_available(self.config) and self.conn.is_socket and not self.conn.tls

    def start_tls(self) -> None:
        self.conn.start_tls(_tls_context(self.config))
        log.info(f"starttls: {self.peer} {self.conn.tls_description()} session={self.id}")
        self.title()

    # -- titles and the log
    def title(self, command: str | None = None, mailbox: str | None = None) -> None:
        who = f"{self.user}@{self.peer_host}" if self.user else self.peer_host
        set_title(self.spec.name, who, mailbox, command)

    @property
    def peer_host(self) -> str:
        return host_of(self.conn.peer)

    def login_succeeded(self, user: str, mechanism: str) -> None:
        self.user = user
        self.mechanism = mechanism
        log.info(f"login: {self.peer} {user} {mechanism} User logged in "
                 f"tls={self.conn.tls_description()} session={self.id}")
        self._open_telemetry(user)
        self.title()

    def login_failed(self, user: str | None, mechanism: str, reason: str) -> None:
        log.notice(f"badlogin: {self.peer} {user or '-'} {mechanism} [{reason}] session={self.id}")

    def _open_telemetry(self, user: str) -> None:
        from pillarbox.telemetry import open_telemetry
        configdir = self.config.getpath("configdirectory")
        if configdir:
            self._telemetry = open_telemetry(configdir, user, self.spec.name)
            self.conn.tap = self._telemetry

    # -- moving between processes (IDLE hibernation)
    def export(self) -> dict:
        """What the log lines of this session need in the process that ends it."""
        return {"id": self.id, "user": self.user, "mechanism": self.mechanism, "peer": self.peer,
                "started": time.time() - (time.monotonic() - self.started), "commands": self.commands,
                "bytes_in": self.conn.bytes_in, "bytes_out": self.conn.bytes_out}

    def adopt(self, exported: dict) -> None:
        """Continue a session exported by another process: same id, counters and start."""
        self.id = exported["id"]
        self.user, self.mechanism = exported["user"], exported["mechanism"]
        self.commands = exported["commands"]
        self.started = time.monotonic() - max(0.0, time.time() - exported["started"])
        self.conn.bytes_in += exported["bytes_in"]
        self.conn.bytes_out += exported["bytes_out"]
        log.debug(f"resume: {self.peer} {self.user} session={self.id}")
        if self.user:
            self._open_telemetry(self.user)
        self.title()

    def finish(self, how: str) -> None:
        if how != HANDED_OFF:
            log.info(session_end_line(self.peer, self.user, self.id, how, time.monotonic() - self.started,
                                      self.commands, self.conn.bytes_in, self.conn.bytes_out))
        if self._telemetry is not None:
            self.conn.tap = None
            self._telemetry.close()
            self._telemetry = None


HANDED_OFF = "handed off"


def session_end_line(peer: str, user: str | None, session_id: str, how: str, elapsed: float,
                     commands: int, bytes_in: int, bytes_out: int) -> str:
    """The logout/disconnect log line, wherever a session ends (a worker or idled)."""
    return (f"{'logout' if user else 'disconnect'}: {peer} {user or '-'} session={session_id} {how} "
            f"duration={elapsed:.3f}s commands={commands} in={bytes_in} out={bytes_out}")


def _first_line(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            line = handle.readline(1024)
    except OSError:
        return None
    text = line.decode("utf-8", "replace").strip()
    return text or None


_tls_contexts: dict[int, object] = {}


def _tls_context(config: Config):
    context = _tls_contexts.get(id(config))
    if context is None:
        from pillarbox.tls import server_context
        context = _tls_contexts[id(config)] = server_context(config)
    return context


def serve_connection(spec: ServiceSpec, config: Config, options: WorkerOptions, conn: Connection,
                     resumed: dict | None = None) -> None:
    """Serve one connection; nothing that goes wrong here kills the worker."""
    session = Session(spec, config, options, conn, resumed)
    if resumed is None:
        log.info(f"accepted connection: {conn.peer} local={conn.local} session={session.id}")
        session.title("connecting")
    how = "normal"
    try:
        if options.tls_on_connect and resumed is None:
            session.start_tls()
        spec.serve(session)
    except HandedOff:
        how = HANDED_OFF
    except ConnectionClosed as exc:
        how = f"connection lost ({exc})"
    except ConnectionTimeout:
        how = "autologout (timeout)"
    except Terminated:
        how = "server shutting down"
        raise
    except Exception:  # a bug: log it, never show it on the wire
        import traceback
        how = "internal error"
        log.error(f"internal error in session {session.id}: "
                  + " | ".join(traceback.format_exc().strip().splitlines()))
    finally:
        session.finish(how)
        conn.close()


# ---------------------------------------------------------------- the pool loop

class _Recycle(Exception):
    """Leave the accept loop: idle timeout reached, or master said SIGHUP."""


class Worker:
    """A preforked worker under master."""

    def __init__(self, spec: ServiceSpec, config: Config, options: WorkerOptions):
        self.spec = spec
        self.config = config
        self.options = options
        self.waiting = False          # in the interruptible wait for a connection
        self.leave_after_session = False
        self.listener = socket.socket(fileno=LISTEN_FD)
        self.listener.setblocking(False)
        self.lock_fd = _open_accept_lock(os.environ.get(ENV_ACCEPT_LOCK))

    def run(self) -> None:
        signal.signal(signal.SIGHUP, self._on_hangup)
        signal.signal(signal.SIGALRM, self._on_idle_expired)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is master's to handle
        signal.signal(signal.SIGTERM, _on_terminate)
        served = 0
        self._report(Status.AVAILABLE)
        while True:
            try:
                sock = self._wait_for_connection()
            except _Recycle:
                break
            self._report(Status.UNAVAILABLE)
            self._report(Status.CONNECTION)
            self._serve_on_stdio(sock)
            served += 1
            if self.leave_after_session or (self.options.uses and served >= self.options.uses):
                return
            self._report(Status.AVAILABLE)
        self._report(Status.UNAVAILABLE)

    def _idle_timeout(self) -> float:
        # randomised up to twice the base, so a pool does not expire all at once
        base = self.options.idle_timeout
        return base + base * int.from_bytes(os.urandom(2), "big") / 65535 if base else 0

    def _wait_for_connection(self) -> socket.socket:
        set_title(self.spec.name, "ready")
        timeout = self._idle_timeout()
        deadline = time.monotonic() + timeout if timeout else None
        self.waiting = True
        if self.leave_after_session:
            raise _Recycle()
        try:
            if deadline is not None:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            while True:
                with _AcceptLock(self.lock_fd):
                    sock = self._accept_until(deadline)
                if sock is not None:
                    return sock
        finally:
            self.waiting = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _accept_until(self, deadline: float | None) -> socket.socket | None:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        readable, _, _ = select.select([self.listener], [], [], remaining)
        if not readable:
            raise _Recycle()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGALRM})
        try:
            sock, _ = self.listener.accept()
            self.waiting = False
            return sock
        except (BlockingIOError, InterruptedError):
            return None          # another process took it
        except OSError as exc:
            if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EMFILE, errno.ENFILE):
                log.warning(f"accept failed: {exc}")
                time.sleep(0.01)
                return None
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _serve_on_stdio(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        resumed = None
        if self.options.resume:
            from pillarbox.handoff import HandoffError, receive_connection
            try:
                with sock:
                    sock, resumed = receive_connection(sock)
            except HandoffError as exc:
                log.warning(f"resume: {exc}")
                return
            sock.setblocking(True)
        os.dup2(sock.fileno(), 0)
        os.dup2(sock.fileno(), 1)
        sock.close()
        conn = Connection.from_socket(socket.socket(fileno=os.dup(0)))
        try:
            serve_connection(self.spec, self.config, self.options, conn, resumed)
        finally:
            _point_stdio_at_devnull()

    def _report(self, status: Status) -> None:
        try:
            os.write(STATUS_FD, encode_status(status, os.getpid()))
        except OSError as exc:
            # master is gone; finish what we are doing and leave
            if exc.errno != errno.EPIPE:
                log.warning(f"cannot report to master: {exc}")
            self.leave_after_session = True

    def _on_hangup(self, signum, frame) -> None:
        # let go of the listening socket at once: if master removed this
        # service, no connection may queue on a socket nobody will accept
        self.leave_after_session = True
        self.listener.close()
        if self.waiting:
            raise _Recycle()

    def _on_idle_expired(self, signum, frame) -> None:
        if self.waiting:
            raise _Recycle()


def _on_terminate(signum, frame) -> None:
    raise Terminated()


class _AcceptLock:
    """Only one idle worker of a service waits in accept at a time (Cyrus's lockaccept)."""

    def __init__(self, fd: int | None):
        self.fd = fd

    def __enter__(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


def _open_accept_lock(path: str | None) -> int | None:
    if not path:
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        log.warning(f"accept lock {path} unavailable, accepting without it: {exc}")
        return None


def _point_stdio_at_devnull() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


# ---------------------------------------------------------------- entry point

def started_by_master() -> bool:
    """fd 3 is a pipe and fd 4 a listening socket: master exec'd us."""
    try:
        if not stat.S_ISFIFO(os.fstat(STATUS_FD).st_mode):
            return False
        probe = socket.socket(fileno=os.dup(LISTEN_FD))
    except OSError:
        return False
    try:
        return probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    except OSError:
        return False
    finally:
        probe.close()


def _run_worker(spec: ServiceSpec, config: Config, options: WorkerOptions) -> None:
    try:
        Worker(spec, config, options).run()
    except Terminated:
        pass


def load_worker_config(spec: ServiceSpec, options: WorkerOptions) -> Config:
    service = os.environ.get(ENV_SERVICE) or spec.default_service_name
    path = options.config_path or default_config_path()
    if options.config_path is None and not os.path.exists(path):
        return Config.load(None, service=service)
    return Config.load(path, service=service)


def run_service(spec: ServiceSpec, argv: list[str] | None = None) -> int:
    """Entry point shared by imapd, pop3d and lmtpd."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        options = parse_options(spec, argv)
    except UsageError as exc:
        print(f"{spec.name}: {exc}\nusage: {spec.name} [-C imapd.conf] [-U uses] [-T timeout] [-s] "
              f"[-p ssf] [-D]{' [-N]' if spec.has_password else ''} {spec.usage}", file=sys.stderr)
        return EX_USAGE
    under_master = started_by_master()
    os.umask(0o077)                 # mail and indexes are private to the mail user, as in Cyrus
    log.setup(spec.name, debug=options.debug)
    try:
        config = load_worker_config(spec, options)
    except ConfigError as exc:
        log.error(f"{exc}")
        return EX_CONFIG
    log.setup(spec.name, prefix=config.getstr("syslog_prefix"), facility=config.getstr("syslog_facility"),
              debug=options.debug)
    for warning in config.warnings:
        log.debug(warning)
    if under_master:
        from pillarbox.template import serve_as_template, template_requested
        if template_requested():
            serve_as_template(spec.name, spec.preload, lambda: _run_worker(spec, config, options))
        else:
            _run_worker(spec, config, options)
    else:
        serve_connection(spec, config, options, Connection.from_stdio())
    return 0
