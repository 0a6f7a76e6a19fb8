"""AUTHENTICATE mechanism [initial-response] (RFC 3501, SASL-IR RFC 4959)."""

import base64

from imapd import args
from imapd.capabilities import listing
from imapd.errors import Bad, No
from pillarbox import sasl
from pillarbox.auth import AuthConfigError


def handle(server, command):
    args.count(command.args, 1, 2, "AUTHENTICATE mechanism [initial-response]")
    name = args.atom(command.args[0], "mechanism").upper()
    offered = sasl.offered_mechanisms(server.config, plaintext_ok=server.session.plaintext_allowed())
    if name not in offered:
        if name in sasl.PLAINTEXT_MECHANISMS and name in sasl.MECHANISMS:
            raise No(f"{name} is disabled until STARTTLS", "PRIVACYREQUIRED")
        raise No(f"mechanism {name} is not supported", "CANNOT")
    mechanism = sasl.new_mechanism(name, server.config, bypass_password=server.session.options.no_password)
    initial = args.text(command.args[1]).encode() if len(command.args) == 2 else None
    try:
        response = sasl.decode_response(initial) if initial is not None else None
        identity = sasl.exchange(mechanism, response, lambda challenge: _send_challenge(server, challenge),
                                 lambda: server.conn.readline(server.max_line))
        user = sasl.authorize(server.config, identity)
    except AuthConfigError as error:
        server.login_failed(None, name, str(error))
        raise No("authentication is not configured on this server", "UNAVAILABLE") from None
    except sasl.SaslError as error:
        if "cancelled" in str(error):
            raise Bad("authentication cancelled") from None
        server.login_failed(sasl.who(mechanism), name, str(error))
        raise No("authentication failed", "AUTHENTICATIONFAILED") from None
    server.login(user, name, authcid=identity.authcid)
    return f"{user} authenticated", f"CAPABILITY {listing(server)}"


def _send_challenge(server, challenge: bytes) -> None:
    server.send(b"+ " + base64.b64encode(challenge) + b"\r\n")
    server.flush()
