"""SEARCH: parsing every key of both revisions, evaluation over 20 synthetic messages, SEARCH/ESEARCH replies.

Expectations are written out by hand from the message table below (not computed
by the code under test).
"""

from __future__ import annotations

import calendar
import datetime
import email.utils
import re
from dataclasses import dataclass

import pytest

from imapd.protocol.tokens import Atom, List, String
from pillarbox.store.records import MessageRecord


from imapd.protocol.sequence import SequenceSet
from imapd.search import (And, Key, Not, Or, SearchContext, SearchError, evaluate, format_search_response,
                          parse_search, saved_uids)

DOLLAR = SequenceSet.parse("$")


# ---------------------------------------------------------------- a tiny tokenizer for the tests

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def tokens(text: str) -> list:
    stack = [[]]
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, text[position:]
        position = match.end()
        opened, closed, quoted, atom = match.groups()
        if opened:
            stack.append([])
        elif closed:
            items = stack.pop()
            stack[-1].append(List(tuple(items)))
        elif quoted is not None:
            stack[-1].append(String(re.sub(r"\\(.)", r"\1", quoted).encode()))
        else:
            stack[-1].append(Atom(atom))
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0]


def parse(text: str, *, rev2: bool = False, esearch: bool = True):
    return parse_search(tokens(text), esearch_allowed=esearch, imap4rev2=rev2)


# ---------------------------------------------------------------- parsing: every key

SEEN = Key("FLAG", "\\Seen")

GOOD_KEYS = [
    ("ALL", Key("ALL")),
    ("all", Key("ALL")),
    ("ANSWERED", Key("FLAG", "\\Answered")),
    ("DELETED", Key("FLAG", "\\Deleted")),
    ("DRAFT", Key("FLAG", "\\Draft")),
    ("FLAGGED", Key("FLAG", "\\Flagged")),
    ("SEEN", SEEN),
    ("UNANSWERED", Not(Key("FLAG", "\\Answered"))),
    ("UNDELETED", Not(Key("FLAG", "\\Deleted"))),
    ("UNDRAFT", Not(Key("FLAG", "\\Draft"))),
    ("UNFLAGGED", Not(Key("FLAG", "\\Flagged"))),
    ("unseen", Not(SEEN)),
    ("NEW", And((Key("RECENT"), Not(SEEN)))),
    ("OLD", Not(Key("RECENT"))),
    ("RECENT", Key("RECENT")),
    ("KEYWORD $Forwarded", Key("KEYWORD", "$Forwarded")),
    ('KEYWORD "Work"', Key("KEYWORD", "Work")),
    ("UNKEYWORD $Junk", Not(Key("KEYWORD", "$Junk"))),
    ("BCC audit", Key("HEADER", ("Bcc", "audit"))),
    ('CC "carol@example.net"', Key("HEADER", ("Cc", "carol@example.net"))),
    ("FROM alice", Key("HEADER", ("From", "alice"))),
    ("TO bob", Key("HEADER", ("To", "bob"))),
    ('SUBJECT "hello world"', Key("HEADER", ("Subject", "hello world"))),
    ('SUBJECT ""', Key("HEADER", ("Subject", ""))),
    ("SUBJECT NIL", Key("HEADER", ("Subject", "NIL"))),
    ('HEADER List-Id ""', Key("HEADER", ("List-Id", ""))),
    ('HEADER "X-Priority" 1', Key("HEADER", ("X-Priority", "1"))),
    ("BODY pillarbox", Key("BODY", "pillarbox")),
    ('TEXT "two words"', Key("TEXT", "two words")),
    ('TEXT "Grüße"', Key("TEXT", "Grüße")),
    ("BEFORE 1-Feb-1994", Key("BEFORE", datetime.date(1994, 2, 1))),
    ("ON 01-Feb-1994", Key("ON", datetime.date(1994, 2, 1))),
    ('SINCE "29-feb-2024"', Key("SINCE", datetime.date(2024, 2, 29))),
    ("SENTBEFORE 31-Dec-1999", Key("SENTBEFORE", datetime.date(1999, 12, 31))),
    ("SENTON 1-JAN-2000", Key("SENTON", datetime.date(2000, 1, 1))),
    ("SENTSINCE 15-Mar-2024", Key("SENTSINCE", datetime.date(2024, 3, 15))),
    ("SAVEDBEFORE 1-Jan-2024", Key("SAVEDBEFORE", datetime.date(2024, 1, 1))),
    ("SAVEDON 28-Dec-2014", Key("SAVEDON", datetime.date(2014, 12, 28))),
    ("SAVEDSINCE 28-Dec-2014", Key("SAVEDSINCE", datetime.date(2014, 12, 28))),
    ("SAVEDATESUPPORTED", Key("SAVEDATESUPPORTED")),
    ("LARGER 0", Key("LARGER", 0)),
    ("LARGER 4294967296", Key("LARGER", 4294967296)),       # number64 (RFC 9051)
    ("SMALLER 10000", Key("SMALLER", 10000)),
    ("OLDER 3600", Key("OLDER", 3600)),
    ("YOUNGER 259200", Key("YOUNGER", 259200)),
    ("MODSEQ 0", Key("MODSEQ", (0, None, None))),
    ("MODSEQ 917162500", Key("MODSEQ", (917162500, None, None))),
    ('MODSEQ "/flags/\\\\draft" all 620162338', Key("MODSEQ", (620162338, "/flags/\\draft", "all"))),
    ('MODSEQ "/flags/$Junk" PRIV 5', Key("MODSEQ", (5, "/flags/$Junk", "priv"))),
    ("EMAILID M6d99ac3275bb4e", Key("EMAILID", "M6d99ac3275bb4e")),
    ("THREADID T64b478a75b7ea9", Key("THREADID", "T64b478a75b7ea9")),
    ("THREADID a_b-9", Key("THREADID", "a_b-9")),
    ("UID $", Key("UID", DOLLAR)),
    ("$", Key("SEQ", DOLLAR)),
    ("UID 1:3,$", Key("UID", SequenceSet.parse("1:3,$"))),
    ("1:*", Key("SEQ", SequenceSet.parse("1:*"))),
    ("NOT SEEN", Not(SEEN)),
    ("NOT NOT SEEN", Not(Not(SEEN))),
    ("OR SEEN DELETED", Or(SEEN, Key("FLAG", "\\Deleted"))),
    ("(SEEN)", SEEN),
    ("(SEEN DELETED)", And((SEEN, Key("FLAG", "\\Deleted")))),
    ("SEEN DELETED", And((SEEN, Key("FLAG", "\\Deleted")))),
    # NOT and OR take one key each; a key list binds only inside parentheses
    ("NOT SEEN FLAGGED", And((Not(SEEN), Key("FLAG", "\\Flagged")))),
    ("OR SEEN FLAGGED DELETED", And((Or(SEEN, Key("FLAG", "\\Flagged")), Key("FLAG", "\\Deleted")))),
    ("OR OR ANSWERED DRAFT FLAGGED",
     Or(Or(Key("FLAG", "\\Answered"), Key("FLAG", "\\Draft")), Key("FLAG", "\\Flagged"))),
    ("OR (SEEN FLAGGED) NOT (DRAFT (DELETED))",
     Or(And((SEEN, Key("FLAG", "\\Flagged"))), Not(And((Key("FLAG", "\\Draft"), Key("FLAG", "\\Deleted")))))),
]


