"""STATUS mailbox (items), RFC 3501/9051 plus SIZE (RFC 8438), HIGHESTMODSEQ, MAILBOXID, APPENDLIMIT."""

from imapd import args
from imapd.errors import Bad, No
from imapd.protocol.formatter import Raw, format_value
from pillarbox.store import MailboxNotFound

ITEMS = {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ",
         "MAILBOXID", "APPENDLIMIT"}


def handle(server, command):
    args.count(command.args, 2, usage="STATUS mailbox (items)")
    name = args.mailbox(server, command.args[0])
    items = [args.atom(t, "status item").upper() for t in args.parenthesised(command.args[1], "status items")]
    unknown = [i for i in items if i not in ITEMS]
    if unknown or not items:
        raise Bad(f"unknown STATUS item {unknown[0] if unknown else '(none given)'}")
    try:
        server.send(status_line(server, name, args.text(command.args[0]), items))
    except MailboxNotFound:
        raise No(f"{args.text(command.args[0])} does not exist", "NONEXISTENT") from None


def status_line(server, name: str, external: str, items: list[str]) -> bytes:
    store = server.require_store()
    info = store.info(name)
    if "HIGHESTMODSEQ" in items:
        server.enabled.add("CONDSTORE")
    values = {"MESSAGES": info.messages, "UIDNEXT": info.uidnext, "UIDVALIDITY": info.uidvalidity,
              "UNSEEN": info.unseen, "DELETED": info.deleted, "SIZE": info.size,
              "HIGHESTMODSEQ": info.highestmodseq, "MAILBOXID": [Raw(info.mailboxid)],
              "APPENDLIMIT": server.config.getint("maxmessagesize") or None}
    if "RECENT" in items:
        values["RECENT"] = _recent(server, name, info)
    pairs = []
    for item in items:
        pairs += [Raw(item), values[item]]
    return b"* STATUS " + format_value(external, utf8=server.utf8) + b" " + format_value(pairs) + b"\r\n"


def _recent(server, name, info) -> int:
    if server.selected is not None and server.selected.name == name:
        return len(server.selected.recent)
    return max(0, info.uidnext - 1 - info.recent_uid)
