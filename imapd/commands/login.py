from imapd import args
from imapd.capabilities import listing
from imapd.errors import No
from pillarbox.auth import AuthConfigError, check_password


def handle(server, command):
    args.count(command.args, 2, usage="LOGIN user password")
    user, password = args.text(command.args[0], "user name"), args.text(command.args[1], "password")
    if not server.session.plaintext_allowed():
        server.login_failed(user, "LOGIN", "plaintext login before TLS")
        raise No("LOGIN is disabled until STARTTLS", "PRIVACYREQUIRED")
    try:
        ok = server.session.options.no_password or check_password(server.config, user, password)
    except AuthConfigError as error:
        server.login_failed(user, "LOGIN", str(error))
        raise No("authentication is not configured on this server", "UNAVAILABLE") from None
    if not ok:
        server.login_failed(user, "LOGIN", "authentication failed")
        raise No("invalid user name or password", "AUTHENTICATIONFAILED")
    server.login(user, "LOGIN")
    return f"{user} logged in", f"CAPABILITY {listing(server)}"
