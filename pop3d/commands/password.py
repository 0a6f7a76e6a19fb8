"""PASS string: the password for the name USER gave; the rest of the line,
spaces included (RFC 1939 section 7)."""

from pillarbox.auth import AuthConfigError, check_password
from pop3d.capabilities import plaintext_allowed
from pop3d.errors import AUTH, SYS_PERM, Err
from pop3d.login import open_maildrop
from pop3d.subfolders import split_login


def handle(server, command):
    if not command.rest:
        raise Err("missing argument: PASS password")
    name, server.given_user = server.given_user, None
    if name is None:
        raise Err("send USER first")
    if not plaintext_allowed(server):
        raise Err("plaintext authentication is disabled until STLS", AUTH)
    user, folder = split_login(server.config, name)
    try:
        good = server.session.options.no_password or check_password(server.config, user, command.rest)
    except AuthConfigError as error:
        server.session.login_failed(user, "USER", str(error))
        raise Err("authentication is not configured on this server", SYS_PERM) from None
    if not good:
        server.count_login_failure(user, "USER", "authentication failed")
        raise Err("invalid user name or password", AUTH)
    return open_maildrop(server, user, folder, "USER")