@pytest.mark.parametrize("text, expected", GOOD_KEYS)
def test_parse_keys(text, expected):
    program = parse(text)
    assert program.key == expected
    assert program.return_options is None and program.save is False
    assert program.uses_modseq is text.startswith("MODSEQ")


@pytest.mark.parametrize("text", ["1", "1:3", "2,4:*", "*", "*:5", "1:3,5,7:9", "$", "1,$", "4294967295"])
def test_parse_sequence_sets(text):
    assert parse(text).key == Key("SEQ", SequenceSet.parse(text))
    assert parse("UID " + text).key == Key("UID", SequenceSet.parse(text))
    assert parse(text).uses_saved is ("$" in text)


BAD_KEYS = [
    "FOO", "RETURN", "CHARSET", "\\Seen", "SEEN FOO", '"SEEN"', "()", "(SEEN) ()",
    "SUBJECT", "FROM", "BODY", "TEXT", "TO (a b)", "HEADER", "HEADER Subject", 'HEADER "Bad:Name" x',
    'HEADER "" x', 'HEADER "Two words" x',
    "KEYWORD", "KEYWORD \\Seen", 'KEYWORD "a b"', "KEYWORD (a)", 'UNKEYWORD ""',
    "BEFORE", "BEFORE 32-Jan-2024", "ON 29-Feb-2023", "SINCE 1-Foo-2024", "BEFORE 2024-01-01",
    "ON 1-Jan-24", "SENTON 001-Jan-2024", "SAVEDSINCE 1/1/2024", "SENTBEFORE (1-Jan-2024)",
    "LARGER", "LARGER -1", "LARGER abc", 'LARGER "5"', "SMALLER 1.5", "SMALLER 9223372036854775808",
    "OLDER 0", "YOUNGER", "YOUNGER x", "OLDER 4294967296",
    "UID", "UID abc", "UID (1)", 'UID "1"', "UID 0", "0", "01", "1:x", "1,,2", "1:$", "UID 4294967296",
    "NOT", "OR", "OR SEEN", "NOT ()",
    "MODSEQ", "MODSEQ x", "MODSEQ -1", "MODSEQ 9223372036854775808", 'MODSEQ "/flags/\\\\Seen" bogus 5',
    'MODSEQ "/other" all 5', 'MODSEQ "/flags/\\\\Seen" all', 'MODSEQ "/flags/" all 5', 'MODSEQ "/flags/x"',
    "EMAILID", "EMAILID bad!id", 'THREADID ""', "EMAILID " + "x" * 256,
]


@pytest.mark.parametrize("text", BAD_KEYS)
def test_parse_bad_keys(text):
    with pytest.raises(SearchError) as failure:
        parse(text)
    assert failure.value.status == "BAD" and failure.value.code is None
    assert str(failure.value)


def test_parse_empty_search():
    with pytest.raises(SearchError, match="at least one"):
        parse_search([], esearch_allowed=True, imap4rev2=False)
    with pytest.raises(SearchError, match="at least one"):
        parse("CHARSET UTF-8")
    with pytest.raises(SearchError, match="at least one"):
        parse("RETURN (MIN)")


def test_parse_error_names_the_problem():
    with pytest.raises(SearchError, match="unknown search key FOO"):
        parse("SEEN FOO")
    with pytest.raises(SearchError, match="SUBJECT needs a string"):
        parse("SUBJECT")
    with pytest.raises(SearchError, match="date like 1-Feb-1994"):
        parse("BEFORE 31-Feb-2024")


@pytest.mark.parametrize("text", ["NEW", "OLD", "RECENT", "NOT RECENT", "OR SEEN NEW"])
def test_rev2_removed_recent_keys(text):
    parse(text)                                     # IMAP4rev1 client: fine
    with pytest.raises(SearchError, match="IMAP4rev2"):
        parse(text, rev2=True)


@pytest.mark.parametrize("text", [k for k, _ in GOOD_KEYS if k.split()[0] not in ("NEW", "OLD", "RECENT")])
def test_rev2_accepts_the_other_keys(text):
    assert parse(text, rev2=True).key == dict(GOOD_KEYS)[text]


def test_nesting_is_bounded():
    assert parse("NOT " * 100 + "SEEN").key is not None
    with pytest.raises(SearchError, match="nested"):
        parse("NOT " * 101 + "SEEN")
    assert parse("(" * 100 + "SEEN" + ")" * 100).key == SEEN
    with pytest.raises(SearchError, match="nested"):
        parse("(" * 101 + "SEEN" + ")" * 101)
    with pytest.raises(SearchError, match="nested"):
        parse("OR " * 101 + "SEEN " * 102)
    many = parse("OR " * 50 + "SEEN " * 51)          # deep but allowed
    assert isinstance(many.key, Or)


