"""imapd.fetch: FETCH item parsing, sections, ENVELOPE/BODYSTRUCTURE, responses.

Expected bytes are written by hand from RFC 3501 / RFC 9051 (section 6.4.5,
7.4.2 / 7.5.2, the sample session in section 8), RFC 3516, RFC 7162, RFC 8474
and RFC 8514. MessageData is built from real pillarbox.mime.parse_message
results of the sample messages below.
"""

from __future__ import annotations

import base64
import calendar
import json
import time

import pytest

from imapd.fetch import (FLAGS_ITEM, FetchError, FetchFailed, FetchItem, MessageData,
                         UnknownCTE, extract_section, fetch_response, format_bodystructure,
                         format_envelope, format_internaldate, parse_fetch_command,
                         parse_fetch_items)
from imapd.protocol.parser import parse_command
from imapd.protocol.reader import Literal, RawCommand
from imapd.protocol.tokens import Atom, List, String
from pillarbox.mime import parse_message
from pillarbox.store.records import MessageRecord

# --- sample messages ---------------------------------------------------------------------

# RFC 3501 section 8: "a003 fetch 12 full" -- the header of the sample
# session; a body of 92 lines and 3028 octets to match its BODY.
RFC_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n")
RFC_BODY = b"".join([b"m" * 31 + b"\r\n"] * 84 + [b"n" * 30 + b"\r\n"] * 8)
RFC_MESSAGE = RFC_HEADER + RFC_BODY
assert len(RFC_BODY) == 3028 and RFC_BODY.count(b"\n") == 92

# RFC 3501 7.4.2: "a two part message consisting of a text and a
# BASE64-encoded text attachment": parts of 1152 octets / 23 lines and
# 4554 octets / 73 lines.
TWO_P1 = b"".join([b"a" * 49 + b"\r\n"] * 2 + [b"b" * 48 + b"\r\n"] * 21)
DIFF = b"".join(b"+ changed line %05d of the diff\r\n" % i for i in range(97)) + b"+ end.\r\n"
_b64 = base64.b64encode(DIFF)
_lines, _pos = [], 0
for _n in [64] * 7 + [60] * 66:
    _lines.append(_b64[_pos:_pos + _n] + b"\r\n")
    _pos += _n
TWO_P2 = b"".join(_lines)
assert _pos == len(_b64) == 4408
assert len(TWO_P1) == 1152 and TWO_P1.count(b"\n") == 23
assert len(TWO_P2) == 4554 and TWO_P2.count(b"\n") == 73
TWO_PART = (
    b"From: someone@example.org\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: MULTIPART/MIXED; BOUNDARY=\"x\"\r\n"
    b"\r\n"
    b"--x\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n" + TWO_P1 + b"\r\n"
    b"--x\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
    b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
    b"Content-Description: Compiler diff\r\n"
    b"Content-Transfer-Encoding: BASE64\r\n"
    b"\r\n" + TWO_P2 + b"\r\n"
    b"--x--\r\n")

# multipart/mixed: a quoted-printable text, a message/rfc822 holding a
# multipart/alternative, a base64 attachment
MIXED_HEADER = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.com>,\r\n"
    b" Carol <carol@example.com>\r\n"
    b"Subject: Test\r\n"
    b" folded subject\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    b"Message-ID: <m3@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n")
MIXED_TEXT = (
    b"preamble\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 =\r\n"
    b"au lait\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Description: forwarded\r\n"
    b"\r\n"
    b"From: Dave <dave@example.net>\r\n"
    b"Subject: inner\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"plain\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<b>html</b>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--outer--\r\n"
    b"epilogue\r\n")
