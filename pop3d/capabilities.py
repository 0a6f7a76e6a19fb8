"""What CAPA lists (RFC 2449 section 6, RFC 2595, RFC 3206, RFC 5034), and the greeting.

Only what works in the current state is listed: USER and SASL before login
(USER and SASL PLAIN/LOGIN only where plaintext is acceptable: TLS is up,
-p vouched for the channel, or allowplaintext: yes), STLS while TLS is
available and not yet started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pillarbox.sasl import offered_mechanisms

if TYPE_CHECKING:
    from pop3d.session import Pop3Server

VERSION = "0.1.0"
ALWAYS = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]


def auth_allowed(server: "Pop3Server") -> bool:
    """tls_required: no authentication of any kind before TLS."""
    return server.session.is_secure or not server.config.getbool("tls_required")


def plaintext_allowed(server: "Pop3Server") -> bool:
    return auth_allowed(server) and server.session.plaintext_allowed()


def sasl_mechanisms(server: "Pop3Server") -> list[str]:
    if not auth_allowed(server):
        return []
    return offered_mechanisms(server.config, plaintext_ok=server.session.plaintext_allowed())


def listing(server: "Pop3Server") -> list[str]:
    config = server.config
    caps = list(ALWAYS)
    if server.maildrop is None:
        if plaintext_allowed(server):
            caps.append("USER")
        mechanisms = sasl_mechanisms(server)
        if mechanisms:
            caps.append("SASL " + " ".join(mechanisms))
        if server.session.tls_available():
            caps.append("STLS")
    expire = config.getduration("popexpiretime")
    caps.append("EXPIRE NEVER" if expire < 0 else f"EXPIRE {int(expire // 86400)}")
    minpoll = config.getduration("popminpoll")
    if minpoll > 0:
        caps.append(f"LOGIN-DELAY {int(minpoll)}")
    implementation = _implementation(config.getstr("serverinfo"))
    if implementation:
        caps.append(f"IMPLEMENTATION {implementation}")
    return caps


def _implementation(serverinfo: str | None) -> str | None:
    if serverinfo == "off":
        return None
    return "pillarbox" if serverinfo == "min" else f"pillarbox-{VERSION}"


def greeting(server: "Pop3Server", host: str) -> str:
    """The text after +OK (serverinfo decides how much it says), and the APOP timestamp."""
    serverinfo = server.config.getstr("serverinfo")
    if serverinfo == "off":
        text = "POP3 server ready"
    elif serverinfo == "min":
        text = f"{host} POP3 server ready"
    else:
        text = f"{host} pillarbox {VERSION} POP3 server ready"
    return f"{text} {server.timestamp}" if server.timestamp else text
