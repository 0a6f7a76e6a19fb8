"""SELECT and EXAMINE, with CONDSTORE and QRESYNC parameters (RFC 7162)."""

from imapd import args
from imapd.errors import Bad, No
from imapd.protocol.formatter import format_value
from imapd.protocol.sequence import SequenceSet, format_sequence_set
from imapd.protocol.tokens import List
from imapd.selected import SelectedMailbox
from pillarbox.store import MailboxNotFound

SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]


def handle(server, command):
    args.count(command.args, 1, 2, f"{command.name} mailbox [(parameters)]")
    readonly = command.name == "EXAMINE"
    name = args.mailbox(server, command.args[0])
    qresync = _parameters(server, command.args[1]) if len(command.args) == 2 else None
    if server.selected is not None:
        server.selected = None
        server.state = "authenticated"
        server.untagged("OK [CLOSED] previous mailbox closed")
    store = server.require_store()
    try:
        info = store.info(name)
    except MailboxNotFound:
        raise No(f"mailbox {args.text(command.args[0])} does not exist", "NONEXISTENT") from None
    records = store.messages(name)
    recent = set() if readonly else store.claim_recent(name)
    selected = SelectedMailbox(name, args.external_name(server, name), readonly, info, records, recent)
    server.selected = selected
    server.state = "selected"
    server.saved_search = []
    _describe(server, selected, info)
    if qresync is not None:
        _resynchronise(server, selected, qresync)
    return f"{command.name} completed", "READ-ONLY" if readonly else "READ-WRITE"


def _parameters(server, token):
    """(CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])); returns the QRESYNC tuple or None."""
    items = args.parenthesised(token, "SELECT parameters")
    qresync = None
    position = 0
    while position < len(items):
        name = args.atom(items[position], "parameter").upper()
        if name == "CONDSTORE":
            server.enabled.add("CONDSTORE")
            position += 1
        elif name == "QRESYNC" and position + 1 < len(items):
            if "QRESYNC" not in server.enabled:
                raise Bad("QRESYNC must be ENABLEd first")
            qresync = args.parenthesised(items[position + 1], "QRESYNC parameters")
            position += 2
        else:
            raise Bad(f"unknown SELECT parameter {name}")
    return qresync


def _describe(server, selected, info):
    flags = SYSTEM_FLAGS + [k for k in selected.keywords_in_use() if k not in SYSTEM_FLAGS]
    server.untagged("FLAGS (" + " ".join(flags) + ")")
    permanent = "" if selected.readonly else " ".join(flags + ["\\*"])
    server.untagged(f"OK [PERMANENTFLAGS ({permanent})] {'no changes allowed' if selected.readonly else 'flags saved'}")
    server.untagged(f"{len(selected)} EXISTS")
    if not server.imap4rev2:
        server.untagged(f"{len(selected.recent)} RECENT")
        unseen = selected.first_unseen()
        if unseen:
            server.untagged(f"OK [UNSEEN {unseen}] first unseen message")
    server.untagged(f"OK [UIDVALIDITY {selected.uidvalidity}] UIDs valid")
    server.untagged(f"OK [UIDNEXT {info.uidnext}] predicted next UID")
    if server.condstore:
        server.untagged(f"OK [HIGHESTMODSEQ {info.highestmodseq}] highest modseq")
    server.untagged(f"OK [MAILBOXID ({selected.mailboxid})] mailbox id")
    if server.imap4rev2:
        server.send(b"* LIST () \"" + server.namespace.separator.encode() + b"\" " +
                    format_value(selected.external, utf8=server.utf8) + b"\r\n")


def _resynchronise(server, selected, qresync):
    """RFC 7162 3.2.5: VANISHED (EARLIER) and FETCH for what changed since the client's MODSEQ."""
    if len(qresync) < 2:
        raise Bad("QRESYNC needs (uidvalidity modseq ...)")
    uidvalidity, modseq = int(args.atom(qresync[0])), int(args.atom(qresync[1]))
    if uidvalidity != selected.uidvalidity:
        return
    known = None
    if len(qresync) >= 3 and not isinstance(qresync[2], List):
        try:
            known = set(SequenceSet.parse(args.atom(qresync[2])).resolve_uids(selected.uids))
        except ValueError:
            raise Bad("invalid known-uids in QRESYNC") from None
    changes = server.store.changes_since(selected.name, modseq)
    vanished = [u for u in changes.expunged if known is None or u in known]
    if vanished:
        server.send(b"* VANISHED (EARLIER) " + format_sequence_set(vanished).encode() + b"\r\n")
    for record in changes.updated:
        if record.uid in selected.records:
            server.send(selected.flags_response(record.uid, include_uid=True, modseq=True,
                                                imap4rev2=server.imap4rev2))