MIXED = MIXED_HEADER + MIXED_TEXT
INNER_HEADER = (
    b"From: Dave <dave@example.net>\r\n"
    b"Subject: inner\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    b"\r\n")
# pillarbox.mime keeps the line break after a nested close delimiter in the
# nested part (tests/unit/test_mime.py, case_nested_message_rfc822)
INNER_TEXT = (
    b"--inner\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"plain\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<b>html</b>\r\n"
    b"--inner--\r\n")

SIMPLE = (b"Subject: hi\r\n"
          b"X-Long: one\r\n"
          b"\ttwo\r\n"
          b"From: a@example.org\r\n"
          b"\r\n"
          b"hello\r\n"
          b"world\r\n")

NO_BODY = b"Subject: header only\r\nFrom: a@example.org"


def record(**kw) -> MessageRecord:
    values = dict(uid=5, flags=frozenset({"\\Seen"}), modseq=12345,
                  internaldate=calendar.timegm((1996, 7, 17, 9, 44, 25)),
                  savedate=calendar.timegm((2024, 3, 5, 6, 7, 8)),
                  size=4286, emailid="M6d99ac3275bb4e", threadid="T64b478a1f6")
    values.update(kw)
    return MessageRecord(**values)


def message_data(message: bytes, seq: int = 12, recent: bool = False, **kw) -> MessageData:
    parsed = parse_message(message)
    # the store caches the structures as JSON
    envelope = json.loads(json.dumps(parsed.envelope))
    body = json.loads(json.dumps(parsed.body))
    kw.setdefault("size", len(message))
    return MessageData(seq, record(**kw), recent, lambda: message, lambda: (envelope, body))


def items_of(spec, uid: bool = False):
    tok = Atom(spec) if isinstance(spec, str) else List(tuple(Atom(s) for s in spec))
    return parse_fetch_items([tok], uid_command=uid)[0]


def fetch(message: bytes, spec, *, utf8=False, rev2=False, uid=False, **kw) -> bytes:
    data = message_data(message, **kw)
    return fetch_response(data, items_of(spec, uid), utf8=utf8, imap4rev2=rev2)


# --- item parsing ----------------------------------------------------------------------

def names(items):
    return [i.name for i in items]


@pytest.mark.parametrize("spec, uid, expected", [
    ("ALL", False, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]),
    ("fast", False, ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]),
    ("Full", False, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]),
    ("FULL", True, ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]),
    ("flags", False, ["FLAGS"]),
    ("flags", True, ["UID", "FLAGS"]),
    (["FLAGS", "UID"], True, ["FLAGS", "UID"]),
    (["uid", "flags"], False, ["UID", "FLAGS"]),
    (["ENVELOPE", "BODYSTRUCTURE", "BODY", "INTERNALDATE", "RFC822.SIZE", "RFC822",
      "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "EMAILID", "THREADID", "SAVEDATE"], False,
     ["ENVELOPE", "BODYSTRUCTURE", "BODY", "INTERNALDATE", "RFC822.SIZE", "RFC822",
      "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "EMAILID", "THREADID", "SAVEDATE"]),
    (["FLAGS", "flags", "UID", "UID"], False, ["FLAGS", "UID"]),
])
def test_item_names_and_macros(spec, uid, expected):
    assert names(items_of(spec, uid)) == expected


@pytest.mark.parametrize("text, expected", [
    ("BODY[]", FetchItem("BODY", raw_section="")),
    ("body.peek[]", FetchItem("BODY.PEEK", raw_section="")),
    ("BODY[HEADER]", FetchItem("BODY", part="HEADER", raw_section="HEADER")),
    ("BODY.PEEK[text]", FetchItem("BODY.PEEK", part="TEXT", raw_section="TEXT")),
    ("BODY[1]", FetchItem("BODY", (1,), raw_section="1")),
    ("BODY[4.2.2.1]", FetchItem("BODY", (4, 2, 2, 1), raw_section="4.2.2.1")),
    ("BODY[4.1.mime]", FetchItem("BODY", (4, 1), "MIME", raw_section="4.1.MIME")),
    ("BODY[3.HEADER]", FetchItem("BODY", (3,), "HEADER", raw_section="3.HEADER")),
    ("BODY[3.TEXT]<0.100>", FetchItem("BODY", (3,), "TEXT", (), (0, 100), "3.TEXT")),
    ("BODY[HEADER.FIELDS (DATE FROM)]",
     FetchItem("BODY", (), "HEADER.FIELDS", ("DATE", "FROM"), None, "HEADER.FIELDS (DATE FROM)")),
    ('BODY.PEEK[header.fields.not (Subject "x-Y")]<10.5>',
     FetchItem("BODY.PEEK", (), "HEADER.FIELDS.NOT", ("SUBJECT", "X-Y"), (10, 5),
               "HEADER.FIELDS.NOT (SUBJECT X-Y)")),
    ('BODY[2.HEADER.FIELDS ("a]b" c)]',
     FetchItem("BODY", (2,), "HEADER.FIELDS", ("A]B", "C"), None, '2.HEADER.FIELDS ("A]B" C)')),
    ("BINARY[1.2]", FetchItem("BINARY", (1, 2), raw_section="1.2")),
    ("binary.peek[3]<4.5>", FetchItem("BINARY.PEEK", (3,), None, (), (4, 5), "3")),
    ("BINARY[]", FetchItem("BINARY", raw_section="")),
    ("BINARY.SIZE[2]", FetchItem("BINARY.SIZE", (2,), raw_section="2")),
    ("RFC822.HEADER", FetchItem("RFC822.HEADER", part="HEADER")),
    ("RFC822.TEXT", FetchItem("RFC822.TEXT", part="TEXT")),
    ("RFC822", FetchItem("RFC822")),
    ("BODY", FetchItem("BODY")),
])
def test_attribute_forms(text, expected):
    assert items_of(text) == [expected]


@pytest.mark.parametrize("text, label", [
    ("BODY.PEEK[HEADER]", "BODY[HEADER]"),
    ("body[header.fields (from to)]<0.2048>", "BODY[HEADER.FIELDS (FROM TO)]<0>"),
    ("BINARY.PEEK[1]<7.3>", "BINARY[1]<7>"),
    ("binary.size[1]", "BINARY.SIZE[1]"),
    ("rfc822.size", "RFC822.SIZE"),
])
def test_labels(text, label):
    assert items_of(text)[0].label == label


@pytest.mark.parametrize("tokens", [
    [Atom("FOO")],
    [Atom("BODY[")],
    [Atom("BODY[TEXT")],
    [Atom("BODY[0]")],
    [Atom("BODY[01]")],
    [Atom("BODY[1.]")],
    [Atom("BODY[.1]")],
    [Atom("BODY[1..2]")],
    [Atom("BODY[MIME]")],
    [Atom("BODY[HEADER.FIELDS]")],
    [Atom("BODY[HEADER.FIELDS ()]")],
    [Atom("BODY[HEADER.FIELDS (a {3})]")],
    [Atom("BODY[TEXT (a)]")],
    [Atom("BODY[HEADERS]")],
    [Atom("BODY[1]<0.0>")],
    [Atom("BODY[1]<5>")],
    [Atom("BODY[1]<a.b>")],
    [Atom("BODY[1]junk")],
    [Atom("BODY[4294967296]")],
    [Atom("BODY.PEEK")],
    [Atom("BINARY")],
    [Atom("BINARY[HEADER]")],
    [Atom("BINARY[1.MIME]")],
    [Atom("BINARY.SIZE[1]<0.10>")],
    [Atom("BINARY.SIZE.PEEK[1]")],
    [Atom("RFC822.PEEK")],
    [List(())],
    [List((Atom("ALL"),))],
    [List((Atom("FLAGS"), Atom("FAST")))],
    [List((Atom("FLAGS"), String(b"UID")))],
    [String(b"FLAGS")],
    [],
    [Atom("FLAGS"), Atom("UID")],
])
def test_item_errors(tokens):
    with pytest.raises(FetchError) as info:
        parse_fetch_items(tokens, uid_command=False)
    assert str(info.value)


@pytest.mark.parametrize("spec, needs_body, sets_seen", [
    ("FLAGS", False, False),
    ("ALL", False, False),
    ("FULL", False, False),
    ("BODY", False, False),
    ("BODYSTRUCTURE", False, False),
    ("RFC822.SIZE", False, False),
    ("BODY[]", True, True),
    ("BODY[HEADER]", True, True),
    ("BODY[1.MIME]", True, True),
    ("BODY.PEEK[]", True, False),
    ("BODY.PEEK[TEXT]<0.10>", True, False),
    ("RFC822", True, True),
    ("RFC822.TEXT", True, True),
    ("RFC822.HEADER", True, False),
    ("BINARY[1]", True, True),
    ("BINARY.PEEK[1]", True, False),
    ("BINARY.SIZE[1]", True, False),
    (["BODY.PEEK[1]", "BODY[1]"], True, True),     # one response item, still \Seen
])
def test_needs_body_and_seen(spec, needs_body, sets_seen):
    tok = Atom(spec) if isinstance(spec, str) else List(tuple(map(Atom, spec)))
    _items, nb, ss = parse_fetch_items([tok], uid_command=False)
    assert (nb, ss) == (needs_body, sets_seen)


def test_duplicate_section_items_are_fetched_once():
    items = items_of(["BODY.PEEK[1]", "BODY[1]", "BODY[1]<0.5>", "BODY.PEEK[1]<0.5>"])
    assert [i.label for i in items] == ["BODY[1]", "BODY[1]<0>"]


def test_header_list_split_into_tokens_is_joined():
    # a tokenizer that splits "BODY[HEADER.FIELDS (a b)]" (Dovecot's view)
    tokens = [List((Atom("UID"), Atom("BODY.PEEK[HEADER.FIELDS"),
                    List((Atom("From"), String(b"To"))), Atom("]<0.10>")))]
    items, _, _ = parse_fetch_items(tokens, uid_command=False)
    assert items[1] == FetchItem("BODY.PEEK", (), "HEADER.FIELDS", ("FROM", "TO"), (0, 10),
                                 "HEADER.FIELDS (FROM TO)")


def test_items_from_the_command_parser():
    # what imapd.protocol.parser makes of a real command line, literal included
    raw = RawCommand((b'A1 UID FETCH 1:* (FLAGS body.peek[HEADER.FIELDS (From "To" {4}',
                      Literal(b"X-Y]"), b')]<0.100> BODY[1.2.MIME] binary.size[3])'))
    cmd = parse_command(raw)
    assert cmd.name == "UID" and cmd.args[0].upper() == "FETCH"
    items, needs_body, sets_seen = parse_fetch_items(list(cmd.args[2:]), uid_command=True)
    assert [i.label for i in items] == [
        "UID", "FLAGS", 'BODY[HEADER.FIELDS (FROM TO "X-Y]")]<0>', "BODY[1.2.MIME]", "BINARY.SIZE[3]"]
    assert items[2].partial == (0, 100) and (needs_body, sets_seen) == (True, True)


def test_fetch_command_modifiers():
    req = parse_fetch_command([List((Atom("FLAGS"),)),
                               List((Atom("CHANGEDSINCE"), Atom("12345"), Atom("VANISHED")))],
                              uid_command=True)
    assert names(req.items) == ["UID", "FLAGS", "MODSEQ"]
    assert (req.changedsince, req.vanished, req.condstore) == (12345, True, True)
    assert not req.needs_body and not req.needs_structure

    req = parse_fetch_command([Atom("ENVELOPE")], uid_command=False)
    assert (req.changedsince, req.vanished, req.condstore, req.needs_structure) == (None, False, False, True)
    assert parse_fetch_command([Atom("MODSEQ")], uid_command=False).condstore
    assert parse_fetch_command([Atom("BODY.PEEK[2.1]")], uid_command=False).needs_structure
    assert not parse_fetch_command([Atom("BODY.PEEK[HEADER]")], uid_command=False).needs_structure

    for bad, uid in [
        ([Atom("FLAGS"), List((Atom("VANISHED"),))], True),            # without CHANGEDSINCE
        ([Atom("FLAGS"), List((Atom("CHANGEDSINCE"), Atom("1"), Atom("VANISHED")))], False),
        ([Atom("FLAGS"), List((Atom("CHANGEDSINCE"),))], False),
        ([Atom("FLAGS"), List((Atom("CHANGEDSINCE"), Atom("x")))], False),
        ([Atom("FLAGS"), List((Atom("CHANGEDSINCE"), Atom("1"), Atom("CHANGEDSINCE"), Atom("2")))], False),
        ([Atom("FLAGS"), List((Atom("FOO"),))], False),
        ([Atom("FLAGS"), List(())], False),
        ([Atom("FLAGS"), Atom("CHANGEDSINCE")], False),
        ([Atom("FLAGS"), List(()), List(())], False),
    ]:
        with pytest.raises(FetchError):
            parse_fetch_command(bad, uid_command=uid)


# --- responses: the RFC examples ------------------------------------------------------

RFC_ENVELOPE = (
    b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'((NIL NIL "imap" "cac.washington.edu")) '
    b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>")')


def test_rfc3501_sample_fetch_full():
    # RFC 3501 section 8, "a003 fetch 12 full" (INTERNALDATE in UTC)
    assert fetch(RFC_MESSAGE, "FULL", size=4286) == (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 09:44:25 +0000" '
        b"RFC822.SIZE 4286 ENVELOPE " + RFC_ENVELOPE +
        b' BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n')


def test_rfc3501_sample_body_header():
    # "a004 fetch 12 body[header]"
    assert fetch(RFC_MESSAGE, "body[header]") == (
        b"* 12 FETCH (BODY[HEADER] {%d}\r\n" % len(RFC_HEADER) + RFC_HEADER + b")\r\n")


def test_rfc3501_two_part_body():
    # RFC 3501 7.4.2, the two part example, BODY (no extension data)
    assert fetch(TWO_PART, "BODY", seq=1) == (
        b'* 1 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED"))\r\n')


def test_rfc3501_two_part_bodystructure():
    assert fetch(TWO_PART, "BODYSTRUCTURE", seq=1) == (
        b'* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23'
        b' NIL NIL NIL NIL)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73'
        b' NIL NIL NIL NIL)'
        b' "MIXED" ("BOUNDARY" "x") NIL NIL NIL))\r\n')


def test_rfc3501_simple_text_bodystructure():
    # 7.4.2: ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48)
    body = parse_message(b"Content-Type: text/plain; charset=US-ASCII\r\n\r\n"
                         + b"".join([b"y" * 45 + b"\r\n"] * 48) + b"y" * 23).body
    assert format_bodystructure(body, extended=False, utf8=False) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48)')


def test_binary_of_the_base64_attachment():
    out = fetch(TWO_PART, ["BINARY.PEEK[2]", "BINARY.SIZE[2]"], seq=1)
    assert out == (b"* 1 FETCH (BINARY[2] {3306}\r\n" + DIFF + b" BINARY.SIZE[2] 3306)\r\n")
    # encoded octets through BODY[2]
    assert fetch(TWO_PART, "BODY.PEEK[2]", seq=1) == (
        b"* 1 FETCH (BODY[2] {4554}\r\n" + TWO_P2 + b")\r\n")


# --- sections of a multipart/mixed with a nested message/rfc822 ----------------------------

SECTIONS = [
    # (attribute, label, data)
    ("BODY.PEEK[]", b"BODY[]", MIXED),
    ("RFC822", b"RFC822", MIXED),
    ("BODY.PEEK[HEADER]", b"BODY[HEADER]", MIXED_HEADER),
    ("RFC822.HEADER", b"RFC822.HEADER", MIXED_HEADER),
    ("BODY.PEEK[TEXT]", b"BODY[TEXT]", MIXED_TEXT),
    ("RFC822.TEXT", b"RFC822.TEXT", MIXED_TEXT),
    ("BODY.PEEK[1]", b"BODY[1]", b"caf=C3=A9 =\r\nau lait"),
    ("BODY.PEEK[1.MIME]", b"BODY[1.MIME]",
     b"Content-Type: text/plain; charset=utf-8\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"),
    ("BODY.PEEK[2]", b"BODY[2]", INNER_HEADER + INNER_TEXT),
    ("BODY.PEEK[2.MIME]", b"BODY[2.MIME]",
     b"Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"),
    ("BODY.PEEK[2.HEADER]", b"BODY[2.HEADER]", INNER_HEADER),
    ("BODY.PEEK[2.TEXT]", b"BODY[2.TEXT]", INNER_TEXT),
    ("BODY.PEEK[2.1]", b"BODY[2.1]", b"plain"),
    ("BODY.PEEK[2.1.MIME]", b"BODY[2.1.MIME]", b"Content-Type: text/plain\r\n\r\n"),
    ("BODY.PEEK[2.2]", b"BODY[2.2]", b"<b>html</b>"),
    ("BODY.PEEK[3]", b"BODY[3]", b"AAECAw=="),
    ("BODY.PEEK[3.MIME]", b"BODY[3.MIME]",
     b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
     b"Content-Transfer-Encoding: base64\r\n"
     b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (to SUBJECT)]", b"BODY[HEADER.FIELDS (TO SUBJECT)]",
     b"To: Bob <bob@example.com>,\r\n Carol <carol@example.com>\r\n"
     b"Subject: Test\r\n folded subject\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS.NOT (To Subject Content-Type)]",
     b"BODY[HEADER.FIELDS.NOT (TO SUBJECT CONTENT-TYPE)]",
     b"From: Alice <alice@example.org>\r\n"
     b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
     b"Message-ID: <m3@example.org>\r\n"
     b"MIME-Version: 1.0\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (X-Nonexistent)]", b"BODY[HEADER.FIELDS (X-NONEXISTENT)]", b"\r\n"),
    ("BODY.PEEK[2.HEADER.FIELDS (SUBJECT from)]", b"BODY[2.HEADER.FIELDS (SUBJECT FROM)]",
     b"From: Dave <dave@example.net>\r\nSubject: inner\r\n\r\n"),
    # partials: the key carries the origin only, the data is clamped
    ("BODY.PEEK[1]<0.4>", b"BODY[1]<0>", b"caf="),
    ("BODY.PEEK[1]<4.6>", b"BODY[1]<4>", b"C3=A9 "),
    ("BODY.PEEK[1]<15.100>", b"BODY[1]<15>", b" lait"),
    ("BODY.PEEK[1]<20.1>", b"BODY[1]<20>", b""),
    ("BODY.PEEK[1]<4000000000.1>", b"BODY[1]<4000000000>", b""),
    ("BODY.PEEK[]<0.100000>", b"BODY[]<0>", MIXED),
    ("BODY.PEEK[HEADER.FIELDS (subject)]<6.7>", b"BODY[HEADER.FIELDS (SUBJECT)]<6>", b"t: Test"),
    # sections that do not exist are empty strings (as Dovecot sends them)
    ("BODY.PEEK[4]", b"BODY[4]", b""),
    ("BODY.PEEK[2.3]", b"BODY[2.3]", b""),
    ("BODY.PEEK[2.1.1]", b"BODY[2.1.1]", b""),
    ("BODY.PEEK[1.HEADER]", b"BODY[1.HEADER]", b""),
    ("BODY.PEEK[3.TEXT]", b"BODY[3.TEXT]", b""),
    ("BODY.PEEK[2.1.HEADER]", b"BODY[2.1.HEADER]", b""),
    ("BODY.PEEK[9.MIME]", b"BODY[9.MIME]", b""),
    ("BODY.PEEK[4]<0.10>", b"BODY[4]<0>", b""),
]


