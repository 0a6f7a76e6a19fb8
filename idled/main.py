"""idled(8): the IDLE hibernation daemon (a DAEMON entry in cyrus.conf).

    idled [-C imapd.conf] [-D]

imapd hands it sessions that have been quiet in IDLE for imapidlehibernate
seconds (on idlesocket). idled watches each client and its mailbox; when the
client speaks or the mailbox changes it hands the session to the resume
service (imapd -R on imapresumesocket). It answers keepalives and the
autologout itself, and says BYE to every parked client when stopped.
"""

from __future__ import annotations

import getopt
import os
import signal
import sys

from pillarbox import log
from pillarbox.config import Config, ConfigError, default_config_path
from pillarbox.masterproto import READY_LINE, STATUS_FD
from pillarbox.service import EX_CONFIG, EX_USAGE


class Stop(BaseException):
    """SIGTERM or SIGINT."""


def _stop(signum, frame) -> None:
    raise Stop()


def _report_ready() -> None:
    """wait=y in cyrus.conf: master waits for "ok" on fd 3."""
    try:
        os.write(STATUS_FD, READY_LINE)
        os.close(STATUS_FD)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        pairs, rest = getopt.getopt(argv, "C:D")
        if rest:
            raise getopt.GetoptError(f"unexpected argument {rest[0]!r}")
    except getopt.GetoptError as exc:
        print(f"idled: {exc}\nusage: idled [-C imapd.conf] [-D]", file=sys.stderr)
        return EX_USAGE
    options = dict(pairs)
    debug = "-D" in options
    os.umask(0o077)
    log.setup("idled", debug=debug)
    try:
        config = Config.load(options.get("-C") or default_config_path(), service="idled")
    except ConfigError as exc:
        log.error(str(exc))
        return EX_CONFIG
    log.setup("idled", prefix=config.getstr("syslog_prefix"), facility=config.getstr("syslog_facility"),
              debug=debug)
    from idled.daemon import Idled
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    daemon = Idled(config)
    try:
        daemon.listen()
        _report_ready()
        daemon.run()
    except Stop:
        pass
    except OSError as exc:
        log.error(f"idled: {exc}")
        return 1
    finally:
        daemon.close("server shutting down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