def test_uses_modseq_and_saved_anywhere_in_the_tree():
    assert parse("OR SEEN NOT (DRAFT MODSEQ 5)").uses_modseq
    assert not parse("SEEN").uses_modseq
    assert parse("OR SEEN UID $").uses_saved
    assert parse("NOT $").uses_saved
    assert not parse("UID 1:*").uses_saved


# ---------------------------------------------------------------- parsing: CHARSET and RETURN

@pytest.mark.parametrize("text, rev2, charset", [
    ("ALL", False, "US-ASCII"),
    ("ALL", True, "UTF-8"),
    ("CHARSET UTF-8 ALL", False, "UTF-8"),
    ("CHARSET utf-8 ALL", True, "UTF-8"),
    ('CHARSET "US-ASCII" ALL', False, "US-ASCII"),
    ("CHARSET us-ascii ALL", True, "US-ASCII"),
    ("RETURN (COUNT) CHARSET UTF-8 ALL", False, "UTF-8"),
])
def test_charset_accepted(text, rev2, charset):
    assert parse(text, rev2=rev2).charset == charset


@pytest.mark.parametrize("text", ["CHARSET ISO-8859-1 ALL", 'CHARSET "KOI8-R" SUBJECT x', "CHARSET UTF8 ALL",
                                  "RETURN (ALL) CHARSET BIG5 ALL"])
def test_charset_refused(text):
    for rev2 in (False, True):
        with pytest.raises(SearchError) as failure:
            parse(text, rev2=rev2)
        error = failure.value
        assert error.status == "NO"
        assert error.code == "BADCHARSET (UTF-8 US-ASCII)"
        assert str(error).startswith("[BADCHARSET (UTF-8 US-ASCII)] charset ")


@pytest.mark.parametrize("text", ["CHARSET", "CHARSET (UTF-8) ALL", "ALL CHARSET UTF-8"])
def test_charset_syntax(text):
    with pytest.raises(SearchError) as failure:
        parse(text)
    assert failure.value.status == "BAD"


def test_strings_are_utf8():
    program = parse_search([Atom("CHARSET"), Atom("UTF-8"), Atom("SUBJECT"), String("Grüße".encode())],
                           esearch_allowed=False, imap4rev2=False)
    assert program.key == Key("HEADER", ("Subject", "Grüße"))
    literal = String("München".encode(), literal=True)
    assert parse_search([Atom("BODY"), literal], esearch_allowed=False, imap4rev2=True).key == Key("BODY", "München")
    with pytest.raises(SearchError, match="UTF-8") as failure:
        parse_search([Atom("CHARSET"), Atom("UTF-8"), Atom("BODY"), String(b"\xff\xfe")],
                     esearch_allowed=False, imap4rev2=False)
    assert failure.value.status == "BAD"


@pytest.mark.parametrize("text, options, save", [
    ("RETURN (MIN) ALL", ("MIN",), False),
    ("RETURN (MAX MIN) ALL", ("MIN", "MAX"), False),
    ("RETURN (all count) ALL", ("COUNT", "ALL"), False),
    ("RETURN (ALL MIN MAX COUNT) ALL", ("MIN", "MAX", "COUNT", "ALL"), False),
    ("RETURN (COUNT COUNT) ALL", ("COUNT",), False),
    ("RETURN () ALL", ("ALL",), False),                     # RFC 4731: () means (ALL)
    ("RETURN (SAVE) ALL", (), True),                        # SAVE alone: no ESEARCH reply
    ("RETURN (SAVE MIN) ALL", ("MIN",), True),
    ("RETURN (ALL SAVE COUNT) ALL", ("COUNT", "ALL"), True),
])
def test_return_options(text, options, save):
    for rev2 in (False, True):
        program = parse(text, rev2=rev2)
        assert program.return_options == options and program.save is save
        assert program.key == Key("ALL")


def test_return_defaults():
    assert parse("ALL").return_options is None                  # IMAP4rev1: plain SEARCH reply
    assert parse("ALL", rev2=True).return_options == ("ALL",)   # IMAP4rev2: always ESEARCH
    assert parse("ALL", rev2=True).save is False


@pytest.mark.parametrize("text", ["RETURN ALL", "RETURN", "RETURN (FOO) ALL", "RETURN (PARTIAL 1:10) ALL",
                                  'RETURN ("MIN") ALL', "RETURN ((MIN)) ALL", "ALL RETURN (MIN)",
                                  "CHARSET UTF-8 RETURN (MIN) ALL"])
def test_return_bad(text):
    with pytest.raises(SearchError) as failure:
        parse(text)
    assert failure.value.status == "BAD"


def test_return_needs_esearch_or_rev2():
    with pytest.raises(SearchError, match="ESEARCH"):
        parse("RETURN (MIN) ALL", esearch=False)
    assert parse("RETURN (MIN) ALL", esearch=False, rev2=True).return_options == ("MIN",)


def test_search_error_is_a_command_failure():
    from imapd.errors import CommandFailed
    assert issubclass(SearchError, CommandFailed)


# ---------------------------------------------------------------- the synthetic mailbox

def ts(text: str) -> int:
    return calendar.timegm(datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timetuple())


@dataclass
class Message:
    seq: int
    record: MessageRecord
    recent: bool


UIDS = [1, 2, 3, 5, 8, 9, 10, 11, 15, 20, 21, 22, 30, 31, 32, 40, 41, 50, 51, 60]

FLAGS = {
    1: {"\\Seen"}, 2: {"\\Seen", "\\Answered"}, 3: set(), 4: {"\\Flagged"}, 5: {"\\Deleted", "\\Seen"},
    6: {"\\Draft"}, 7: {"\\Seen", "$Forwarded"}, 8: {"Work"}, 9: {"\\Seen", "\\Flagged", "WORK"}, 10: set(),
    11: {"\\Seen"}, 12: {"\\Answered"}, 13: {"\\Seen", "\\Deleted"}, 14: set(), 15: {"\\Seen", "$Junk"},
    16: {"\\Flagged", "\\Seen"}, 17: set(), 18: {"\\Seen"}, 19: {"\\Draft", "\\Seen"}, 20: set(),
}