@pytest.mark.parametrize("spec, label, data", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_sections_of_mixed_message(spec, label, data):
    assert fetch(MIXED, spec, seq=3) == (
        b"* 3 FETCH (" + label + b" {%d}\r\n" % len(data) + data + b")\r\n")


BINARY_SECTIONS = [
    ("BINARY.PEEK[1]", b"BINARY[1] {13}\r\ncaf\xc3\xa9 au lait"),
    ("BINARY.PEEK[1]<3.2>", b"BINARY[1]<3> {2}\r\n\xc3\xa9"),
    ("BINARY.SIZE[1]", b"BINARY.SIZE[1] 13"),
    ("BINARY.PEEK[3]", b"BINARY[3] ~{4}\r\n\x00\x01\x02\x03"),
    ("BINARY.PEEK[3]<1.2>", b"BINARY[3]<1> {2}\r\n\x01\x02"),
    ("BINARY.PEEK[3]<0.2>", b"BINARY[3]<0> ~{2}\r\n\x00\x01"),
    ("BINARY.PEEK[3]<2.10>", b"BINARY[3]<2> {2}\r\n\x02\x03"),
    ("BINARY.PEEK[3]<1.1>", b"BINARY[3]<1> {1}\r\n\x01"),
    ("BINARY.SIZE[3]", b"BINARY.SIZE[3] 4"),
    ("BINARY.PEEK[2.1]", b"BINARY[2.1] {5}\r\nplain"),
    ("BINARY.PEEK[4]", b"BINARY[4] {0}\r\n"),
    ("BINARY.SIZE[4]", b"BINARY.SIZE[4] 0"),
    # non-leaf parts (RFC 9051 allows leaves only): their octets as they are
    ("BINARY.PEEK[2]", b"BINARY[2] {%d}\r\n" % len(INNER_HEADER + INNER_TEXT) + INNER_HEADER + INNER_TEXT),
    ("BINARY.SIZE[]", b"BINARY.SIZE[] %d" % len(MIXED)),
]


@pytest.mark.parametrize("spec, expected", BINARY_SECTIONS, ids=[s[0] for s in BINARY_SECTIONS])
def test_binary_sections(spec, expected):
    assert fetch(MIXED, spec, seq=3) == b"* 3 FETCH (" + expected + b")\r\n"


def test_mixed_bodystructure():
    inner_env = (b'(NIL "inner" (("Dave" NIL "dave" "example.net")) (("Dave" NIL "dave" "example.net")) '
                 b'(("Dave" NIL "dave" "example.net")) NIL NIL NIL NIL NIL)')
    assert fetch(MIXED, "BODYSTRUCTURE", seq=3) == (
        b'* 3 FETCH (BODYSTRUCTURE ('
        b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 1 NIL NIL NIL NIL)'
        b'("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" 227 ' + inner_env + b' '
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 0 NIL NIL NIL NIL)'
        b'("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 0 NIL NIL NIL NIL)'
        b' "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)'
        b' 14 NIL NIL NIL NIL)'
        b'("APPLICATION" "OCTET-STREAM" ("NAME" "a.bin") NIL NIL "BASE64" 8'
        b' NIL ("ATTACHMENT" ("FILENAME" "a.bin")) NIL NIL)'
        b' "MIXED" ("BOUNDARY" "outer") NIL NIL NIL))\r\n')
    assert len(INNER_HEADER + INNER_TEXT) == 227


