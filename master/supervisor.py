"""master's event loop: worker pools, DAEMONs, EVENTS, signals.

Bookkeeping follows Cyrus's master.c. A pool counts its `ready` workers
(a newly forked worker counts as ready at once, so a burst of connections
does not fork a crowd) and its `active` ones. master watches a service's
listening socket only while that service has no ready worker and may fork
another: then a pending connection means "fork one now". With maxchild
reached, connections wait in the kernel's listen queue until a worker frees.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime

from master import spawn as spawning
from master.cyrusconf import (CyrusConf, CyrusConfError, DaemonEntry, EventEntry, ServiceEntry,
                              load_cyrus_conf)
from master.listeners import ListenError, close_listener, listener_key, open_listener
from master.schedule import next_run
from pillarbox.template import read_pid
from pillarbox import log
from pillarbox.masterproto import (ENV_ACCEPT_LOCK, ENV_MASTER_PID, ENV_SERVICE, ENV_TEMPLATE, FORK_REQUEST,
                                   LISTEN_FD, READY_LINE, STATUS_FD, TEMPLATE_FD, TEMPLATE_READY, Status,
                                   decode_statuses)
from pillarbox.proctitle import set_title

FAILURE_LIMIT = 5                # failed starts within FAILURE_WINDOW disable a service
FAILURE_WINDOW = 10.0
SHUTDOWN_GRACE = 10.0            # seconds between SIGTERM and SIGKILL at shutdown
READY_WAIT = 15.0                # how long -r waits for the first workers to report
DAEMON_WAIT = 60.0               # how long a wait=y DAEMON has to say "ok"
BABYSIT_FORKRATE = 10
TEMPLATE_REPLY_WAIT = 2.0        # seconds a template has to answer a fork request


@dataclass
class Template:
    """A pre-imported process that forks this pool's workers on request."""
    pid: int
    control: int                 # our end of the control socket
    ready: bool = False


@dataclass
class Child:
    pid: int
    kind: str                    # "service" | "template" | "daemon" | "event"
    name: str
    pool: "Pool | None" = None
    state: str = "ready"          # services: "ready" | "busy"
    reported: bool = False
    retiring: bool = False
    started: float = field(default_factory=time.monotonic)


class Pool:
    """The workers of one SERVICES entry."""

    def __init__(self, entry: ServiceEntry, listener: socket.socket, lock_path: str):
        self.entry = entry
        self.listener = listener
        self.lock_path = lock_path
        self.ready = 0
        self.active = 0
        self.connections = 0
        self.forks: collections.deque[float] = collections.deque()
        self.failures: collections.deque[float] = collections.deque()
        self.disabled = False
        self.template: Template | None = None
        self.templates_unsupported = False

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def wanted_ready(self) -> int:
        return max(self.entry.prefork, 1 if self.entry.babysit else 0)

    @property
    def forkrate(self) -> int:
        rate = self.entry.maxforkrate
        return BABYSIT_FORKRATE if rate == 0 and self.entry.babysit else rate

    def below_maxchild(self) -> bool:
        return self.entry.maxchild < 0 or self.active < self.entry.maxchild

    def fork_allowed_at(self, now: float) -> float:
        """When the next fork fits maxforkrate (now, if it does already)."""
        while self.forks and now - self.forks[0] >= 1.0:
            self.forks.popleft()
        if self.forkrate and len(self.forks) >= self.forkrate:
            return self.forks[0] + 1.0
        return now

    def may_fork(self, now: float) -> bool:
        return not self.disabled and self.below_maxchild() and self.fork_allowed_at(now) <= now

    def record_failure(self, now: float) -> bool:
        """Count a worker that died before serving; True if the service must stop."""
        self.failures.append(now)
        while self.failures and now - self.failures[0] > FAILURE_WINDOW:
            self.failures.popleft()
        return len(self.failures) >= FAILURE_LIMIT


@dataclass
class DaemonState:
    entry: DaemonEntry
    pid: int | None = None
    restart_at: float = 0.0
    quick_deaths: int = 0


class StartupError(Exception):
    pass


