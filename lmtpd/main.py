"""lmtpd(8): LMTP delivery, one connection per process.

    lmtpd [-C imapd.conf] [-U uses] [-T timeout] [-s] [-p ssf] [-D] [-a]
"""

from __future__ import annotations

import sys

from pillarbox.service import ServiceSpec, run_service


def _serve(session) -> None:
    from lmtpd.session import serve
    serve(session)


SPEC = ServiceSpec("lmtpd", serve=_serve, has_password=False, extra_options="a", usage="[-a]")


def main(argv: list[str] | None = None) -> int:
    return run_service(SPEC, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
