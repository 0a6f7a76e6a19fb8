"""EXPUNGE and UID EXPUNGE (RFC 4315)."""

from imapd import args, messageset
from imapd.errors import No


def handle(server, command, *, uid: bool = False):
    args.count(command.args, 1 if uid else 0, usage="UID EXPUNGE uid-set" if uid else "EXPUNGE")
    selected = server.selected
    if selected.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    server.tell_updates(command)               # learn of others' changes first
    limit = messageset.uids(server, command.args[0], uid=True) if uid else None
    removed = server.store.expunge(selected.name, uids=limit)
    for response in selected.expunged_by_us(removed, server.qresync):
        server.send(response)
