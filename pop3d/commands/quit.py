"""QUIT: in AUTHORIZATION just goodbye; in TRANSACTION the UPDATE state first
(RFC 1939 section 6): the DELE'd messages are removed, all at once or none."""

from pillarbox import log
from pillarbox.store import StoreError
from pop3d import protocol
from pop3d.commands import args
from pop3d.errors import SYS_TEMP, Disconnect


def handle(server, command):
    args.count(command, 0, 0, "QUIT")
    if server.maildrop is None:
        raise Disconnect(protocol.ok("pillarbox POP3 server signing off"))
    try:
        removed = server.maildrop.commit(mark_seen=server.config.getbool("popuseimapflags"))
    except StoreError as error:
        log.error(f"pop3 update failed for {server.user}: {error} session={server.session.id}")
        raise Disconnect(protocol.err("some deleted messages not removed; try again later", SYS_TEMP)) from None
    server.end()          # unlock before +OK: a client may reconnect at once
    deleted = f"{removed} message{'' if removed == 1 else 's'} deleted"
    raise Disconnect(protocol.ok(f"pillarbox POP3 server signing off ({deleted})"))
