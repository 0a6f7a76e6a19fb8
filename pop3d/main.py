"""pop3d(8): the POP3 server, one connection per process.

    pop3d [-C imapd.conf] [-U uses] [-T timeout] [-s] [-p ssf] [-D] [-N]

Under master it serves connections from the pool; under inetd it serves
stdin/stdout once. The protocol lives in pop3d.session and pop3d.commands.
"""

from __future__ import annotations

import sys

from pillarbox.service import ServiceSpec, run_service


def _serve(session) -> None:
    from pop3d.session import serve
    serve(session)


def _preload() -> None:
    """Everything a session may need, imported once in the template."""
    from pillarbox.template import preload_packages
    preload_packages("pop3d", "pillarbox")


SPEC = ServiceSpec("pop3d", serve=_serve, preload=_preload)


def main(argv: list[str] | None = None) -> int:
    return run_service(SPEC, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