def test_mixed_body_has_no_extension_data_at_any_level():
    inner_env = (b'(NIL "inner" (("Dave" NIL "dave" "example.net")) (("Dave" NIL "dave" "example.net")) '
                 b'(("Dave" NIL "dave" "example.net")) NIL NIL NIL NIL NIL)')
    assert fetch(MIXED, "BODY", seq=3) == (
        b'* 3 FETCH (BODY ('
        b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 1)'
        b'("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" 227 ' + inner_env + b' '
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 0)'
        b'("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 0) "ALTERNATIVE") 14)'
        b'("APPLICATION" "OCTET-STREAM" ("NAME" "a.bin") NIL NIL "BASE64" 8) "MIXED"))\r\n')


def test_mixed_envelope():
    assert fetch(MIXED, "ENVELOPE", seq=3) == (
        b'* 3 FETCH (ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "Test folded subject" '
        b'(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) '
        b'(("Alice" NIL "alice" "example.org")) '
        b'(("Bob" NIL "bob" "example.com")("Carol" NIL "carol" "example.com")) '
        b'NIL NIL NIL "<m3@example.org>"))\r\n')


def test_items_in_requested_order_in_one_response():
    out = fetch(MIXED, ["BODY.PEEK[2.1]", "UID", "BINARY.SIZE[3]", "FLAGS", "BODY.PEEK[1]<0.3>"],
                seq=3, uid=True)
    assert out == (b"* 3 FETCH (BODY[2.1] {5}\r\nplain UID 5 BINARY.SIZE[3] 4 "
                   b"FLAGS (\\Seen) BODY[1]<0> {3}\r\ncaf)\r\n")