INTERNAL = {
    1: "2024-01-01 00:00:00", 2: "2024-01-01 23:59:59", 3: "2024-01-02 00:00:00", 4: "2024-01-02 12:00:00",
    5: "2024-01-03 00:00:01", 6: "2024-02-01 08:00:00", 7: "2024-02-14 09:00:00", 8: "2024-02-29 23:59:59",
    9: "2024-03-01 00:00:00", 10: "2024-03-15 10:00:00", 11: "2024-04-01 10:00:00", 12: "2024-05-01 10:00:00",
    13: "2024-06-01 10:00:00", 14: "2024-07-01 10:00:00", 15: "2024-08-01 10:00:00", 16: "2024-09-01 10:00:00",
    17: "2024-10-01 10:00:00", 18: "2024-11-01 10:00:00", 19: "2024-12-01 10:00:00", 20: "2024-12-31 23:59:59",
}


def savedate(seq: int) -> int:
    if seq <= 10:
        return ts("2024-06-15 12:00:00")
    if seq == 11:
        return ts("2024-06-15 23:59:59")
    if seq < 20:
        return ts("2024-06-16 00:00:00")
    return 0                                            # seq 20: no save date known


def modseq(seq: int) -> int:
    return {3: 500, 11: 400}.get(seq, 100 + seq)        # 101 ... 120, but 3 -> 500 and 11 -> 400


THREADS = {1: "T1", 2: "T1", 3: "T1", 4: "T4", 5: "T4"}

HEADERS = {
    1: [("Subject", "Hello world"), ("From", "Alice <alice@example.com>"), ("To", "bob@example.org"),
        ("Date", "Mon, 01 Jan 2024 10:00:00 +0000")],
    2: [("Subject", "Re: Hello World"), ("From", "Bob <bob@example.org>"), ("To", "alice@example.com"),
        ("Cc", "carol@example.net"), ("Date", "Mon, 01 Jan 2024 23:00:00 -0500")],
    3: [("Subject", "Grüße aus München"), ("From", "Jörg <joerg@example.de>"), ("To", "alice@example.com"),
        ("Date", "Tue, 02 Jan 2024 01:00:00 +0100")],
    4: [("Subject", "Invoice 42"), ("From", "billing@shop.example"), ("To", "alice@example.com"),
        ("Bcc", "audit@example.com"), ("Date", "31 Dec 2023 23:30:00 -0800")],
    5: [("From", "noreply@example.com"), ("To", "alice@example.com")],                   # no Subject, no Date
    6: [("Subject", "Draft: plans"), ("From", "alice@example.com"), ("To", "team@example.com"),
        ("X-Priority", "1"), ("Date", "not a date")],
    7: [("Subject", "Fwd: Invoice 42"), ("From", "alice@example.com"), ("To", "dave@example.com"),
        ("Date", "Wed, 14 Feb 2024 09:00:00 +0000")],
}
for _seq in range(8, 21):
    HEADERS[_seq] = [("Subject", f"Message {_seq}"), ("From", "list@lists.example"), ("To", "alice@example.com"),
                     ("Date", email.utils.formatdate(ts(INTERNAL[_seq])))]
    if _seq <= 12:
        HEADERS[_seq].append(("List-Id", "<dev.lists.example>"))
HEADERS[12][0] = ("Subject", "A long\r\n subject line")                       # folded

BODIES = {1: "first body", 2: "reply text mentions pillarbox", 3: "STRASSE und straße", 4: "Please pay",
          5: "automated", 6: "draft body", 7: "forwarded invoice"}
BODIES.update({seq: f"body {seq}" for seq in range(8, 21)})

NOW = ts("2025-01-01 00:00:00")


def make_messages():
    messages = []
    for seq, uid in enumerate(UIDS, 1):
        record = MessageRecord(uid=uid, flags=frozenset(FLAGS[seq]), modseq=modseq(seq),
                               internaldate=ts(INTERNAL[seq]), savedate=savedate(seq), size=seq * 100,
                               emailid=None if seq == 20 else f"E{seq}",
                               threadid=None if seq == 20 else THREADS.get(seq, f"T{seq}"))
        messages.append(Message(seq, record, recent=seq >= 17))
    return messages


_FOLDING = re.compile(r"\r\n(?=[ \t])")


class FakeStore:
    """text_search and header_fields over the table, counting calls."""

    def __init__(self):
        self.text_calls: list[tuple[str, str]] = []
        self.header_calls: list[int] = []
        self.header_text = {}
        self.body_text = {}
        for seq, uid in enumerate(UIDS, 1):
            unfolded = "".join(f"{n}: {_FOLDING.sub('', v)}\n" for n, v in HEADERS[seq])
            self.header_text[uid] = unfolded.casefold()
            self.body_text[uid] = BODIES[seq].casefold()

    def text_search(self, where, text):
        self.text_calls.append((where, text))
        needle = text.casefold()
        found = set()
        for uid in UIDS:
            if where in ("header", "text") and needle in self.header_text[uid]:
                found.add(uid)
            if where in ("body", "text") and needle in self.body_text[uid]:
                found.add(uid)
        return found

    def header_fields(self, uid):
        self.header_calls.append(uid)
        return HEADERS[UIDS.index(uid) + 1]


def run(text, *, saved=(), rev2=False, **context):
    store = FakeStore()
    ctx = SearchContext(messages=make_messages(), saved=list(saved), text_search=store.text_search,
                        header_fields=store.header_fields, now=NOW, **context)
    program = parse(text, rev2=rev2)
    return [m.seq for m in evaluate(program, ctx)], store


def seqs(text, **kwargs):
    return run(text, **kwargs)[0]