class Supervisor:
    def __init__(self, conf: CyrusConf, cyrus_conf_path: str, child_env: dict[str, str],
                 lock_dir: str, backlog: int, ready_file: str | None = None, use_templates: bool = True):
        self.conf = conf
        self.cyrus_conf_path = cyrus_conf_path
        self.child_env = child_env
        self.lock_dir = lock_dir
        self.backlog = backlog
        self.ready_file = ready_file
        self.use_templates = use_templates
        self.pools: dict[str, Pool] = {}
        self.children: dict[int, Child] = {}
        self.daemons: dict[str, DaemonState] = {}
        self.event_times: dict[str, tuple[EventEntry, datetime | None, datetime]] = {}
        self.stopping = False
        self.ready_written = False
        self.ready_deadline = 0.0
        self._status_r, self._status_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._status_buffer = b""
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    # ------------------------------------------------------------ start-up

    def open_listeners(self) -> None:
        """Bind every service before anything else runs; fail whole on any error."""
        try:
            for entry in self.conf.services:
                self.pools[entry.name] = self._new_pool(entry)
        except ListenError:
            self.close_listeners()
            raise

    def _new_pool(self, entry: ServiceEntry, listener: socket.socket | None = None) -> Pool:
        sock = listener or open_listener(entry, self.backlog)
        lock_path = os.path.join(self.lock_dir, f"{entry.name}.lock")
        return Pool(entry, sock, lock_path)

    def internal_fds(self) -> list[int]:
        return [self._status_r, self._status_w, self._wake_r, self._wake_w]

    def close_listeners(self) -> None:
        for pool in self.pools.values():
            close_listener(pool.listener, pool.entry)

    def install_signals(self) -> None:
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in (signal.SIGCHLD, signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(signum, lambda *_: None)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def run_start_entries(self) -> None:
        for entry in self.conf.start:
            log.info(f"START {entry.name}: running {' '.join(entry.cmd)}")
            pid = spawning.spawn(entry.cmd, self._env(), death_signal=signal.SIGTERM)
            _, status = _wait_blocking(pid)
            if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                raise StartupError(f"START entry '{entry.name}' ({' '.join(entry.cmd)}) failed: "
                                   f"{describe_exit(status)}")

    def start_daemons(self) -> None:
        for entry in self.conf.daemons:
            state = self.daemons[entry.name] = DaemonState(entry)
            self._spawn_daemon(state, wait=entry.wait)

    def start_templates(self, limit: float = 5.0) -> None:
        """Start every pool's template and give them a moment to import, so
        even the first preforked workers are forked rather than exec'd."""
        for pool in self.pools.values():
            self._maybe_start_template(pool)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            waiting = {p.template.control: p for p in self.pools.values() if p.template and not p.template.ready}
            if not waiting:
                return
            readable, _, _ = select.select(list(waiting), [], [], max(0.0, deadline - time.monotonic()))
            for fd in readable:
                pool = waiting[fd]
                if pool.template is not None and pool.template.control == fd:
                    self._template_spoke(pool)
            self._read_statuses()          # a cmd without template support reports as a worker

    def run(self) -> int:
        self.ready_deadline = time.monotonic() + READY_WAIT
        self._schedule_events(self.conf.events)
        log.info(f"master ready: {self._summary()}")
        while not self.stopping:
            try:
                self._tick()
            except Exception:       # a bug must not take every service down with master
                import traceback
                log.critical("master: internal error, continuing: " +
                             " | ".join(traceback.format_exc().strip().splitlines()))
                time.sleep(0.1)
        return self._shutdown()

    # ------------------------------------------------------------ the loop

    def _tick(self) -> None:
        now = time.monotonic()
        self._replenish(now)
        self._run_due_events()
        self._restart_daemons(now)
        self._maybe_write_ready()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        poller.register(self._status_r, select.POLLIN)
        on_demand, starting = {}, {}
        for pool in self.pools.values():
            if pool.ready == 0 and pool.may_fork(now):
                poller.register(pool.listener.fileno(), select.POLLIN)
                on_demand[pool.listener.fileno()] = pool
            if pool.template is not None and not pool.template.ready:
                poller.register(pool.template.control, select.POLLIN)
                starting[pool.template.control] = pool
        for fd, _ in poller.poll(self._poll_timeout(now) * 1000):
            if fd == self._wake_r:
                self._handle_signals()
            elif fd == self._status_r:
                self._read_statuses()
            elif fd in starting:
                pool = starting[fd]
                if pool.template is not None and pool.template.control == fd:
                    self._template_spoke(pool)
            elif fd in on_demand and on_demand[fd].ready == 0 and not self.stopping:
                self._spawn_worker(on_demand[fd])
        self._read_statuses()

    def _poll_timeout(self, now: float) -> float:
        deadlines = [now + min(1.0, max(0.0, self.seconds_to_next_event()))]
        for pool in self.pools.values():
            if pool.ready < pool.wanted_ready and not pool.disabled:
                deadlines.append(pool.fork_allowed_at(now))
        for state in self.daemons.values():
            if state.pid is None:
                deadlines.append(state.restart_at)
        return max(0.0, min(deadlines) - now)

    def _replenish(self, now: float) -> None:
        for pool in self.pools.values():
            while pool.ready < pool.wanted_ready and pool.may_fork(now):
                self._spawn_worker(pool)

    # ------------------------------------------------------------ workers

    def _worker_env(self, pool: Pool) -> dict[str, str]:
        env = self._env()
        env[ENV_SERVICE] = pool.name
        env[ENV_ACCEPT_LOCK] = pool.lock_path
        return env

    def _spawn_worker(self, pool: Pool) -> None:
        pid = self._fork_from_template(pool)
        if pid is None:
            self._maybe_start_template(pool)
            try:
                pid = spawning.spawn(pool.entry.cmd, self._worker_env(pool),
                                     fds={STATUS_FD: self._status_w, LISTEN_FD: pool.listener.fileno()},
                                     maxfds=pool.entry.maxfds)
            except OSError as exc:
                log.error(f"service {pool.name}: fork failed: {exc}")
                pool.forks.append(time.monotonic())
                return
        pool.forks.append(time.monotonic())
        pool.ready += 1
        pool.active += 1
        self.children[pid] = Child(pid, "service", pool.name, pool=pool)
        log.debug(f"service {pool.name}: forked worker {pid} ({pool.ready} ready, {pool.active} active)")

    # ------------------------------------------------------------ templates

    def _maybe_start_template(self, pool: Pool) -> None:
        if not self.use_templates or pool.templates_unsupported or pool.template is not None or self.stopping:
            return
        ours, theirs = socket.socketpair()
        env = self._worker_env(pool)
        env[ENV_TEMPLATE] = "1"
        env[ENV_MASTER_PID] = str(os.getpid())
        try:
            pid = spawning.spawn(pool.entry.cmd, env, maxfds=pool.entry.maxfds,
                                 fds={STATUS_FD: self._status_w, LISTEN_FD: pool.listener.fileno(),
                                      TEMPLATE_FD: theirs.fileno()})
        except OSError as exc:
            log.warning(f"service {pool.name}: cannot start a template ({exc}); forking workers by exec")
            ours.close()
            return
        finally:
            theirs.close()
        control = ours.detach()
        os.set_inheritable(control, False)
        pool.template = Template(pid, control)
        self.children[pid] = Child(pid, "template", pool.name, pool=pool)

    def _template_spoke(self, pool: Pool) -> None:
        template = pool.template
        try:
            said = os.read(template.control, 1)
        except OSError:
            said = b""
        if said == TEMPLATE_READY:
            template.ready = True
            log.debug(f"service {pool.name}: template pid {template.pid} ready")
        else:
            self._drop_template(pool)

    def _fork_from_template(self, pool: Pool) -> int | None:
        template = pool.template
        if template is None or not template.ready:
            return None
        try:
            os.write(template.control, FORK_REQUEST)
            readable, _, _ = select.select([template.control], [], [], TEMPLATE_REPLY_WAIT)
            pid = read_pid(template.control) if readable else -1
        except OSError:
            pid = -1
        if pid <= 0:
            log.warning(f"service {pool.name}: template pid {template.pid} did not fork; replacing it")
            self._drop_template(pool)
            return None
        return pid

    def _drop_template(self, pool: Pool) -> None:
        template = pool.template
        if template is None:
            return
        pool.template = None
        try:
            os.close(template.control)
        except OSError:
            pass
        _kill(template.pid, signal.SIGTERM)

    def _read_statuses(self) -> None:
        while True:
            try:
                data = os.read(self._status_r, 4096)
            except BlockingIOError:
                return
            if not data:
                return
            records, self._status_buffer = decode_statuses(self._status_buffer + data)
            for status, pid in records:
                self._apply_status(status, pid)

    def _apply_status(self, status, pid: int) -> None:
        child = self.children.get(pid)
        if child is None or child.pool is None:
            return
        if child.kind == "template":
            self._template_is_a_worker(child)
        child.reported = True
        if child.retiring:
            return
        pool = child.pool
        if status == Status.AVAILABLE and child.state != "ready":
            child.state = "ready"
            pool.ready += 1
        elif status == Status.UNAVAILABLE and child.state == "ready":
            child.state = "busy"
            pool.ready -= 1
        elif status == Status.CONNECTION:
            pool.connections += 1
        elif not isinstance(status, Status):
            log.warning(f"service {pool.name}: worker {pid} sent unknown status {status}")

    def _template_is_a_worker(self, child: Child) -> None:
        """The cmd ignored PILLARBOX_TEMPLATE and serves as an ordinary worker:
        count it as one, and fork this service's workers by exec from now on."""
        pool = child.pool
        pool.templates_unsupported = True
        if pool.template is not None and pool.template.pid == child.pid:
            try:
                os.close(pool.template.control)
            except OSError:
                pass
            pool.template = None
        child.kind = "service"
        child.state = "busy"
        pool.active += 1
        log.info(f"service {pool.name}: {' '.join(pool.entry.cmd)} does not fork from a template; using exec")

    def _retire(self, child: Child) -> None:
        """Ask a worker to leave: now if idle, after its session if busy."""
        if child.retiring or child.pool is None:
            return
        pool = child.pool
        if child.state == "ready":
            pool.ready -= 1
        pool.active -= 1
        child.retiring = True
        _kill(child.pid, signal.SIGHUP)

    # ------------------------------------------------------------ children exiting

    def _handle_signals(self) -> None:
        try:
            data = os.read(self._wake_r, 512)
        except BlockingIOError:
            return
        for signum in dict.fromkeys(data):
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum == signal.SIGHUP:
                self.reload()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                log.info(f"master: {signal.Signals(signum).name} received, shutting down")
                self.stopping = True
            elif signum == signal.SIGUSR1:
                self._log_state()

    def _reap(self) -> None:
        # a child's last status records were written before it died: apply them first
        self._read_statuses()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._child_exited(pid, status)

    def _child_exited(self, pid: int, status: int) -> None:
        child = self.children.pop(pid, None)
        if child is None:
            return
        if child.kind == "service":
            self._worker_exited(child, status)
        elif child.kind == "template":
            if child.pool is not None and child.pool.template is not None and child.pool.template.pid == child.pid:
                self._drop_template(child.pool)
                if not self.stopping and not _clean_exit(status):
                    log.warning(f"service {child.name}: template pid {child.pid} {describe_exit(status)}")
        elif child.kind == "daemon":
            self._daemon_exited(child, status)
        elif not _clean_exit(status):
            log.warning(f"event {child.name} pid {pid}: {describe_exit(status)}")

    def _worker_exited(self, child: Child, status: int) -> None:
        pool = child.pool
        abnormal = not _clean_exit(status)
        told_to_go = child.retiring and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGHUP
        if abnormal and not self.stopping and not told_to_go:
            log.warning(f"service {child.name} pid {child.pid} in {child.state.upper()} state: "
                        f"terminated abnormally ({describe_exit(status)})")
        if child.retiring or pool is None:
            return
        if child.state == "ready":
            pool.ready -= 1
        pool.active -= 1
        if abnormal and (child.state == "ready" or not child.reported) and pool.record_failure(time.monotonic()):
            pool.disabled = True
            log.error(f"service {pool.name}: too many failures ({FAILURE_LIMIT} in {FAILURE_WINDOW:.0f}s), "
                      f"disabling until next SIGHUP; check its cmd and the log above")

    # ------------------------------------------------------------ DAEMON entries

    def _spawn_daemon(self, state: DaemonState, wait: bool = False) -> None:
        entry = state.entry
        fds = {}
        ready_r = ready_w = None
        if wait:
            ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
            fds[STATUS_FD] = ready_w
        try:
            pid = spawning.spawn(entry.cmd, self._env(), fds=fds, death_signal=signal.SIGTERM)
        finally:
            if ready_w is not None:
                os.close(ready_w)
        state.pid = pid
        self.children[pid] = Child(pid, "daemon", entry.name)
        log.info(f"DAEMON {entry.name}: started pid {pid}: {' '.join(entry.cmd)}")
        if ready_r is not None:
            self._await_daemon_ready(entry, pid, ready_r)

    def _await_daemon_ready(self, entry: DaemonEntry, pid: int, ready_r: int) -> None:
        received = b""
        deadline = time.monotonic() + DAEMON_WAIT
        try:
            while READY_LINE not in received:
                remaining = deadline - time.monotonic()
                readable, _, _ = select.select([ready_r], [], [], max(0.0, remaining))
                if not readable:
                    raise StartupError(f"DAEMON '{entry.name}' did not report ready within {DAEMON_WAIT:.0f}s")
                chunk = os.read(ready_r, 64)
                if not chunk:
                    raise StartupError(f"DAEMON '{entry.name}' (wait=y) closed fd {STATUS_FD} or exited "
                                       f"before writing \"ok\"")
                received += chunk
        finally:
            os.close(ready_r)
        log.info(f"DAEMON {entry.name}: ready")

    def _daemon_exited(self, child: Child, status: int) -> None:
        state = self.daemons.get(child.name)
        if state is None or state.pid != child.pid:
            return
        state.pid = None
        if self.stopping:
            return
        lived = time.monotonic() - child.started
        state.quick_deaths = state.quick_deaths + 1 if lived < 10 else 0
        delay = min(60.0, 2.0 ** state.quick_deaths - 1) if state.quick_deaths else 0.0
        state.restart_at = time.monotonic() + delay
        log.warning(f"DAEMON {child.name} pid {child.pid} exited ({describe_exit(status)}); "
                    f"restarting in {delay:.0f}s")

    def _restart_daemons(self, now: float) -> None:
        for state in self.daemons.values():
            if state.pid is None and now >= state.restart_at and not self.stopping:
                try:
                    self._spawn_daemon(state)
                except OSError as exc:
                    log.error(f"DAEMON {state.entry.name}: cannot start: {exc}")
                    state.restart_at = now + 10

    # ------------------------------------------------------------ EVENTS

    def _schedule_events(self, events: tuple[EventEntry, ...]) -> None:
        """Unchanged events keep their schedule across a reload; new ones start now
        (so a period= event runs at once, as in Cyrus)."""
        now = datetime.now()
        previous = self.event_times
        self.event_times = {}
        for event in events:
            kept = previous.get(event.name)
            if kept is not None and kept[0] == event:
                self.event_times[event.name] = kept
            else:
                self.event_times[event.name] = (event, next_run(event, None, now), now)

    def _run_due_events(self) -> None:
        now = datetime.now()
        for name, (event, due, since) in list(self.event_times.items()):
            if due is None or due > now:
                continue
            self.event_times[name] = (event, next_run(event, max(due, now), since), since)
            try:
                pid = spawning.spawn(event.cmd, self._env(), death_signal=signal.SIGTERM)
            except OSError as exc:
                log.error(f"event {name}: cannot start: {exc}")
                continue
            self.children[pid] = Child(pid, "event", name)
            log.info(f"event {name}: started pid {pid}: {' '.join(event.cmd)}")

    def seconds_to_next_event(self) -> float:
        now = datetime.now()
        dues = [due for _, due, _ in self.event_times.values() if due is not None]
        return min(((d - now).total_seconds() for d in dues), default=60.0)

    # ------------------------------------------------------------ SIGHUP

    def reload(self) -> None:
        log.info(f"master: SIGHUP, rereading {self.cyrus_conf_path}")
        try:
            conf = load_cyrus_conf(self.cyrus_conf_path)
        except CyrusConfError as exc:
            log.error(f"master: keeping the running configuration: {exc}")
            return
        self._reload_services(conf)
        self._reload_daemons(conf)
        self._schedule_events(conf.events)
        self.conf = conf
        log.info(f"master: configuration reloaded: {self._summary()}")

    def _reload_services(self, conf: CyrusConf) -> None:
        old_pools = self.pools
        reusable = {listener_key(p.entry): p for p in old_pools.values()}
        new_pools: dict[str, Pool] = {}
        for entry in conf.services:
            donor = reusable.pop(listener_key(entry), None)
            try:
                new_pools[entry.name] = self._new_pool(entry, donor.listener if donor else None)
            except ListenError as exc:
                log.error(f"master: {exc}; service '{entry.name}' not started")
                continue
            if donor is None or donor.entry != entry:
                log.info(f"master: service {entry.name} {'changed' if entry.name in old_pools else 'added'}"
                         f" ({entry.listen})")
        for name, pool in old_pools.items():
            if name not in new_pools:
                log.info(f"master: service {name} removed")
        for key, pool in reusable.items():
            close_listener(pool.listener, pool.entry)
        for child in self.children.values():
            if child.kind == "service":
                self._retire(child)
        for pool in old_pools.values():
            self._drop_template(pool)          # new workers must start from the new config
        self.pools = new_pools

    def _reload_daemons(self, conf: CyrusConf) -> None:
        wanted = {entry.name: entry for entry in conf.daemons}
        for name, state in list(self.daemons.items()):
            if wanted.get(name) != state.entry:
                if state.pid is not None:
                    _kill(state.pid, signal.SIGTERM)
                del self.daemons[name]
        for name, entry in wanted.items():
            if name not in self.daemons:
                self.daemons[name] = DaemonState(entry)

    # ------------------------------------------------------------ shutdown

    def _shutdown(self) -> int:
        set_title("master", "shutting down")
        self.close_listeners()
        for child in list(self.children.values()):
            _kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while self.children and time.monotonic() < deadline:
            self._reap()
            if self.children:
                time.sleep(0.02)
        for child in list(self.children.values()):
            log.warning(f"master: {child.kind} {child.name} pid {child.pid} ignored SIGTERM; killing it")
            _kill(child.pid, signal.SIGKILL)
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.children.pop(pid, None)
        log.info("master: all children stopped, exiting")
        return 0

    # ------------------------------------------------------------ helpers

    def _env(self) -> dict[str, str]:
        return dict(self.child_env)

    def _maybe_write_ready(self) -> None:
        if self.ready_written:
            return
        pending = [c for c in self.children.values() if c.kind == "service" and not c.reported]
        if pending and time.monotonic() < self.ready_deadline:
            return
        self.ready_written = True
        if pending:
            log.warning(f"master: {len(pending)} workers have not reported after {READY_WAIT:.0f}s")
        if self.ready_file:
            with open(self.ready_file, "w") as handle:
                handle.write(f"{os.getpid()}\n")
        set_title("master", "running", self.cyrus_conf_path)

    def _summary(self) -> str:
        parts = [f"{p.name} on {p.entry.listen} (prefork {p.entry.prefork})" for p in self.pools.values()]
        return ", ".join(parts) or "no services"

    def _log_state(self) -> None:
        for pool in self.pools.values():
            log.info(f"state: service {pool.name} on {pool.entry.listen}: ready={pool.ready} "
                     f"active={pool.active} connections={pool.connections}"
                     f"{' DISABLED' if pool.disabled else ''}")
        for child in self.children.values():
            log.info(f"state: pid {child.pid} {child.kind} {child.name} {child.state}"
                     f"{' retiring' if child.retiring else ''}")


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_blocking(pid: int) -> tuple[int, int]:
    while True:
        try:
            return os.waitpid(pid, 0)
        except InterruptedError:
            continue


def _clean_exit(status: int) -> bool:
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        return f"killed by signal {signum} ({name})"
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    return f"wait status {status}"