# --- smaller messages ------------------------------------------------------------------

def test_non_multipart_part_one_is_the_body():
    assert fetch(SIMPLE, "BODY.PEEK[1]", seq=1) == b"* 1 FETCH (BODY[1] {14}\r\nhello\r\nworld\r\n)\r\n"
    assert fetch(SIMPLE, "BODY.PEEK[TEXT]", seq=1) == b"* 1 FETCH (BODY[TEXT] {14}\r\nhello\r\nworld\r\n)\r\n"
    # 1.MIME of a non-multipart message is its header
    header = b"Subject: hi\r\nX-Long: one\r\n\ttwo\r\nFrom: a@example.org\r\n\r\n"
    assert fetch(SIMPLE, "BODY.PEEK[1.MIME]", seq=1) == (
        b"* 1 FETCH (BODY[1.MIME] {%d}\r\n" % len(header) + header + b")\r\n")
    assert fetch(SIMPLE, "BODY.PEEK[2]", seq=1) == b"* 1 FETCH (BODY[2] {0}\r\n)\r\n"
    assert fetch(SIMPLE, "BODY.PEEK[1.1]", seq=1) == b"* 1 FETCH (BODY[1.1] {0}\r\n)\r\n"
    assert fetch(SIMPLE, "BODY", seq=1) == (
        b'* 1 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 2))\r\n')
    assert fetch(SIMPLE, "BODYSTRUCTURE", seq=1) == (
        b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 2'
        b' NIL NIL NIL NIL))\r\n')


