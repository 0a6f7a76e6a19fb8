"""master(8): pillarbox's supervisor.

    master [-C imapd.conf|cyrus.conf] [-M cyrus.conf] [-p pidfile] [-r ready_file]
           [-l backlog] [-d | -D] [-L logfile]

Start-up order: read both files (fail before binding anything), open every
listener, daemonise (-d), write the pid file, drop root privileges, run START
to completion, start DAEMONs, fork the preforked workers, then supervise.
"""

from __future__ import annotations

import fcntl
import getopt
import os
import sys
import tempfile

from master.cyrusconf import CyrusConf, CyrusConfError, load_cyrus_conf, looks_like_cyrus_conf
from master.listeners import DEFAULT_BACKLOG, ListenError
from master.privileges import PrivilegeError, drop_privileges
from master.spawn import become_subreaper, child_path
from master.supervisor import StartupError, Supervisor
from pillarbox import log
from pillarbox.config import Config, ConfigError, default_config_path
from pillarbox.masterproto import ENV_CONFIG, ENV_LOG
from pillarbox.proctitle import set_title

DEFAULT_CYRUS_CONF = "/etc/cyrus.conf"
USAGE = ("usage: master [-C imapd.conf|cyrus.conf] [-M cyrus.conf] [-p pidfile] [-r ready_file]\n"
         "              [-l backlog] [-d | -D] [-L logfile]")


class MasterError(Exception):
    """Anything that stops master before it runs; the message is for the admin."""


class Options:
    def __init__(self) -> None:
        self.config_args: list[str] = []      # every -C (one or two)
        self.cyrus_conf: str | None = None    # -M
        self.pidfile: str | None = None
        self.ready_file: str | None = None
        self.backlog = DEFAULT_BACKLOG
        self.daemonize = False
        self.debug = False
        self.logfile: str | None = None


def parse_args(argv: list[str]) -> Options:
    try:
        pairs, rest = getopt.getopt(argv, "C:M:p:r:l:dDL:j:")
    except getopt.GetoptError as exc:
        raise MasterError(f"{exc}\n{USAGE}") from exc
    if rest:
        raise MasterError(f"unexpected argument {rest[0]!r}\n{USAGE}")
    options = Options()
    for flag, value in pairs:
        _apply(options, flag, value)
    if options.daemonize and options.debug:
        raise MasterError("-d and -D cannot be used together")
    return options


_PATH_FLAGS = {"-M": "cyrus_conf", "-p": "pidfile", "-r": "ready_file", "-L": "logfile"}
_SWITCHES = {"-d": "daemonize", "-D": "debug"}


def _apply(options: Options, flag: str, value: str) -> None:
    if flag == "-C":
        options.config_args.append(value)
    elif flag in _PATH_FLAGS:
        setattr(options, _PATH_FLAGS[flag], value)
    elif flag in _SWITCHES:
        setattr(options, _SWITCHES[flag], True)
    elif flag == "-l":
        if not value.isdigit() or int(value) < 1:
            raise MasterError(f"-l needs a positive number, not {value!r}")
        options.backlog = int(value)
    # -j (Cyrus's janitor rate) is accepted and has nothing to tune here


def resolve_config_files(options: Options) -> tuple[str | None, str]:
    """(imapd.conf or None, cyrus.conf). `-C` may name either file: Cyrus uses
    -C for imapd.conf and -M for cyrus.conf, our users write `master -C cyrus.conf`.
    The formats cannot be confused: `key: value` lines vs `NAME {` blocks."""
    imapd_conf = None
    cyrus_conf = options.cyrus_conf
    for path in options.config_args:
        if _is_cyrus_conf(path):
            if cyrus_conf is not None:
                raise MasterError(f"{path} is a cyrus.conf, but {cyrus_conf} was already given as one")
            cyrus_conf = path
        else:
            if imapd_conf is not None:
                raise MasterError(f"two imapd.conf files given: {imapd_conf} and {path}")
            imapd_conf = path
    if imapd_conf is None:
        fallback = default_config_path()
        imapd_conf = fallback if os.path.exists(fallback) else None
    return imapd_conf, cyrus_conf or DEFAULT_CYRUS_CONF