ALL20 = list(range(1, 21))
SEEN_SEQS = [1, 2, 5, 7, 9, 11, 13, 15, 16, 18, 19]
UNSEEN_SEQS = [3, 4, 6, 8, 10, 12, 14, 17, 20]

EVALUATION = [
    # flags and keywords
    ("ALL", ALL20),
    ("SEEN", SEEN_SEQS),
    ("UNSEEN", UNSEEN_SEQS),
    ("ANSWERED", [2, 12]),
    ("UNANSWERED", [s for s in ALL20 if s not in (2, 12)]),
    ("FLAGGED", [4, 9, 16]),
    ("DELETED", [5, 13]),
    ("UNDELETED", [s for s in ALL20 if s not in (5, 13)]),
    ("DRAFT", [6, 19]),
    ("UNDRAFT", [s for s in ALL20 if s not in (6, 19)]),
    ("UNFLAGGED", [s for s in ALL20 if s not in (4, 9, 16)]),
    ("KEYWORD $Forwarded", [7]),
    ("KEYWORD $forwarded", [7]),
    ("KEYWORD work", [8, 9]),
    ("KEYWORD Work", [8, 9]),
    ("UNKEYWORD Work", [s for s in ALL20 if s not in (8, 9)]),
    ("KEYWORD $Junk", [15]),
    ("KEYWORD nothing", []),
    ("UNKEYWORD nothing", ALL20),
    # \Recent
    ("RECENT", [17, 18, 19, 20]),
    ("NEW", [17, 20]),
    ("OLD", list(range(1, 17))),
    ("NOT NEW", [s for s in ALL20 if s not in (17, 20)]),
    # sizes (seq * 100)
    ("LARGER 1000", list(range(11, 21))),
    ("LARGER 999", list(range(10, 21))),
    ("SMALLER 300", [1, 2]),
    ("SMALLER 100", []),
    ("LARGER 0", ALL20),
    ("LARGER 500 SMALLER 800", [6, 7]),
    # internal dates (UTC), boundaries at midnight
    ("ON 1-Jan-2024", [1, 2]),
    ("ON 02-Jan-2024", [3, 4]),
    ("BEFORE 2-Jan-2024", [1, 2]),
    ("BEFORE 1-Jan-2024", []),
    ("SINCE 2-Jan-2024", list(range(3, 21))),
    ("SINCE 1-Jan-2024", ALL20),
    ("ON 29-Feb-2024", [8]),
    ("BEFORE 1-Mar-2024", list(range(1, 9))),
    ("SINCE 1-Mar-2024", list(range(9, 21))),
    ("ON 31-Dec-2024", [20]),
    ("SINCE 1-Jan-2025", []),
    ("SINCE 1-Feb-2024 BEFORE 1-Mar-2024", [6, 7, 8]),
    # sent dates: the Date: header's own date; no/bad Date: -> internal date
    ("SENTON 1-Jan-2024", [1, 2]),                     # seq 2 is Jan 2 in UTC but Jan 1 as written
    ("SENTBEFORE 1-Jan-2024", [4]),                    # Dec 31 2023 -0800
    ("SENTBEFORE 2-Jan-2024", [1, 2, 4]),
    ("SENTON 2-Jan-2024", [3]),
    ("SENTON 3-Jan-2024", [5]),                        # no Date: internal date
    ("SENTON 1-Feb-2024", [6]),                        # unparsable Date: internal date
    ("SENTSINCE 3-Jan-2024", list(range(5, 21))),
    ("SENTSINCE 31-Dec-2024", [20]),
    # save dates; seq 20 has none
    ("SAVEDON 15-Jun-2024", list(range(1, 12))),
    ("SAVEDBEFORE 16-Jun-2024", list(range(1, 12))),
    ("SAVEDSINCE 16-Jun-2024", list(range(12, 20))),
    ("SAVEDSINCE 1-Jan-2000", list(range(1, 20))),
    ("SAVEDBEFORE 15-Jun-2024", []),
    ("SAVEDATESUPPORTED", ALL20),
    ("NOT SAVEDSINCE 1-Jan-2000", [20]),
    # WITHIN: now is 2025-01-01 00:00:00; seq 20 is 1 s old, seq 19 is 2642400 s old
    ("YOUNGER 1", [20]),
    ("OLDER 1", list(range(1, 20))),
    ("YOUNGER 2642400", [19, 20]),
    ("YOUNGER 2642399", [20]),
    ("OLDER 2642400", list(range(1, 19))),
    ("OLDER 2642399", list(range(1, 20))),
    # MODSEQ: 101..120 but seq 3 = 500, seq 11 = 400
    ("MODSEQ 400", [3, 11]),
    ("MODSEQ 401", [3]),
    ("MODSEQ 0", ALL20),
    ("MODSEQ 119", [3, 11, 19, 20]),
    ('MODSEQ "/flags/\\\\Seen" all 120', [3, 11, 20]),
    ("MODSEQ 501", []),
    # object ids; seq 20 has none
    ("EMAILID E5", [5]),
    ("EMAILID e5", []),
    ("THREADID T1", [1, 2, 3]),
    ("THREADID T4", [4, 5]),
    ("NOT THREADID T1", list(range(4, 21))),
    # sequence numbers
    ("1:3", [1, 2, 3]),
    ("18:*", [18, 19, 20]),
    ("*:19", [19, 20]),
    ("*", [20]),
    ("3,1,2", [1, 2, 3]),
    ("25:30", []),
    ("30:*", [20]),
    ("2,4:5,19:*", [2, 4, 5, 19, 20]),
    ("NOT 2:19", [1, 20]),
    # UIDs (1 2 3 5 8 9 10 11 15 20 21 22 30 31 32 40 41 50 51 60)
    ("UID 1:5", [1, 2, 3, 4]),
    ("UID 6:7", []),
    ("UID 55:*", [20]),
    ("UID 100:*", [20]),                               # "*" is 60, so 100:* is 60:100
    ("UID *", [20]),
    ("UID 41,50:51", [17, 18, 19]),
    ("UID 4294967295", []),
    ("UID 1:4294967295", ALL20),
    ("UID 20:30 SEEN", [11, 13]),
    # text
    ("SUBJECT hello", [1, 2]),
    ('SUBJECT "HELLO WORLD"', [1, 2]),
    ("SUBJECT GRÜSSE", [3]),                           # casefold: ß == ss
    ("SUBJECT münchen", [3]),
    ('SUBJECT "long subject"', [12]),                  # unfolded
    ('SUBJECT ""', [s for s in ALL20 if s != 5]),      # every message with a Subject
    ("SUBJECT nomatch", []),
    ("SUBJECT alice", []),                             # in other fields only
    ("FROM alice", [1, 6, 7]),
    ("FROM example.org", [2]),
    ("TO bob", [1]),
    ("TO alice@example.com", [2, 3, 4, 5] + list(range(8, 21))),
    ("CC carol", [2]),
    ('CC ""', [2]),
    ("BCC audit", [4]),
    ("BCC alice", []),
    ('HEADER X-Priority ""', [6]),
    ("HEADER x-priority 1", [6]),
    ('HEADER List-Id ""', [8, 9, 10, 11, 12]),
    ("HEADER LIST-ID DEV.LISTS", [8, 9, 10, 11, 12]),
    ('HEADER Received ""', []),
    ("HEADER Subject invoice", [4, 7]),
    ("BODY invoice", [7]),
    ("TEXT invoice", [4, 7]),
    ("BODY straße", [3]),
    ("BODY STRASSE", [3]),
    ("TEXT pillarbox", [2]),
    ('BODY "body 1"', list(range(10, 20))),
    ('TEXT ""', ALL20),
    ('BODY ""', ALL20),
    ("BODY alice", []),
    # AND / OR / NOT precedence
    ("NOT SEEN FLAGGED", [4]),
    ("NOT (SEEN FLAGGED)", [s for s in ALL20 if s not in (9, 16)]),
    ("OR SEEN FLAGGED DELETED", [5, 13]),
    ("OR SEEN (FLAGGED DELETED)", SEEN_SEQS),
    ("OR OR ANSWERED DRAFT FLAGGED", [2, 4, 6, 9, 12, 16, 19]),
    ("NOT NOT SEEN", SEEN_SEQS),
    ("OR NOT SEEN DELETED", [3, 4, 5, 6, 8, 10, 12, 13, 14, 17, 20]),
    ("OR (SEEN FLAGGED) (ANSWERED UNSEEN)", [9, 12, 16]),
    ("UNSEEN SINCE 1-Mar-2024 LARGER 1000", [12, 14, 17, 20]),
    ("SEEN NOT SEEN", []),
    ("OR SEEN NOT SEEN", ALL20),
    ("(((SEEN)))", SEEN_SEQS),
    ("OR FROM alice SUBJECT invoice", [1, 4, 6, 7]),
    ("NOT OR FROM alice TEXT invoice", [s for s in ALL20 if s not in (1, 4, 6, 7)]),
    ("1:10 OR BODY body SUBJECT hello", [1, 2, 6, 8, 9, 10]),
]


