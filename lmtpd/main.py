"""lmtpd(8): LMTP delivery, one connection per process.

    lmtpd [-C imapd.conf] [-U uses] [-T timeout] [-s] [-p ssf] [-D] [-a]

-a preauthorises connections on internet sockets (as Cyrus's lmtpd -a);
UNIX-socket connections are always preauthorised. The protocol lives in
lmtpd.protocol (syntax), lmtpd.data (the DATA stream), lmtpd.machine (the
state machine), lmtpd.policy/recipients/folders/delivery/duplicate (what
the admin decides and the store), lmtpd.session (the I/O).
"""

from __future__ import annotations

import sys

from pillarbox.service import ServiceSpec, run_service


def _serve(session) -> None:
    from lmtpd.session import serve
    serve(session)


def _preload() -> None:
    """Everything a session may need, imported once in the template."""
    from pillarbox.template import preload_packages
    preload_packages("lmtpd", "pillarbox")


_SPEC_ARGS = dict(serve=_serve, has_password=False, extra_options="a", usage="[-a]")
try:
    SPEC = ServiceSpec("lmtpd", preload=_preload, **_SPEC_ARGS)
except TypeError:          # a runtime without worker templates
    SPEC = ServiceSpec("lmtpd", **_SPEC_ARGS)


def main(argv: list[str] | None = None) -> int:
    return run_service(SPEC, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
