"""SEARCH and UID SEARCH, with ESEARCH (RFC 4731) and SEARCHRES (RFC 5182)."""

import time

from imapd import search as searching
from imapd.protocol.tokens import Atom, List
from pillarbox.mime import decode_words, split_fields


class _Message:
    __slots__ = ("seq", "record", "recent")

    def __init__(self, seq, record, recent):
        self.seq, self.record, self.recent = seq, record, recent


def handle(server, command, *, uid: bool = False):
    try:
        program = searching.parse_search(list(command.args), esearch_allowed=True, imap4rev2=server.imap4rev2)
    except searching.SearchError:
        if _asks_to_save(command.args):
            server.saved_search = []            # RFC 5182: a failed SEARCH SAVE empties $
        raise
    selected, store = server.selected, server.store
    messages = [_Message(seq, selected.records[u], selected.is_recent(u)) for seq, u in enumerate(selected.uids, 1)]
    context = searching.SearchContext(
        messages=messages, saved=list(server.saved_search),
        text_search=lambda where, text: store.search_text(selected.name, text, where),
        header_fields=lambda u: _header_fields(store, selected.name, u), now=time.time())
    matches = searching.evaluate(program, context)
    if program.save:
        server.saved_search = list(searching.saved_uids(program, matches))
    if program.uses_modseq:
        server.enabled.add("CONDSTORE")
    server.send(searching.format_search_response(matches, uid=uid, program=program, tag=command.tag))


def _asks_to_save(tokens) -> bool:
    """SEARCH RETURN (... SAVE ...) ..."""
    return (len(tokens) >= 2 and isinstance(tokens[0], Atom) and tokens[0].text.upper() == "RETURN"
            and isinstance(tokens[1], List)
            and any(isinstance(t, Atom) and t.text.upper() == "SAVE" for t in tokens[1].items))


def _header_fields(store, mailbox, uid):
    data = store.read_message(mailbox, uid)
    end = data.find(b"\r\n\r\n")
    header = data if end < 0 else data[:end + 2]
    return [(name, decode_words(value)) for name, value in split_fields(header)]
