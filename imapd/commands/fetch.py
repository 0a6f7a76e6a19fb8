"""FETCH and UID FETCH, with CHANGEDSINCE and VANISHED (RFC 7162)."""

from imapd import args, fetch as fetching, messageset
from imapd.errors import Bad, No
from imapd.protocol.sequence import format_sequence_set
from imapd.protocol.tokens import Atom
from pillarbox.store import SEEN, MessageNotFound


def handle(server, command, *, uid: bool = False):
    tokens = list(command.args)
    if len(tokens) < 2:
        raise Bad("FETCH set items [(CHANGEDSINCE modseq [VANISHED])]")
    target = messageset.uids(server, tokens[0], uid=uid)
    requested = messageset.parse(tokens[0])
    changed_since, vanished = _modifiers(server, tokens[2], uid) if len(tokens) == 3 else (None, False)
    if len(tokens) > 3:
        raise Bad("too many FETCH arguments")
    try:
        items, _, sets_seen = fetching.parse_fetch_items([tokens[1]], uid_command=uid)
    except fetching.FetchError as error:
        raise Bad(str(error)) from None
    selected, store = server.selected, server.store
    if changed_since is not None:
        if vanished:
            _tell_vanished(server, requested, changed_since)
        target = [u for u in target if selected.records[u].modseq > changed_since]
        if not any(i.name == "MODSEQ" for i in items):
            items = items + fetching.parse_fetch_items([Atom("MODSEQ")], uid_command=False)[0]
    seen_now = _mark_seen(server, target) if sets_seen and not selected.readonly else set()
    flags_item = fetching.parse_fetch_items([Atom("FLAGS")], uid_command=False)[0]
    missing = 0
    for u in target:
        record = selected.records.get(u)
        if record is None:
            continue
        wanted = items + flags_item if u in seen_now and not any(i.name == "FLAGS" for i in items) else items
        data = fetching.MessageData(
            seq=selected.seq_of(u), record=record, recent=selected.is_recent(u),
            load_bytes=lambda u=u: store.read_message(selected.name, u),
            load_structure=lambda u=u: store.parsed(selected.name, u),
            load_header=lambda u=u: store.read_header(selected.name, u))
        try:
            server.send(fetching.fetch_response(data, wanted, utf8=server.utf8, imap4rev2=server.imap4rev2))
        except MessageNotFound:
            missing += 1
        except fetching.FetchError as error:
            raise No(str(error), getattr(error, "code", None)) from None
    if missing:
        raise No(f"{missing} messages were expunged before they could be fetched", "EXPUNGEISSUED")


def _modifiers(server, token, uid):
    items = args.parenthesised(token, "FETCH modifiers")
    changed_since, vanished = None, False
    position = 0
    while position < len(items):
        name = args.atom(items[position]).upper()
        if name == "CHANGEDSINCE" and position + 1 < len(items):
            value = args.atom(items[position + 1])
            if not value.isdigit():
                raise Bad("CHANGEDSINCE needs a number")
            changed_since = int(value)
            server.enabled.add("CONDSTORE")
            position += 2
        elif name == "VANISHED":
            if not uid or not server.qresync:
                raise Bad("VANISHED needs UID FETCH and ENABLE QRESYNC")
            vanished = True
            position += 1
        else:
            raise Bad(f"unknown FETCH modifier {name}")
    if vanished and changed_since is None:
        raise Bad("VANISHED needs CHANGEDSINCE")
    return changed_since, vanished


def _tell_vanished(server, requested, since):
    """RFC 7162 3.2.6: expunged UIDs within the requested set, since the given MODSEQ."""
    changes = server.store.changes_since(server.selected.name, since)
    largest = max(server.selected.max_uid(), changes.uidnext - 1)
    gone = [u for u in changes.expunged if requested.contains(u, largest)]
    if gone:
        server.send(b"* VANISHED (EARLIER) " + format_sequence_set(gone).encode() + b"\r\n")


def _mark_seen(server, target) -> set[int]:
    selected = server.selected
    unseen = [u for u in target if u in selected.records and SEEN not in selected.records[u].flags]
    if not unseen:
        return set()
    changed, _ = server.store.store_flags(selected.name, unseen, "add", [SEEN])
    selected.note_own_changes(changed)
    return {r.uid for r in changed}
