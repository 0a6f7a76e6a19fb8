"""APOP name digest (RFC 1939 section 7): MD5 of the greeting's timestamp and
the password; see pop3d.apop for when it is offered and who can use it."""

from pop3d import apop
from pop3d.commands import args
from pop3d.errors import AUTH, Err
from pop3d.login import open_maildrop
from pop3d.subfolders import split_login


def handle(server, command):
    if server.timestamp is None:
        raise Err("APOP is not available on this server (the greeting had no timestamp)")
    args.count(command, 2, 2, "APOP name digest")
    name, digest = command.args
    user, folder = split_login(server.config, name)
    try:
        apop.verify(server.config, server.timestamp, user, digest, no_password=server.session.options.no_password)
    except apop.ApopFailed as failure:
        server.count_login_failure(user, "APOP", str(failure))
        raise Err("authentication failed", AUTH) from None
    return open_maildrop(server, user, folder, "APOP")
