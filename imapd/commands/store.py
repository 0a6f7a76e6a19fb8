"""STORE and UID STORE, with UNCHANGEDSINCE (RFC 7162)."""

from imapd import args, messageset
from imapd.errors import Bad, No
from imapd.protocol.sequence import format_sequence_set
from imapd.protocol.tokens import List
from pillarbox.store import StoreError

MODES = {"FLAGS": "replace", "+FLAGS": "add", "-FLAGS": "remove"}


def handle(server, command, *, uid: bool = False):
    tokens = list(command.args)
    if len(tokens) < 3:
        raise Bad("STORE set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] (flags)")
    target = messageset.uids(server, tokens.pop(0), uid=uid)
    unchanged_since = _modifier(server, tokens.pop(0)) if isinstance(tokens[0], List) else None
    action = args.atom(tokens.pop(0), "STORE item").upper()
    silent = action.endswith(".SILENT")
    mode = MODES.get(action.removesuffix(".SILENT"))
    if mode is None:
        raise Bad(f"unknown STORE item {action}")
    flags = [f for t in tokens for f in args.flag_list(t)]
    selected = server.selected
    if selected.readonly:
        raise No("mailbox is read-only", "READ-ONLY")
    try:
        changed, failed = server.store.store_flags(selected.name, target, mode, flags, unchanged_since=unchanged_since)
    except StoreError as error:
        raise Bad(str(error)) from None
    selected.note_own_changes(changed)
    changed_uids = {r.uid for r in changed}
    report_all = not silent
    for u in target:
        if u in failed or u not in selected.records:
            continue
        if report_all or (unchanged_since is not None and u in changed_uids and server.condstore):
            server.send(selected.flags_response(u, include_uid=uid or server.qresync,
                                                modseq=server.condstore, imap4rev2=server.imap4rev2))
    if failed:
        numbers = messageset.seq_or_uid(server, failed, uid=uid)
        return "conditional STORE failed for some messages", f"MODIFIED {format_sequence_set(numbers)}"


def _modifier(server, token):
    items = args.parenthesised(token, "STORE modifiers")
    if len(items) != 2 or args.atom(items[0]).upper() != "UNCHANGEDSINCE":
        raise Bad("the only STORE modifier is (UNCHANGEDSINCE modseq)")
    value = args.atom(items[1])
    if not value.isdigit():
        raise Bad("UNCHANGEDSINCE needs a number")
    server.enabled.add("CONDSTORE")
    return int(value)