@pytest.mark.parametrize("spec, data", [
    ("BODY.PEEK[HEADER.FIELDS (x-long)]", b"X-Long: one\r\n\ttwo\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (X-LONG FROM)]", b"X-Long: one\r\n\ttwo\r\nFrom: a@example.org\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS.NOT (x-long)]", b"Subject: hi\r\nFrom: a@example.org\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS.NOT (Subject)]", b"X-Long: one\r\n\ttwo\r\nFrom: a@example.org\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (X-Lon)]", b"\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (\"x-long\")]<5.6>", b"g: one"),
])
def test_header_fields_with_folded_lines(spec, data):
    out = fetch(SIMPLE, spec, seq=1)
    assert out.endswith(b" {%d}\r\n" % len(data) + data + b")\r\n")


def test_header_without_blank_line_and_no_body():
    assert fetch(NO_BODY, "BODY.PEEK[HEADER]", seq=1) == (
        b"* 1 FETCH (BODY[HEADER] {%d}\r\n" % len(NO_BODY) + NO_BODY + b")\r\n")
    assert fetch(NO_BODY, "BODY.PEEK[TEXT]", seq=1) == b"* 1 FETCH (BODY[TEXT] {0}\r\n)\r\n"
    assert fetch(NO_BODY, "BODY.PEEK[HEADER.FIELDS (From)]", seq=1) == (
        b"* 1 FETCH (BODY[HEADER.FIELDS (FROM)] {19}\r\nFrom: a@example.org)\r\n")


def test_header_fields_match_names_exactly():
    msg = b"Subject: a\r\nSubjectX: b\r\nSubject : c\r\nsubject: d\r\nNot a field\r\n\r\nbody"
    assert extract_section(msg, None, items_of("BODY[HEADER.FIELDS (SUBJECT)]")[0]) == (
        b"Subject: a\r\nSubject : c\r\nsubject: d\r\n\r\n")
    assert extract_section(msg, None, items_of("BODY[HEADER.FIELDS.NOT (SUBJECT)]")[0]) == (
        b"SubjectX: b\r\nNot a field\r\n\r\n")


def test_binary_quoted_printable_text_gets_crlf():
    msg = (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"a=0Ab=0D=0Ac=\r\nd=3D\r\n")
    assert fetch(msg, ["BINARY.PEEK[1]", "BINARY.SIZE[1]"], seq=1) == (
        b"* 1 FETCH (BINARY[1] {11}\r\na\r\nb\r\ncd=\r\n BINARY.SIZE[1] 11)\r\n")


def test_binary_base64_text_gets_crlf_and_binary_data_does_not():
    text = (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(b"one\ntwo\n") + b"\r\n")
    assert fetch(text, "BINARY.PEEK[1]", seq=1) == b"* 1 FETCH (BINARY[1] {10}\r\none\r\ntwo\r\n)\r\n"
    data = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(b"one\ntwo\n") + b"\r\n")
    assert fetch(data, "BINARY.PEEK[1]", seq=1) == b"* 1 FETCH (BINARY[1] {8}\r\none\ntwo\n)\r\n"


def test_binary_unknown_encoding_fails_with_unknown_cte():
    msg = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
           b"begin 644 a\r\n")
    for spec in ("BINARY.PEEK[1]", "BINARY.SIZE[1]", "BINARY[1]"):
        with pytest.raises(UnknownCTE) as info:
            fetch(msg, spec, seq=1)
        assert isinstance(info.value, FetchFailed)
        assert info.value.code == "UNKNOWN-CTE"
    # BODY of the same part is fine
    assert fetch(msg, "BODY.PEEK[1]", seq=1) == b"* 1 FETCH (BODY[1] {13}\r\nbegin 644 a\r\n)\r\n"


def test_nul_in_body_sections_is_sent_as_0x80():
    msg = b"Subject: x\r\n\r\na\x00b\r\n"
    assert fetch(msg, "BODY.PEEK[TEXT]", seq=1) == b"* 1 FETCH (BODY[TEXT] {5}\r\na\x80b\r\n)\r\n"
    assert fetch(msg, "BINARY.PEEK[1]", seq=1) == b"* 1 FETCH (BINARY[1] ~{5}\r\na\x00b\r\n)\r\n"


