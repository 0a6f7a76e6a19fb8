"""How a POP3 command fails: -ERR with an optional RFC 2449 response code."""

from __future__ import annotations

# The response codes registered for POP3 (RFC 2449 section 8, RFC 3206).
# pop3d sends a code only where it tells the client something it can act on;
# a syntax error has no registered code and gets none (see pop3d(8)).
IN_USE = "IN-USE"              # authenticated, but another POP3 session holds the maildrop
LOGIN_DELAY = "LOGIN-DELAY"    # authenticated, but too soon after the last login (popminpoll)
SYS_TEMP = "SYS/TEMP"          # a temporary problem on the server: try again later
SYS_PERM = "SYS/PERM"          # a problem on the server that retrying will not fix
AUTH = "AUTH"                  # the credentials (or the way they were offered) were refused


class Err(Exception):
    """The command fails with `-ERR [code] text`; the session goes on."""

    def __init__(self, text: str, code: str | None = None):
        super().__init__(text)
        self.text = text
        self.code = code


class Disconnect(Exception):
    """Send `reply` (already formatted), then close the connection."""

    def __init__(self, reply: bytes):
        super().__init__(reply)
        self.reply = reply
