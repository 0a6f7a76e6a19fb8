"""COPY and MOVE (RFC 6851), with their UID forms; COPYUID (RFC 4315)."""

from imapd import args, messageset
from imapd.errors import No
from imapd.protocol.sequence import format_sequence_set
from pillarbox.store import InvalidMailboxName, MailboxNotFound, QuotaExceeded


def handle(server, command, *, uid: bool = False):
    args.count(command.args, 2, usage=f"{command.name} set mailbox")
    moving = command.name == "MOVE"
    selected = server.selected
    if moving and selected.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    uids = messageset.uids(server, command.args[0], uid=uid)
    target = args.mailbox(server, command.args[1])
    transfer = server.store.move if moving else server.store.copy
    try:
        uidvalidity, pairs = transfer(selected.name, uids, target)
    except MailboxNotFound:
        raise No(f"{args.text(command.args[1])} does not exist", "TRYCREATE") from None
    except QuotaExceeded as error:
        raise No(str(error), "OVERQUOTA") from None
    except InvalidMailboxName as error:
        raise No(str(error), "CANNOT") from None
    if not pairs:
        return f"{command.name} completed (no messages)"
    code = (f"COPYUID {uidvalidity} {format_sequence_set([s for s, _ in pairs], sort=False)} "
            f"{format_sequence_set([d for _, d in pairs], sort=False)}")
    if not moving:
        return f"{command.name} completed", code
    server.untagged(f"OK [{code}] moved")
    for response in selected.expunged_by_us([s for s, _ in pairs], server.qresync):
        server.send(response)
    return "MOVE completed"