def _is_cyrus_conf(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return looks_like_cyrus_conf(handle.read())
    except OSError as exc:
        raise MasterError(f"cannot read {path}: {exc.strerror}") from exc


def choose_log_destination(options: Options) -> str:
    """-L file or -D: stderr. A foreground master on a terminal: stderr too,
    so `make run` shows its log. Otherwise syslog where /dev/log exists."""
    if options.logfile or options.debug:
        return log.STDERR
    if not options.daemonize and sys.stderr.isatty():
        return log.STDERR
    return log.default_destination()


def redirect_output(logfile: str) -> None:
    fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


class PidFile:
    """A pid file that is also a lock: a second master on it refuses to start."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise MasterError(f"another master is running (pid {other or '?'}, pid file {self.path})")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


def child_environment(imapd_conf: str | None, destination: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = child_path()
    env[ENV_LOG] = destination
    if imapd_conf:
        env[ENV_CONFIG] = os.path.abspath(imapd_conf)
    return env


def load_configs(options: Options) -> tuple[Config, str | None, CyrusConf, str]:
    imapd_conf, cyrus_path = resolve_config_files(options)
    try:
        config = Config.load(imapd_conf, service="master")
        conf = load_cyrus_conf(cyrus_path)
    except (ConfigError, CyrusConfError) as exc:
        raise MasterError(str(exc)) from exc
    return config, imapd_conf, conf, cyrus_path


def lock_directory(config: Config) -> tuple[str, bool]:
    """Where accept locks live: {configdirectory}/socket, or a private temp dir."""
    configdir = config.getpath("configdirectory")
    if configdir:
        path = os.path.join(configdir, "socket")
        os.makedirs(path, exist_ok=True)
        return path, False
    return tempfile.mkdtemp(prefix="pillarbox-master-"), True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(parse_args(argv))
    except MasterError as exc:
        log.error(str(exc))
        return 1


def _main(options: Options) -> int:
    destination = choose_log_destination(options)
    if options.daemonize and destination == log.STDERR and not options.logfile:
        raise MasterError("-d needs somewhere to log: there is no syslog (/dev/log) here, so give -L logfile")
    if options.logfile:
        redirect_output(options.logfile)
    log.setup("master", destination=destination, debug=options.debug)
    config, imapd_conf, conf, cyrus_path = load_configs(options)
    log.setup("master", prefix=config.getstr("syslog_prefix"), facility=config.getstr("syslog_facility"),
              destination=destination, debug=options.debug)
    for warning in config.warnings:
        log.warning(warning)
    set_title("master", "starting", cyrus_path)
    if options.ready_file:
        _remove_stale(options.ready_file)
    lock_dir, temporary_locks = lock_directory(config)
    supervisor = Supervisor(conf, os.path.abspath(cyrus_path), child_environment(imapd_conf, destination),
                            lock_dir, options.backlog, ready_file=options.ready_file,
                            use_templates=config.getbool("worker_templates"))
    try:
        supervisor.open_listeners()
    except ListenError as exc:
        raise MasterError(str(exc)) from exc
    if options.daemonize:
        _daemonize(supervisor, options)
    pidfile = PidFile(options.pidfile or os.path.join(lock_dir if temporary_locks else
                                                      os.path.dirname(lock_dir), "master.pid"))
    try:
        pidfile.acquire()
        drop_privileges(config.getstr("cyrus_user"), config.getstr("cyrus_group"), [lock_dir])
        if supervisor.use_templates and not become_subreaper():
            log.warning("master: cannot become a child subreaper; workers are exec'd, not forked from templates")
            supervisor.use_templates = False
        supervisor.install_signals()
        supervisor.run_start_entries()
        supervisor.start_daemons()
        if supervisor.use_templates:
            supervisor.start_templates()
        return supervisor.run()
    except (StartupError, PrivilegeError) as exc:
        supervisor.close_listeners()
        raise MasterError(str(exc)) from exc
    finally:
        pidfile.release()
        if temporary_locks:
            _remove_tree(lock_dir)


def _daemonize(supervisor: Supervisor, options: Options) -> None:
    import daemon

    keep = [pool.listener.fileno() for pool in supervisor.pools.values()]
    keep += supervisor.internal_fds()
    context = daemon.DaemonContext(
        working_directory=os.getcwd(),      # relative paths in the configs keep their meaning
        umask=0o027,
        files_preserve=keep,
        stdout=sys.stdout if options.logfile else None,
        stderr=sys.stderr if options.logfile else None,
        detach_process=True,
        signal_map={},
    )
    context.open()


def _remove_stale(path: str) -> None:
    """A ready file left by an earlier run must not announce this one."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_tree(path: str) -> None:
    for name in os.listdir(path):
        try:
            os.unlink(os.path.join(path, name))
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
