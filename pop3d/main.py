"""pop3d(8): the POP3 server, one connection per process.

    pop3d [-C imapd.conf] [-U uses] [-T timeout] [-s] [-p ssf] [-D] [-N]
"""

from __future__ import annotations

import sys

from pillarbox.service import ServiceSpec, run_service


def _serve(session) -> None:
    from pop3d.session import serve
    serve(session)


SPEC = ServiceSpec("pop3d", serve=_serve)


def main(argv: list[str] | None = None) -> int:
    return run_service(SPEC, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