@pytest.mark.parametrize("text, expected", EVALUATION)
def test_evaluate(text, expected):
    assert seqs(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("UID $", [4, 5, 20]),                              # saved 5, 8, 99 (gone), 60
    ("$", [4, 5, 20]),
    ("NOT UID $", [s for s in ALL20 if s not in (4, 5, 20)]),
    ("OR $ SEEN", sorted({4, 5, 20, *SEEN_SEQS})),
    ("$ SEEN", [5]),
    ("UID 1:3,$", [1, 2, 3, 4, 5, 20]),
    ("1,$", [1, 4, 5, 20]),
    ("UID 9:10,$", [4, 5, 6, 7, 20]),
])
def test_evaluate_saved(text, expected):
    assert seqs(text, saved=[5, 8, 99, 60]) == expected


def test_evaluate_saved_empty():
    assert seqs("UID $") == []
    assert seqs("NOT $") == ALL20


def test_evaluate_in_a_local_timezone():
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    assert seqs("ON 1-Jan-2024", timezone=plus_one) == [1]
    assert seqs("ON 2-Jan-2024", timezone=plus_one) == [2, 3, 4]
    assert seqs("SINCE 1-Jan-2025", timezone=plus_one) == [20]
    assert seqs("SAVEDON 16-Jun-2024", timezone=plus_one) == list(range(11, 20))
    minus_five = datetime.timezone(datetime.timedelta(hours=-5))
    assert seqs("ON 31-Dec-2023", timezone=minus_five) == [1]


def test_evaluate_without_savedate_support():
    assert seqs("SAVEDATESUPPORTED", savedate_supported=False) == []
    assert seqs("SAVEDSINCE 1-Jan-2000", savedate_supported=False) == []
    assert seqs("NOT SAVEDATESUPPORTED", savedate_supported=False) == ALL20


def test_evaluate_sent_date_callback():
    calls = []

    def sent(uid):
        calls.append(uid)
        return datetime.date(2020, 1, 1) if uid == 1 else None      # None: fall back to internal date

    assert seqs("SENTON 1-Jan-2020", sent_date=sent) == [1]
    assert seqs("SENTON 3-Jan-2024", sent_date=sent) == [5]


def test_rev2_evaluation_without_recent_keys():
    assert seqs("UNSEEN LARGER 1500", rev2=True) == [17, 20]


def test_empty_mailbox():
    store = FakeStore()
    context = SearchContext(messages=[], saved=[5], text_search=store.text_search,
                            header_fields=store.header_fields, now=NOW)
    for text in ("ALL", "*", "UID *", "UID $", "NOT SEEN", "SUBJECT x"):
        assert evaluate(parse(text), context) == []
    assert store.text_calls == [] and store.header_calls == []


def test_returns_message_objects_in_sequence_order():
    store = FakeStore()
    messages = make_messages()
    context = SearchContext(messages=messages, saved=[], text_search=store.text_search,
                            header_fields=store.header_fields, now=NOW)
    found = evaluate(parse("OR 20 1"), context)
    assert found == [messages[0], messages[19]]
    assert [m.record.uid for m in found] == [1, 60]