def test_message_global_is_encapsulated_only_for_rev2_or_utf8():
    msg = (b"MIME-Version: 1.0\r\nContent-Type: message/global\r\n\r\n"
           b"Subject: s\r\n\r\nx\r\n")
    env = b'(NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL)'
    inner = b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3 1)'
    assert fetch(msg, "BODY", seq=1) == (
        b'* 1 FETCH (BODY ("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 17))\r\n')
    assert fetch(msg, "BODY", seq=1, rev2=True) == (
        b'* 1 FETCH (BODY ("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 17 ' + env + b" " + inner + b" 3))\r\n")
    assert fetch(msg, "BODY", seq=1, utf8=True).startswith(
        b'* 1 FETCH (BODY ("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 17 (NIL')
    # part numbers go into it either way
    assert fetch(msg, "BODY.PEEK[1.HEADER]", seq=1) == b"* 1 FETCH (BODY[1.HEADER] {14}\r\nSubject: s\r\n\r\n)\r\n"


def test_extension_data_forms():
    msg = (b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\n"
           b"Content-ID: <id@x>\r\n"
           b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
           b"Content-Disposition: inline\r\n"
           b"Content-Language: en, de-CH\r\n"
           b"Content-Location: http://example.org/a.txt\r\n"
           b"\r\n"
           b"x\r\n")
    assert fetch(msg, "BODYSTRUCTURE", seq=1) == (
        b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8" "FORMAT" "flowed") "<id@x>" NIL'
        b' "7BIT" 3 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("INLINE" NIL) ("en" "de-CH")'
        b' "http://example.org/a.txt"))\r\n')


def test_eight_bit_and_nul_strings_become_literals():
    msg = ("Subject: Grüße\r\nFrom: \"Zoë\" <z@example.org>\r\n\r\nx\r\n").encode()
    out = fetch(msg, "ENVELOPE", seq=1)
    assert out == ('* 1 FETCH (ENVELOPE (NIL {7}\r\nGrüße (({4}\r\nZoë NIL "z" "example.org")) '
                   '(({4}\r\nZoë NIL "z" "example.org")) (({4}\r\nZoë NIL "z" "example.org")) '
                   'NIL NIL NIL NIL NIL))\r\n').encode()
    out = fetch(msg, "ENVELOPE", seq=1, utf8=True)
    assert out == ('* 1 FETCH (ENVELOPE (NIL "Grüße" (("Zoë" NIL "z" "example.org")) '
                   '(("Zoë" NIL "z" "example.org")) (("Zoë" NIL "z" "example.org")) '
                   'NIL NIL NIL NIL NIL))\r\n').encode()
    # raw Latin-1 octets are not UTF-8: still a literal under UTF8=ACCEPT
    latin = b"Subject: Gr\xfc\xdfe\r\n\r\nx\r\n"
    assert fetch(latin, "ENVELOPE", seq=1, utf8=True) == (
        b"* 1 FETCH (ENVELOPE (NIL {5}\r\nGr\xfc\xdfe NIL NIL NIL NIL NIL NIL NIL NIL))\r\n")


def test_envelope_groups_and_nil_handling():
    env = [None, "", [[None, None, "undisclosed", None], [None, None, None, None]],
           None, None, None, None, None, None, None]
    assert format_envelope(env, utf8=False) == (
        b'(NIL "" ((NIL NIL "undisclosed" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL)')
    assert format_envelope(None, utf8=False) == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    env = ['a "quoted" \\ date', None, None, None, None, None, None, None, None, "<x@y>"]
    assert format_envelope(env, utf8=False) == (
        b'("a \\"quoted\\" \\\\ date" NIL NIL NIL NIL NIL NIL NIL NIL "<x@y>")')


# --- FLAGS, UID and the record-only items ---------------------------------------------

def test_recent_flag_and_rev2():
    data = message_data(SIMPLE, seq=7, recent=True,
                        flags=frozenset({"$Label1", "\\Seen", "\\Answered", "Junk", "\\Draft"}))
    items = items_of("FLAGS")
    assert fetch_response(data, items, utf8=False, imap4rev2=False) == (
        b"* 7 FETCH (FLAGS (\\Answered \\Seen \\Draft \\Recent $Label1 Junk))\r\n")
    assert fetch_response(data, items, utf8=False, imap4rev2=True) == (
        b"* 7 FETCH (FLAGS (\\Answered \\Seen \\Draft $Label1 Junk))\r\n")
    data = message_data(SIMPLE, seq=7, recent=False, flags=frozenset())
    assert fetch_response(data, items, utf8=False, imap4rev2=False) == b"* 7 FETCH (FLAGS ())\r\n"


def test_flags_override_and_flags_item():
    data = message_data(SIMPLE, seq=2, flags=frozenset())
    items = items_of("BODY[TEXT]") + [FLAGS_ITEM]
    assert fetch_response(data, items, utf8=False, imap4rev2=True,
                          flags_override=frozenset({"\\Seen"})) == (
        b"* 2 FETCH (BODY[TEXT] {14}\r\nhello\r\nworld\r\n FLAGS (\\Seen))\r\n")


def test_uid_always_included_for_uid_fetch():
    data = message_data(SIMPLE, seq=3, uid=4242, flags=frozenset({"\\Flagged"}))
    assert fetch_response(data, items_of("FLAGS", uid=True), utf8=False, imap4rev2=False) == (
        b"* 3 FETCH (UID 4242 FLAGS (\\Flagged))\r\n")
    assert fetch_response(data, items_of(["FLAGS", "UID"], uid=True), utf8=False, imap4rev2=False) == (
        b"* 3 FETCH (FLAGS (\\Flagged) UID 4242)\r\n")
    assert fetch_response(data, items_of("FAST", uid=True), utf8=False, imap4rev2=False) == (
        b'* 3 FETCH (UID 4242 FLAGS (\\Flagged) INTERNALDATE "17-Jul-1996 09:44:25 +0000"'
        b" RFC822.SIZE %d)\r\n" % len(SIMPLE))


