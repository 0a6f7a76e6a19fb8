"""CLOSE (expunge silently, then unselect) and UNSELECT (RFC 3691: just unselect)."""

from imapd import args


def handle(server, command):
    args.count(command.args, 0)
    selected = server.selected
    if command.name == "CLOSE" and not selected.readonly:
        server.store.expunge(selected.name)
    server.selected = None
    server.state = "authenticated"