# ---------------------------------------------------------------- evaluation cost

def test_text_search_once_per_key():
    found, store = run("OR BODY invoice BODY invoice")
    assert found == [7]
    assert store.text_calls == [("body", "invoice")]              # cached within one evaluation
    found, store = run("TEXT a BODY b SUBJECT c")
    assert sorted(store.text_calls) == [("body", "b"), ("header", "c"), ("text", "a")]


def test_header_fields_only_for_prefiltered_messages():
    found, store = run("SUBJECT hello")
    assert found == [1, 2]
    assert sorted(store.header_calls) == [1, 2]                    # "hello" is in no other header
    found, store = run("SEEN SUBJECT message")
    assert found == [9, 11, 13, 15, 16, 18, 19]
    # the flag narrows first: only seen messages whose header mentions "message" are read
    assert sorted(store.header_calls) == [15, 21, 30, 32, 40, 50, 51]
    found, store = run("UID 1:3 FROM alice")
    assert found == [1]
    assert sorted(store.header_calls) == [1, 2, 3]                 # "alice" is in To: of 2 and 3


def test_no_header_fields_when_cheap_keys_exclude_everything():
    found, store = run("DELETED DRAFT SUBJECT hello")
    assert found == [] and store.header_calls == []


def test_cheap_key_after_text_key_still_narrows_headers():
    found, store = run("SUBJECT message UID 40:41")
    assert found == [16, 17]
    assert sorted(store.header_calls) == [40, 41]


def test_sent_dates_read_headers_only_for_candidates():
    found, store = run("1:2 SENTON 1-Jan-2024")
    assert found == [1, 2] and sorted(store.header_calls) == [1, 2]


def test_large_mailbox_is_fast():
    import time
    messages = []
    for seq in range(1, 100_001):
        record = MessageRecord(uid=seq * 2, flags=frozenset({"\\Seen"} if seq % 3 else ()), modseq=seq,
                               internaldate=1_700_000_000 + seq * 60, savedate=1_700_000_000, size=seq,
                               emailid=None, threadid=None)
        messages.append(Message(seq, record, False))
    context = SearchContext(messages=messages, saved=[], text_search=lambda w, t: {4, 8, 10},
                            header_fields=lambda uid: [("Subject", "x")], now=NOW)
    started = time.perf_counter()
    found = evaluate(parse("UNSEEN LARGER 50000 UID 1:* NOT DELETED OR SUBJECT x MODSEQ 99990"), context)
    assert time.perf_counter() - started < 2.0
    assert [m.seq for m in found] == [99990, 99993, 99996, 99999]


# ---------------------------------------------------------------- replies

def matches_for(seq_list):
    messages = make_messages()
    return [messages[s - 1] for s in seq_list]


def program(text, rev2=False):
    return parse(text, rev2=rev2)


RESPONSES = [
    # (search args, matching seqs, uid, expected line)
    ("SEEN", [2, 5, 9], False, b"* SEARCH 2 5 9\r\n"),
    ("SEEN", [2, 5, 9], True, b"* SEARCH 2 8 15\r\n"),
    ("SEEN", [], False, b"* SEARCH\r\n"),
    ("SEEN", [], True, b"* SEARCH\r\n"),
    ("MODSEQ 5", [2, 3, 9], False, b"* SEARCH 2 3 9 (MODSEQ 500)\r\n"),
    ("MODSEQ 5", [2, 9], True, b"* SEARCH 2 15 (MODSEQ 109)\r\n"),
    ("MODSEQ 5", [], False, b"* SEARCH\r\n"),                         # no MODSEQ for an empty result
    ("RETURN (MIN MAX COUNT ALL) SEEN", [2, 5, 6, 7, 8, 9], True,
     b'* ESEARCH (TAG "a1") UID MIN 2 MAX 15 COUNT 6 ALL 2,8:11,15\r\n'),
    ("RETURN (MIN MAX COUNT ALL) SEEN", [2, 5, 6, 7, 8, 9], False,
     b'* ESEARCH (TAG "a1") MIN 2 MAX 9 COUNT 6 ALL 2,5:9\r\n'),
    ("RETURN (ALL COUNT MAX MIN) SEEN", [], True, b'* ESEARCH (TAG "a1") UID COUNT 0\r\n'),
    ("RETURN (MIN) SEEN", [], False, b'* ESEARCH (TAG "a1")\r\n'),
    ("RETURN () SEEN", [1, 2, 3, 10], False, b'* ESEARCH (TAG "a1") ALL 1:3,10\r\n'),
    ("RETURN () SEEN", [], False, b'* ESEARCH (TAG "a1")\r\n'),
    ("RETURN (COUNT) SEEN", [4], False, b'* ESEARCH (TAG "a1") COUNT 1\r\n'),
    ("RETURN (MIN) SEEN", [4, 7], False, b'* ESEARCH (TAG "a1") MIN 4\r\n'),
    ("RETURN (MAX) SEEN", [4, 7], True, b'* ESEARCH (TAG "a1") UID MAX 10\r\n'),
    ("RETURN (ALL) SEEN", [20], True, b'* ESEARCH (TAG "a1") UID ALL 60\r\n'),
    ("RETURN (SAVE) SEEN", [1, 2], False, b""),                        # SAVE alone: no reply
    ("RETURN (SAVE) SEEN", [], True, b""),
    ("RETURN (SAVE COUNT) SEEN", [1, 2], False, b'* ESEARCH (TAG "a1") COUNT 2\r\n'),
    # MODSEQ in ESEARCH (RFC 4731 3.2)
    ("RETURN (ALL) MODSEQ 5", [1, 3, 4], False, b'* ESEARCH (TAG "a1") ALL 1,3:4 MODSEQ 500\r\n'),
    ("RETURN (COUNT) MODSEQ 5", [1, 3, 4], False, b'* ESEARCH (TAG "a1") COUNT 3 MODSEQ 500\r\n'),
    ("RETURN (MIN) MODSEQ 5", [1, 3, 4], False, b'* ESEARCH (TAG "a1") MIN 1 MODSEQ 101\r\n'),
    ("RETURN (MAX) MODSEQ 5", [1, 3, 4], False, b'* ESEARCH (TAG "a1") MAX 4 MODSEQ 104\r\n'),
    ("RETURN (MIN MAX) MODSEQ 5", [1, 3, 4], True, b'* ESEARCH (TAG "a1") UID MIN 1 MAX 5 MODSEQ 104\r\n'),
    ("RETURN (MIN MAX) MODSEQ 5", [3], False, b'* ESEARCH (TAG "a1") MIN 3 MAX 3 MODSEQ 500\r\n'),
    ("RETURN (MIN COUNT) MODSEQ 5", [1, 3, 4], False, b'* ESEARCH (TAG "a1") MIN 1 COUNT 3 MODSEQ 500\r\n'),
    ("RETURN (MIN MAX COUNT) MODSEQ 5", [], False, b'* ESEARCH (TAG "a1") COUNT 0\r\n'),
    ("RETURN (SAVE) MODSEQ 5", [1], False, b""),
]


