"""AUTH mechanism [initial-response] (RFC 5034): SASL PLAIN, LOGIN, SCRAM-SHA-256.

Challenges go out as "+ base64"; the client answers with a base64 line,
"*" to cancel, or "=" for an empty initial response. SCRAM's final server
message is sent as one more challenge, answered by an empty line (POP3 has
no success-with-data). "AUTH" alone lists the mechanisms, the older
discovery some clients (Outlook) still use.

With popsubfolders the folder goes in the authorization identity
(PLAIN's authzid, SCRAM's a=): "user+folder"."""

from pillarbox import sasl
from pillarbox.connection import LineTooLong
from pop3d import protocol
from pop3d.capabilities import auth_allowed, sasl_mechanisms
from pop3d.commands import args
from pop3d.errors import AUTH, Err
from pop3d.login import open_maildrop
from pop3d.subfolders import split_login


def handle(server, command):
    if not auth_allowed(server):
        raise Err("authentication is disabled until STLS", AUTH)
    if not command.args:
        return protocol.multiline("SASL mechanisms follow", sasl_mechanisms(server))
    args.count(command, 1, 2, "AUTH mechanism [initial-response]")
    name = command.args[0].upper()
    if name not in sasl_mechanisms(server):
        if name in sasl.PLAINTEXT_MECHANISMS and name in sasl.MECHANISMS:
            raise Err(f"{name} is disabled until STLS", AUTH)
        raise Err(f"unsupported SASL mechanism {protocol.printable(name, 20)}")
    mechanism = sasl.new_mechanism(name, server.config, bypass_password=server.session.options.no_password)
    try:
        initial = command.args[1].encode("utf-8", "surrogateescape") if len(command.args) == 2 else None
        identity = sasl.exchange(mechanism, sasl.decode_response(initial) if initial is not None else None,
                                 lambda challenge: _send_challenge(server, challenge),
                                 lambda: server.conn.readline(server.max_sasl_line))
        authzid, folder = split_login(server.config, identity.authzid)
        user = sasl.authorize(server.config, sasl.Identity(identity.authcid, authzid))
    except sasl.SaslError as error:
        if "cancelled" in str(error):
            raise Err("authentication cancelled") from None
        server.count_login_failure(sasl.who(mechanism), name, str(error))
        raise Err("authentication failed", AUTH) from None
    except LineTooLong:
        raise Err("SASL response line too long", AUTH) from None
    return open_maildrop(server, user, folder, name)


def _send_challenge(server, challenge: bytes) -> None:
    server.send(protocol.continuation(challenge))
    server.flush()