def test_modseq_objectid_savedate_size_internaldate():
    data = message_data(SIMPLE, seq=9, uid=77, modseq=9223372036854775807, size=4286)
    items = items_of(["MODSEQ", "EMAILID", "THREADID", "SAVEDATE", "RFC822.SIZE", "INTERNALDATE"])
    assert fetch_response(data, items, utf8=False, imap4rev2=False) == (
        b"* 9 FETCH (MODSEQ (9223372036854775807) EMAILID (M6d99ac3275bb4e) THREADID (T64b478a1f6)"
        b' SAVEDATE "05-Mar-2024 06:07:08 +0000" RFC822.SIZE 4286'
        b' INTERNALDATE "17-Jul-1996 09:44:25 +0000")\r\n')
    data = message_data(SIMPLE, seq=9, threadid=None, savedate=0, emailid=None)
    assert fetch_response(data, items_of(["THREADID", "SAVEDATE", "EMAILID"]),
                          utf8=False, imap4rev2=False) == (
        b"* 9 FETCH (THREADID NIL SAVEDATE NIL EMAILID NIL)\r\n")


@pytest.mark.parametrize("seconds, text", [
    (0, "01-Jan-1970 00:00:00 +0000"),
    (calendar.timegm((1996, 7, 17, 9, 44, 25)), "17-Jul-1996 09:44:25 +0000"),
    (calendar.timegm((2024, 2, 29, 23, 59, 59)), "29-Feb-2024 23:59:59 +0000"),
    (calendar.timegm((2001, 12, 5, 1, 2, 3)), "05-Dec-2001 01:02:03 +0000"),
    (-86400, "31-Dec-1969 00:00:00 +0000"),
    (10 ** 15, "31-Dec-9999 23:59:59 +0000"),
])
def test_internaldate_format(seconds, text):
    assert format_internaldate(seconds) == text


# --- laziness and speed ----------------------------------------------------------------

def _forbidden():
    raise AssertionError("message octets or structure loaded")


def test_record_only_items_touch_neither_bytes_nor_structure():
    items = items_of(["FLAGS", "UID", "MODSEQ", "RFC822.SIZE", "INTERNALDATE", "SAVEDATE",
                      "EMAILID", "THREADID"], uid=True)
    data = MessageData(1, record(), True, _forbidden, _forbidden)
    assert fetch_response(data, items, utf8=False, imap4rev2=False).startswith(b"* 1 FETCH (FLAGS")


def test_top_level_header_needs_no_structure_and_uses_load_header():
    header = b"Subject: hi\r\nFrom: a@example.org\r\n\r\n"
    data = MessageData(1, record(), False, _forbidden, _forbidden, load_header=lambda: header)
    items = items_of(["BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "RFC822.HEADER"])
    assert fetch_response(data, items, utf8=False, imap4rev2=False) == (
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: hi\r\n\r\n "
        b"RFC822.HEADER {%d}\r\n" % len(header) + header + b")\r\n")
    # without load_header: the octets, still no structure
    data = MessageData(1, record(), False, lambda: SIMPLE, _forbidden)
    assert fetch_response(data, items_of("BODY.PEEK[TEXT]"), utf8=False, imap4rev2=False) == (
        b"* 1 FETCH (BODY[TEXT] {14}\r\nhello\r\nworld\r\n)\r\n")


def test_bytes_and_structure_loaded_once_per_message():
    calls = {"bytes": 0, "structure": 0}
    parsed = parse_message(MIXED)

    def load_bytes():
        calls["bytes"] += 1
        return MIXED

    def load_structure():
        calls["structure"] += 1
        return parsed.envelope, parsed.body

    data = MessageData(1, record(), False, load_bytes, load_structure)
    fetch_response(data, items_of(["ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[1]", "BODY.PEEK[2.1]",
                                   "BODY.PEEK[HEADER]", "BINARY.SIZE[3]"]),
                   utf8=False, imap4rev2=False)
    assert calls == {"bytes": 1, "structure": 1}


def test_flags_uid_speed_over_100000_messages():
    """FETCH 1:* (FLAGS UID) over 100,000 records: only records are touched;
    report the cost per message."""
    flag_sets = [frozenset(), frozenset({"\\Seen"}), frozenset({"\\Seen", "\\Answered"}),
                 frozenset({"\\Seen", "$Forwarded", "\\Flagged"})]
    records = [MessageRecord(uid, frozenset(flag_sets[uid % 4]), uid, 1700000000 + uid,
                             1700000000 + uid, 1000 + uid, f"M{uid:024x}", None)
               for uid in range(1, 100_001)]
    datas = [MessageData(seq, rec, False, _forbidden, _forbidden)
             for seq, rec in enumerate(records, 1)]
    items = items_of(["FLAGS", "UID"], uid=True)
    start = time.perf_counter()
    out = [fetch_response(d, items, utf8=False, imap4rev2=False) for d in datas]
    elapsed = time.perf_counter() - start
    per_message_us = elapsed / len(datas) * 1e6
    print(f"\nfetch_response (FLAGS UID): {per_message_us:.2f} us/message, "
          f"{elapsed * 1000:.0f} ms for {len(datas)} messages")
    assert out[0] == b"* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n"
    assert out[99_999] == b"* 100000 FETCH (FLAGS () UID 100000)\r\n"
    assert per_message_us < 50          # ~1-2 us on the development machine