@pytest.mark.parametrize("text, found, uid, expected", RESPONSES)
def test_format_response(text, found, uid, expected):
    line = format_search_response(matches_for(found), uid=uid, program=program(text), tag="a1", highest_modseq=None)
    assert line == expected


def test_rev2_plain_search_answers_with_esearch():
    line = format_search_response(matches_for([2, 10, 11]), uid=False, program=program("SEEN", rev2=True),
                                  tag="A282", highest_modseq=None)
    assert line == b'* ESEARCH (TAG "A282") ALL 2,10:11\r\n'
    line = format_search_response([], uid=True, program=program("SEEN", rev2=True), tag="A283",
                                  highest_modseq=None)
    assert line == b'* ESEARCH (TAG "A283") UID\r\n'


def test_highest_modseq_override_and_no_tag():
    line = format_search_response(matches_for([1]), uid=False, program=program("MODSEQ 1"), tag="x",
                                  highest_modseq=917162500)
    assert line == b"* SEARCH 1 (MODSEQ 917162500)\r\n"
    line = format_search_response(matches_for([1]), uid=False, program=program("RETURN (COUNT) ALL"), tag=None)
    assert line == b"* ESEARCH COUNT 1\r\n"


def test_modseq_only_when_a_modseq_key_was_used():
    line = format_search_response(matches_for([1]), uid=False, program=program("SEEN"), tag="t",
                                  highest_modseq=999)
    assert line == b"* SEARCH 1\r\n"


def test_format_large_all():
    found = matches_for(ALL20)
    line = format_search_response(found, uid=True, program=program("RETURN (ALL) ALL"), tag="t")
    assert line == b'* ESEARCH (TAG "t") UID ALL 1:3,5,8:11,15,20:22,30:32,40:41,50:51,60\r\n'
    line = format_search_response(found, uid=False, program=program("RETURN (ALL) ALL"), tag="t")
    assert line == b'* ESEARCH (TAG "t") ALL 1:20\r\n'


@pytest.mark.parametrize("text, found, expected", [
    ("RETURN (SAVE) ALL", [1, 4, 20], [1, 5, 60]),
    ("RETURN (SAVE ALL) ALL", [1, 4, 20], [1, 5, 60]),
    ("RETURN (SAVE COUNT) ALL", [1, 4, 20], [1, 5, 60]),
    ("RETURN (SAVE MIN) ALL", [1, 4, 20], [1]),
    ("RETURN (SAVE MAX) ALL", [1, 4, 20], [60]),
    ("RETURN (SAVE MIN MAX) ALL", [1, 4, 20], [1, 60]),
    ("RETURN (SAVE MIN MAX) ALL", [4], [5]),
    ("RETURN (SAVE MIN COUNT) ALL", [1, 4, 20], [1, 5, 60]),
    ("RETURN (SAVE MIN MAX) ALL", [], []),
])
def test_saved_uids(text, found, expected):
    assert saved_uids(program(text), matches_for(found)) == expected


def test_end_to_end_save_then_use():
    messages = make_messages()
    store = FakeStore()
    first = parse("RETURN (SAVE MIN MAX) FLAGGED")
    context = SearchContext(messages=messages, saved=[], text_search=store.text_search,
                            header_fields=store.header_fields, now=NOW)
    found = evaluate(first, context)
    assert format_search_response(found, uid=False, program=first, tag="t1") == b'* ESEARCH (TAG "t1") MIN 4 MAX 16\r\n'
    context.saved = saved_uids(first, found)
    assert context.saved == [5, 40]
    second = parse("UID $")
    found = evaluate(second, context)
    assert format_search_response(found, uid=True, program=second, tag="t2") == b"* SEARCH 5 40\r\n"


# ---------------------------------------------------------------- with the real command tokenizer

def test_tokens_from_the_command_parser():
    from imapd.protocol.parser import parse_command
    from imapd.protocol.reader import Literal, RawCommand

    command = parse_command(RawCommand((
        b'a1 UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR SUBJECT "Gr\xc3\xbc\xc3\x9fe" BODY {7}',
        Literal("München".encode()), b" 1:* NOT $ HEADER List-Id NIL",
    )))
    assert command.name == "UID" and command.args[0].upper() == "SEARCH"
    program = parse_search(list(command.args[1:]), esearch_allowed=True, imap4rev2=False)
    assert program.return_options == ("MIN", "COUNT") and program.save and program.charset == "UTF-8"
    assert program.uses_saved and not program.uses_modseq
    assert program.key == And((
        Or(Key("HEADER", ("Subject", "Grüße")), Key("BODY", "München")),
        Key("SEQ", SequenceSet.parse("1:*")),
        Not(Key("SEQ", DOLLAR)),
        Key("HEADER", ("List-Id", "NIL")),
    ))
