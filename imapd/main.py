"""imapd(8): the IMAP server, one connection per process.

    imapd [-C imapd.conf] [-U uses] [-T timeout] [-s] [-p ssf] [-D] [-N] [-R] [MAILDIR]

Under master it serves connections from the pool; under inetd it serves
stdin/stdout once; from a shell with a Maildir (argument or $MAILDIR) it
greets with PREAUTH, as Courier's imapd does. With -R its listener is the
resume socket: idled hands it hibernated IDLE sessions to carry on.
"""

from __future__ import annotations

import sys

from pillarbox.service import ServiceSpec, run_service


def _serve(session) -> None:
    from imapd.server import ImapServer
    ImapServer(session).run()


def _preload() -> None:
    """Everything a session may need, imported once in the template."""
    from pillarbox.template import preload_packages
    preload_packages("imapd", "pillarbox")
    from imapd.warmup import warm_up
    warm_up()


SPEC = ServiceSpec("imapd", serve=_serve, usage="[-R] [MAILDIR]", preload=_preload, resumes=True)


def main(argv: list[str] | None = None) -> int:
    return run_service(SPEC, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
