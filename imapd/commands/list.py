"""LIST and LSUB, with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348) attributes."""

from __future__ import annotations

from dataclasses import dataclass, field

from imapd import args
from imapd.errors import Bad
from imapd.protocol.formatter import format_value
from imapd.protocol.tokens import List
from pillarbox.mailboxname import MailboxNameError, compile_pattern
from pillarbox.store import INBOX

SELECTION = {"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"}
RETURNS = {"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"}


@dataclass
class Request:
    reference: str = ""
    patterns: list[str] = field(default_factory=list)
    selection: set[str] = field(default_factory=set)
    returns: set[str] = field(default_factory=set)
    status_items: list[str] = field(default_factory=list)
    lsub: bool = False
    extended: bool = False


def handle(server, command):
    request = _parse(command)
    store = server.require_store()
    separator = server.namespace.separator
    if not request.lsub and request.patterns == [""]:
        server.send(b"* LIST (\\Noselect) \"" + separator.encode() + b"\" \"\"\r\n")
        return
    mailboxes = {info.name: info for info in store.list_mailboxes()}
    subscribed = set(store.subscriptions())
    for name, external, attributes, info in _entries(server, request, mailboxes, subscribed):
        keyword = "LSUB" if request.lsub else "LIST"
        line = (b"* " + keyword.encode() + b" (" + " ".join(attributes).encode() + b") \"" + separator.encode() +
                b"\" " + format_value(external, utf8=server.utf8))
        server.send(line + b"\r\n")
        if "STATUS" in request.returns and info is not None and "\\Noselect" not in attributes:
            from imapd.commands.status import status_line
            server.send(status_line(server, name, external, request.status_items))


def _parse(command) -> Request:
    request = Request(lsub=command.name == "LSUB")
    tokens = list(command.args)
    if not request.lsub and tokens and isinstance(tokens[0], List):
        request.extended = True
        request.selection = {args.atom(t, "selection option").upper() for t in tokens.pop(0).items}
        if request.selection - SELECTION:
            raise Bad(f"unknown LIST selection option {sorted(request.selection - SELECTION)[0]}")
    if len(tokens) < 2:
        raise Bad(f"{command.name} reference pattern")
    request.reference = args.text(tokens[0], "reference")
    if isinstance(tokens[1], List) and not request.lsub:
        request.extended = True
        request.patterns = [args.text(t, "pattern") for t in tokens[1].items]
    else:
        request.patterns = [args.text(tokens[1], "pattern")]
    rest = tokens[2:]
    if rest:
        if request.lsub or len(rest) != 2 or args.atom(rest[0]).upper() != "RETURN":
            raise Bad("unexpected LIST arguments")
        _returns(request, args.parenthesised(rest[1], "RETURN options"))
    if "SUBSCRIBED" in request.selection:
        request.returns.add("SUBSCRIBED")
    if "RECURSIVEMATCH" in request.selection and request.selection <= {"RECURSIVEMATCH", "REMOTE"}:
        raise Bad("RECURSIVEMATCH needs another selection option")
    return request


def _returns(request: Request, items) -> None:
    position = 0
    while position < len(items):
        name = args.atom(items[position], "return option").upper()
        if name not in RETURNS:
            raise Bad(f"unknown LIST return option {name}")
        request.returns.add(name)
        position += 1
        if name == "STATUS":
            if position >= len(items):
                raise Bad("STATUS needs a list of items")
            request.status_items = [args.atom(t).upper() for t in args.parenthesised(items[position])]
            position += 1


def _entries(server, request, mailboxes, subscribed):
    separator = server.namespace.separator
    candidates = set(subscribed) if request.lsub or "SUBSCRIBED" in request.selection else set(mailboxes)
    parents = _implied_parents(set(mailboxes))
    externals = {name: _external(server, name) for name in candidates | parents}
    matchers = [compile_pattern(request.reference + pattern, separator) for pattern in request.patterns]
    listed = []
    for name in sorted(candidates | (parents if not request.lsub else set()), key=lambda n: (n != INBOX, n)):
        external = externals.get(name)
        if external is None or not any(match(external) for match in matchers):
            continue
        exists = name in mailboxes
        if "SPECIAL-USE" in request.selection and not (exists and mailboxes[name].special_use):
            continue
        attributes = _attributes(request, name, exists, mailboxes, subscribed, parents)
        listed.append((name, external, attributes, mailboxes.get(name)))
    return listed


def _external(server, name: str) -> str | None:
    """The client's spelling of a name, or None where its encoding cannot express it."""
    try:
        return server.namespace.to_external(name, utf8=server.utf8)
    except MailboxNameError:
        return None


def _implied_parents(names: set[str]) -> set[str]:
    parents = set()
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parents.add("/".join(parts[:depth]))
    return parents


def _attributes(request, name, exists, mailboxes, subscribed, parents) -> list[str]:
    attributes = []
    if not exists:
        attributes += ["\\NonExistent", "\\Noselect"] if request.extended or not request.lsub else ["\\Noselect"]
    if not request.lsub:
        attributes.append("\\HasChildren" if name in parents else "\\HasNoChildren")
    if "SUBSCRIBED" in request.returns and name in subscribed:
        attributes.append("\\Subscribed")
    if exists and mailboxes[name].special_use and (not request.extended or "SPECIAL-USE" in request.returns
                                                   or "SPECIAL-USE" in request.selection):
        attributes.append(mailboxes[name].special_use)
    return attributes
