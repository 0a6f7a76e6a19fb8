"""A tiny service on pillarbox's worker runtime, for master's own tests.

Greets with "HELLO <pid>", then per line: QUIT, CRASH (kill -9 itself),
LOGIN <user> (logs a login), FAIL <user>, NOOP, or anything else echoed back.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pillarbox.service import ServiceSpec, run_service  # noqa: E402


def serve(session):
    conn = session.conn
    closed = session.shutdown_message()
    if closed:
        conn.write(f"BYE {closed}\r\n".encode())
        return
    greeting = f"HELLO {os.getpid()}\r\n"
    motd = session.motd()
    if motd:
        greeting += f"ALERT {motd}\r\n"
    conn.write(greeting.encode())
    while True:
        line = conn.readline(4096)
        words = line.decode().split()
        session.commands += 1
        verb = words[0].upper() if words else ""
        session.title(verb)
        if verb == "QUIT":
            conn.write(b"BYE\r\n")
            return
        if verb == "CRASH":
            os.kill(os.getpid(), signal.SIGKILL)
        if verb == "LOGIN":
            session.login_succeeded(words[1], "TEST")
            conn.write(b"OK\r\n")
        elif verb == "FAIL":
            session.login_failed(words[1], "TEST", "bad password")
            conn.write(b"NO\r\n")
        else:
            conn.write(b"ECHO " + line)


if __name__ == "__main__":
    sys.exit(run_service(ServiceSpec("echo", serve=serve)))
