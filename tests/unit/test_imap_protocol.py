"""The sans-I/O IMAP protocol core: command assembly, tokenizer, sequence sets,
response formatting. Expected values are written by hand from RFC 3501 /
RFC 9051 section 9, RFC 7888 (LITERAL+/LITERAL-), RFC 3516 (literal8) and
RFC 5182 (SEARCHRES "$")."""

from __future__ import annotations

import random
import time

import pytest

from imapd.protocol.formatter import (
    QUOTE_MAX,
    AsLiteral,
    Binary,
    Raw,
    RawBytes,
    continuation,
    format_value,
    quote,
    tagged,
    untagged,
)
from imapd.protocol.parser import MAX_DEPTH, ParsedCommand, parse_command, tokenize
from imapd.protocol.reader import (
    CommandAssembler,
    Literal,
    LiteralRequest,
    ProtocolError,
    RawCommand,
)
from imapd.protocol.sequence import SequenceSet, expand_sequence_set, format_sequence_set
from imapd.protocol.tokens import Atom, List, String


def A(text):
    return Atom(text)


def Q(data):
    return String(data if isinstance(data, bytes) else data.encode())


def LIT(data, binary=False):
    return String(data if isinstance(data, bytes) else data.encode(), literal=True, binary=binary)


def L(*items):
    return List(tuple(items))


# ---------------------------------------------------------------------------
# A sans-I/O driver: plays a client byte stream through the assembler the way
# the session's loop does (lines, then exactly `size` literal bytes).


def drive(stream: bytes, **options):
    """Returns (outcomes, continuations): each outcome a RawCommand or the
    ProtocolError that take() raised; continuations counts the "+" sent."""
    asm = CommandAssembler(**options)
    out: list = []
    plus = 0
    pos = 0

    def next_line():
        nonlocal pos
        nl = stream.find(b"\n", pos)
        end = len(stream) if nl < 0 else nl + 1
        line = stream[pos:end]
        pos = end
        return line

    while pos < len(stream):
        req = asm.add_line(next_line())
        while req is not None:
            if req.synchronizing and not req.discard:
                plus += 1
            data = stream[pos : pos + req.size]
            pos += req.size
            asm.add_literal(data)
            req = asm.add_line(next_line())
        if asm.complete:
            try:
                out.append(asm.take())
            except ProtocolError as exc:
                out.append(exc)
    return out, plus


def one(stream: bytes, **options) -> RawCommand:
    out, _ = drive(stream, **options)
    assert len(out) == 1 and isinstance(out[0], RawCommand), out
    return out[0]


def parse(stream: bytes) -> ParsedCommand:
    if not stream.endswith(b"\n"):
        stream += b"\r\n"
    return parse_command(one(stream))


# ---------------------------------------------------------------------------
# reader.py


@pytest.mark.parametrize(
    "stream, segments, plus",
    [
        # plain lines, CRLF and bare LF
        (b"a1 NOOP\r\n", (b"a1 NOOP",), 0),
        (b"a1 NOOP\n", (b"a1 NOOP",), 0),
        (b"a1 NOOP", (b"a1 NOOP",), 0),
        # one synchronizing literal
        (b"a1 LOGIN {3}\r\nbob \"pw\"\r\n", (b"a1 LOGIN {3}", Literal(b"bob"), b' "pw"'), 1),
        # several literals in one command
        (
            b"a1 LOGIN {3}\r\nbob {4}\r\np\r\nw\r\n",
            (b"a1 LOGIN {3}", Literal(b"bob"), b" {4}", Literal(b"p\r\nw"), b""),
            2,
        ),
        # LITERAL+: no continuation request
        (b"a1 LOGIN {3+}\r\nbob {2+}\r\npw\r\n", (b"a1 LOGIN {3+}", Literal(b"bob"), b" {2+}", Literal(b"pw"), b""), 0),
        # literal8 (RFC 3516), synchronizing and non-synchronizing
        (b"a1 APPEND INBOX ~{3}\r\na\x00b\r\n", (b"a1 APPEND INBOX ~{3}", Literal(b"a\x00b", True), b""), 1),
        (b"a1 APPEND INBOX ~{3+}\r\na\x00b\r\n", (b"a1 APPEND INBOX ~{3+}", Literal(b"a\x00b", True), b""), 0),
        # size 0 literals: a synchronizing one still gets its "+"
        (b"a1 LOGIN {0}\r\n {0+}\r\n\r\n", (b"a1 LOGIN {0}", Literal(b""), b" {0+}", Literal(b""), b""), 1),
        # bare LF line ends around literals
        (b"a1 LOGIN {3}\nbob {2}\npw\n", (b"a1 LOGIN {3}", Literal(b"bob"), b" {2}", Literal(b"pw"), b""), 2),
        # leading zeros are a number (number = 1*DIGIT)
        (b"a1 X {003}\r\nabc\r\n", (b"a1 X {003}", Literal(b"abc"), b""), 1),
        # not literal announcements: the command ends with the line
        (b"a1 LOGIN {abc}\r\n", (b"a1 LOGIN {abc}",), 0),
        (b"a1 LOGIN {5}x\r\n", (b"a1 LOGIN {5}x",), 0),
        (b"a1 LOGIN {5} \r\n", (b"a1 LOGIN {5} ",), 0),
        (b"a1 LOGIN {-5}\r\n", (b"a1 LOGIN {-5}",), 0),
        (b"a1 LOGIN { 5}\r\n", (b"a1 LOGIN { 5}",), 0),
        (b"a1 LOGIN {5++}\r\n", (b"a1 LOGIN {5++}",), 0),
        # framing is byte-level: even a malformed prefix announces a literal
        (b"a1 LOGIN x{3}\r\nabc\r\n", (b"a1 LOGIN x{3}", Literal(b"abc"), b""), 1),
        # a bare CR inside a line stays (the parser refuses it)
        (b"a1 NO\rOP\r\n", (b"a1 NO\rOP",), 0),
    ],
)
def test_reader_segments(stream, segments, plus):
    out, sent = drive(stream)
    assert len(out) == 1 and isinstance(out[0], RawCommand), out
    assert out[0].segments == segments
    assert sent == plus


def test_reader_several_commands_and_empty_lines():
    out, _ = drive(b"\r\n\r\na1 NOOP\r\n\n\r\na2 LOGIN {1}\r\nx y\r\n\r\na3 LOGOUT\r\n")
    assert [c.segments for c in out] == [(b"a1 NOOP",), (b"a2 LOGIN {1}", Literal(b"x"), b" y"), (b"a3 LOGOUT",)]


def test_reader_empty_line_outside_command_is_ignored():
    asm = CommandAssembler()
    assert asm.add_line(b"\r\n") is None
    assert asm.add_line(b"\n") is None
    assert not asm.complete and not asm.in_progress
    with pytest.raises(RuntimeError):
        asm.take()
    assert asm.add_line(b"a1 NOOP\r\n") is None
    assert asm.complete
    assert asm.take().segments == (b"a1 NOOP",)


@pytest.mark.parametrize(
    "line, request_",
    [
        (b"a {12}\r\n", LiteralRequest(12, True, False)),
        (b"a {12+}\r\n", LiteralRequest(12, False, False)),
        (b"a ~{12}\r\n", LiteralRequest(12, True, True)),
        (b"a ~{12+}\r\n", LiteralRequest(12, False, True)),
        (b"a {0}\n", LiteralRequest(0, True, False)),
    ],
)
def test_reader_literal_requests(line, request_):
    asm = CommandAssembler()
    assert asm.add_line(line) == request_
    assert asm.pending == request_
    assert asm.literal_remaining == request_.size


def test_reader_literal_in_chunks():
    asm = CommandAssembler()
    req = asm.add_line(b"a1 APPEND INBOX {10}\r\n")
    assert req.size == 10
    for chunk in (b"0123", b"", b"456", b"789"):
        asm.add_literal(chunk)
    assert asm.pending is None
    assert asm.add_line(b"\r\n") is None
    assert asm.take().segments == (b"a1 APPEND INBOX {10}", Literal(b"0123456789"), b"")


def test_reader_misuse():
    asm = CommandAssembler()
    with pytest.raises(RuntimeError):
        asm.add_literal(b"x")
    asm.add_line(b"a {2}\r\n")
    with pytest.raises(RuntimeError):
        asm.add_line(b"more\r\n")
    with pytest.raises(ValueError):
        asm.add_literal(b"abc")
    asm.add_literal(b"ab")
    asm.add_line(b"\r\n")
    with pytest.raises(RuntimeError):
        asm.add_line(b"a2 NOOP\r\n")


# Refused commands: (stream, options, error text fragment, continuations sent,
# commands that follow and must come through intact)
@pytest.mark.parametrize(
    "stream, options, fragment, plus",
    [
        # over-long line
        (b"a1 LOGIN " + b"x" * 100 + b"\r\n", {"max_line": 50}, "line too long", 0),
        # over-long line that still announces a non-synchronizing literal: skipped in sync
        (b"a1 LOGIN " + b"x" * 100 + b" {3+}\r\nabc\r\n", {"max_line": 50}, "line too long", 0),
        # synchronizing literal over max_literal: no "+", the client never sends it
        (b"a1 APPEND INBOX {101}\r\n", {"max_literal": 100}, "literal too big", 0),
        # non-synchronizing literal over max_literal: its bytes are read and dropped
        (b"a1 APPEND INBOX {101+}\r\n" + b"m" * 101 + b"\r\n", {"max_literal": 100}, "literal too big", 0),
        # ... and the rest of that command too, literals included
        (
            b"a1 APPEND INBOX {101+}\r\n" + b"m" * 101 + b" {3+}\r\nabc ~{2+}\r\n\x00\x00\r\n",
            {"max_literal": 100},
            "literal too big",
            0,
        ),
        # a later synchronizing literal of a refused command ends it
        (b"a1 X {101+}\r\n" + b"m" * 101 + b" {3}\r\n", {"max_literal": 100}, "literal too big", 0),
        # literal8 too
        (b"a1 APPEND INBOX ~{101}\r\n", {"max_literal": 100}, "literal8 too big", 0),
        (b"a1 APPEND INBOX ~{101+}\r\n" + b"\x00" * 101 + b"\r\n", {"max_literal": 100}, "literal8 too big", 0),
        # LITERAL-: a non-synchronizing literal over 4096 octets
        (b"a1 APPEND INBOX {4097+}\r\n" + b"m" * 4097 + b"\r\n", {"literal_minus": True}, "LITERAL-", 0),
        (b"a1 APPEND INBOX ~{4097+}\r\n" + b"m" * 4097 + b"\r\n", {"literal_minus": True}, "LITERAL-", 0),
        # whole command over max_command
        (b"a1 LOGIN {60}\r\n" + b"u" * 60 + b" {60}\r\n", {"max_command": 100}, "command too long", 1),
        (b"a1 LOGIN {60+}\r\n" + b"u" * 60 + b" {60+}\r\n" + b"p" * 60 + b"\r\n", {"max_command": 100}, "command too long", 0),
        # a size that is not even a number64
        (b"a1 APPEND INBOX {99999999999999999999}\r\n", {}, "not a valid number", 0),
    ],
)
def test_reader_refusals(stream, options, fragment, plus):
    out, sent = drive(stream + b"a2 NOOP\r\n", **options)
    assert len(out) == 2, out
    error, follow = out
    assert isinstance(error, ProtocolError)
    assert error.code == "TOOBIG" and error.status == "BAD"
    assert error.tag == "a1"
    assert fragment in str(error)
    assert not error.fatal
    assert sent == plus
    assert isinstance(follow, RawCommand) and follow.segments == (b"a2 NOOP",)


def test_reader_discard_request_is_flagged():
    asm = CommandAssembler(max_literal=10)
    req = asm.add_line(b"a1 APPEND INBOX {11+}\r\n")
    assert req == LiteralRequest(11, False, False, discard=True)
    asm.add_literal(b"x" * 11)
    assert asm.add_line(b"\r\n") is None
    with pytest.raises(ProtocolError) as info:
        asm.take()
    assert info.value.code == "TOOBIG"
    # ready for the next command
    assert asm.add_line(b"a2 NOOP\r\n") is None
    assert asm.take().segments == (b"a2 NOOP",)


@pytest.mark.parametrize(
    "size, sync, limited",
    [(4096, False, False), (4097, False, True), (5000, True, False), (0, False, False)],
)
def test_reader_literal_minus_limit(size, sync, limited):
    asm = CommandAssembler(literal_minus=True)
    req = asm.add_line(b"a1 APPEND INBOX {%d%s}\r\n" % (size, b"" if sync else b"+"))
    assert req.size == size and req.discard is limited


def test_reader_literal_plus_unlimited_without_literal_minus():
    asm = CommandAssembler(literal_minus=False)
    assert asm.add_line(b"a1 APPEND INBOX {100000+}\r\n").discard is False


def test_reader_number64_overflow_non_sync_is_fatal():
    asm = CommandAssembler()
    assert asm.add_line(b"a1 APPEND INBOX {99999999999999999999+}\r\n") is None
    with pytest.raises(ProtocolError) as info:
        asm.take()
    assert info.value.fatal and info.value.code == "TOOBIG" and info.value.tag == "a1"


def test_reader_fail_before_continuation():
    # The session refuses a synchronizing literal (e.g. over APPENDLIMIT).
    asm = CommandAssembler()
    req = asm.add_line(b"a1 APPEND Nope {500}\r\n")
    assert req.synchronizing
    assert asm.peek().name == "APPEND" and asm.peek().tag == "a1"
    assert asm.fail(ProtocolError("too big for this mailbox", code="TOOBIG", status="NO")) is None
    assert asm.complete
    with pytest.raises(ProtocolError) as info:
        asm.take()
    assert info.value.tag == "a1" and info.value.status == "NO"
    # a non-synchronizing one must still be read
    req = asm.add_line(b"a2 APPEND Nope {5+}\r\n")
    req = asm.fail(ProtocolError("no such mailbox", code="TRYCREATE", status="NO"))
    assert req == LiteralRequest(5, False, False, discard=True)
    asm.add_literal(b"12345")
    assert asm.add_line(b"\r\n") is None
    with pytest.raises(ProtocolError) as info:
        asm.take()
    assert (info.value.tag, info.value.code) == ("a2", "TRYCREATE")


@pytest.mark.parametrize(
    "segments, tag, name",
    [
        ((b"a1 NOOP",), "a1", "NOOP"),
        ((b"a1 uid fetch 1 FLAGS",), "a1", "UID"),
        ((b"a1",), "a1", None),
        ((b"a1 (x)",), "a1", None),
        ((b"* NOOP",), None, None),
        ((b"+ NOOP",), None, None),
        ((b"a+b NOOP",), None, None),
        ((b"",), None, None),
        ((b" a1 NOOP",), None, None),
        ((b"a1 LOGIN {3}", Literal(b"bob"), b" x"), "a1", "LOGIN"),
    ],
)
def test_raw_command_tag_and_name(segments, tag, name):
    raw = RawCommand(segments)
    assert raw.tag == tag
    assert raw.name == name


# ---------------------------------------------------------------------------
# parser.py


@pytest.mark.parametrize(
    "line, tag, name, args",
    [
        (b"a1 NOOP", "a1", "NOOP", ()),
        (b"a1 noop", "a1", "NOOP", ()),
        (b"A.1_2!#$&'-/:;<=>?@^`|}~] CAPABILITY", "A.1_2!#$&'-/:;<=>?@^`|}~]", "CAPABILITY", ()),
        # atoms, numbers, NIL, flags, sequence sets, "$"
        (b"a SELECT INBOX", "a", "SELECT", (A("INBOX"),)),
        (b"a FETCH 1:3,5:* FLAGS", "a", "FETCH", (A("1:3,5:*"), A("FLAGS"))),
        (b"a FETCH $ (UID)", "a", "FETCH", (A("$"), L(A("UID")))),
        (b"a STORE 1 +FLAGS.SILENT (\\Seen \\Answered $Junk)", "a", "STORE",
         (A("1"), A("+FLAGS.SILENT"), L(A("\\Seen"), A("\\Answered"), A("$Junk")))),
        (b"a ID NIL", "a", "ID", (A("NIL"),)),
        (b"a LIST \"\" %", "a", "LIST", (Q(""), A("%"))),
        (b"a LIST \"\" *", "a", "LIST", (Q(""), A("*"))),
        (b"a LIST ~/Mail/ foo]bar", "a", "LIST", (A("~/Mail/"), A("foo]bar"))),
        (b"a SELECT [Gmail]/Drafts", "a", "SELECT", (A("[Gmail]/Drafts"),)),
        (b"a SELECT foo[bar", "a", "SELECT", (A("foo[bar"),)),
        # an unterminated section: "[" is then an ordinary character (FETCH refuses the atom)
        (b"a FETCH 1 (BODY[HEADER.FIELDS (A B) FLAGS)", "a", "FETCH",
         (A("1"), L(A("BODY[HEADER.FIELDS"), L(A("A"), A("B")), A("FLAGS")))),
        # quoted strings and their two escapes
        (b'a LOGIN "us er" "p\\"w\\\\d"', "a", "LOGIN", (Q("us er"), Q('p"w\\d'))),
        (b'a LOGIN "" "()"', "a", "LOGIN", (Q(""), Q("()"))),
        (b'a X "tab\there" "{5}"', "a", "X", (Q("tab\there"), Q("{5}"))),
        # 8-bit in quoted strings is kept as bytes
        ("a SELECT \"Entwürfe\"".encode(), "a", "SELECT", (Q("Entwürfe".encode()),)),
        (b'a SELECT "\xff\xfe"', "a", "SELECT", (Q(b"\xff\xfe"),)),
        # nested lists
        (b"a X (a (b (c)) ()) ()", "a", "X", (L(A("a"), L(A("b"), L(A("c"))), L()), L())),
        (b"a X ((()))", "a", "X", (L(L(L())),)),
        # lenient spacing (Dovecot-like)
        (b"a  X   b  ( c  d )  ", "a", "X", (A("b"), L(A("c"), A("d")))),
        # UID sub-commands: name "UID", sub-command as first argument
        (b"a UID FETCH 1:* (FLAGS)", "a", "UID", (A("FETCH"), A("1:*"), L(A("FLAGS")))),
        (b"a uid store 5 -FLAGS (\\Deleted)", "a", "UID", (A("store"), A("5"), A("-FLAGS"), L(A("\\Deleted")))),
        (b"a UID SEARCH RETURN (SAVE) UNDELETED", "a", "UID", (A("SEARCH"), A("RETURN"), L(A("SAVE")), A("UNDELETED"))),
        (b"a UID EXPUNGE 1:5,7", "a", "UID", (A("EXPUNGE"), A("1:5,7"))),
    ],
)
def test_parse_tokens(line, tag, name, args):
    cmd = parse(line)
    assert (cmd.tag, cmd.name, cmd.args) == (tag, name, args)


@pytest.mark.parametrize(
    "att",
    [
        "BODY[]",
        "BODY[HEADER]",
        "BODY[HEADER.FIELDS (A B)]",
        "BODY[HEADER.FIELDS (From \"To\")]",
        "BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)]",
        "BODY[HEADER.FIELDS.NOT (Received X-Spam)]",
        "BODY[TEXT]",
        "BODY[MIME]",
        "BODY[1]",
        "BODY[1.MIME]",
        "BODY[1.2.3]",
        "BODY[4.1.HEADER]",
        "BODY[4.1.TEXT]",
        "BODY[4.2.HEADER.FIELDS (Content-Type)]",
        "BODY[]<0.100>",
        "BODY.PEEK[1.2]<5>",
        "BODY.PEEK[HEADER.FIELDS (X\"]\")]<0.2048>",
        "body.peek[header.fields (from to)]",
        "BINARY[1]",
        "BINARY.PEEK[1.2]<0.10>",
        "BINARY.SIZE[3]",
        "BINARY[]",
    ],
)
def test_parse_fetch_sections_are_one_atom(att):
    cmd = parse(f"a FETCH 1 ({att} FLAGS)".encode())
    assert cmd.args == (A("1"), L(A(att), A("FLAGS")))
    cmd = parse(f"a FETCH 1 {att}".encode())
    assert cmd.args == (A("1"), A(att))


def test_parse_section_with_literal_header_name():
    # header-fld-name is an astring, so a literal may appear inside [...]
    cmd = parse(b"a FETCH 1 (BODY[HEADER.FIELDS ({4}\r\nFrom {3}\r\nT\"o)] UID)\r\n")
    assert cmd.args == (A("1"), L(A('BODY[HEADER.FIELDS ("From" "T\\"o")]'), A("UID")))


def test_parse_bracket_without_match_across_literal_falls_back():
    # "[" with no "]" even after the literal: an ordinary atom character, state restored
    cmd = parse(b"a X a[b {3}\r\nxyz c\r\n")
    assert cmd.args == (A("a[b"), LIT("xyz"), A("c"))


def test_parse_bracket_literal_must_be_quotable():
    with pytest.raises(ProtocolError) as info:
        parse(b"a FETCH 1 BODY[HEADER.FIELDS ({3}\r\na\r\n)]\r\n")
    assert "inside [...]" in str(info.value) and info.value.tag == "a"


@pytest.mark.parametrize(
    "stream, args",
    [
        (b"a LOGIN {3}\r\nbob {2}\r\npw\r\n", (LIT("bob"), LIT("pw"))),
        (b"a LOGIN {3+}\r\nbob \"pw\"\r\n", (LIT("bob"), Q("pw"))),
        (b"a APPEND INBOX (\\Seen) {5}\r\nhello\r\n", (A("INBOX"), L(A("\\Seen")), LIT("hello"))),
        (b"a APPEND INBOX ~{3}\r\na\x00b\r\n", (A("INBOX"), LIT(b"a\x00b", binary=True))),
        (b"a APPEND INBOX ~{3+}\r\na\x00b\r\n", (A("INBOX"), LIT(b"a\x00b", binary=True))),
        (b"a X {0}\r\n\r\n", (LIT(b""),)),
        (b"a X ({1}\r\n)) {1}\r\n(\r\n", (L(LIT(")")), LIT("("))),
        (b"a X ({2}\r\nab)\r\n", (L(LIT("ab")),)),
        (b"a X {2}\r\n\x00\xff\r\n", (LIT(b"\x00\xff"),)),  # NUL in a plain literal is left to the command
        (b"a APPEND INBOX CATENATE (TEXT {3}\r\nabc URL \"/INBOX;UID=1\")\r\n",
         (A("INBOX"), A("CATENATE"), L(A("TEXT"), LIT("abc"), A("URL"), Q("/INBOX;UID=1")))),
    ],
)
def test_parse_literals(stream, args):
    assert parse(stream).args == args


@pytest.mark.parametrize(
    "stream, tag, fragment",
    [
        # tags
        (b"* NOOP", None, "tag"),
        (b"+ NOOP", None, "tag"),
        (b"a+1 NOOP", None, "tag"),
        (b"a*1 NOOP", None, "tag"),
        (b"a%1 NOOP", None, "tag"),
        (b"(a) NOOP", None, "tag"),
        (b'"a" NOOP', None, "tag"),
        (b"a\\b NOOP", None, "tag"),
        (b"a{1} NOOP", None, "tag"),
        (b" a NOOP", None, "tag"),
        (b"a\tNOOP", None, "tag"),
        (b"\xc3\xa9 NOOP", None, "tag"),
        (b"a1", "a1", "command name"),
        (b"a1 ", "a1", "command name"),
        (b"a1 (NOOP)", "a1", "command name"),
        (b"a1 NO\"OP\"", "a1", "command name"),
        # quoted strings
        (b'a LOGIN "abc', "a", "unterminated"),
        (b'a LOGIN "a\\bc"', "a", "invalid escape"),
        (b'a LOGIN "a\\nc"', "a", "invalid escape"),
        (b'a LOGIN "a\\', "a", "unterminated"),
        (b'a LOGIN "a\rb"', "a", "CR or LF"),
        # unbalanced parentheses
        (b"a X (a b", "a", "missing ')'"),
        (b"a X ((a) b", "a", "missing ')'"),
        (b"a X a)", "a", "without '('"),
        (b"a X (a))", "a", "without '('"),
        (b"a X )", "a", "without '('"),
        # separators
        (b"a X a(b)", "a", "expected a space"),
        (b'a X "a""b"', "a", "expected a space"),
        (b"a X (a)(b)", "a", "expected a space"),
        (b'a X (a)"b"', "a", "expected a space"),
        # bad characters
        (b"a X a\x01b", "a", "expected a space"),
        (b"a X \x7f", "a", "invalid character"),
        (b"a X \tb", "a", "invalid character"),
        (b"a SELECT Entw\xc3\xbcrfe", "a", "8-bit"),
        (b"a X {abc}", "a", "invalid literal"),
        (b"a X {5}x", "a", "invalid literal"),
        (b"a X ~{5}x", "a", "expected a space"),
        (b"a NO\rOP", "a", "command name"),
        (b"a X a\rb", "a", "expected a space"),
        # NUL outside literals
        (b"a LOGIN \"a\x00b\" c", "a", "NUL"),
        (b"a NOOP\x00", "a", "NUL"),
        (b"a LOGIN {1}\r\nx \x00\r\n", "a", "NUL"),
    ],
)
def test_parse_errors(stream, tag, fragment):
    if not stream.endswith(b"\n"):
        stream += b"\r\n"
    raw = one(stream)
    with pytest.raises(ProtocolError) as info:
        parse_command(raw)
    assert info.value.tag == tag
    assert fragment in str(info.value)
    assert info.value.status == "BAD"


def test_parse_nesting_limit():
    ok = b"a X " + b"(" * MAX_DEPTH + b")" * MAX_DEPTH
    cmd = parse(ok)
    depth, item = 0, cmd.args[0]
    while isinstance(item, List):
        depth += 1
        item = item.items[0] if item.items else None
    assert depth == MAX_DEPTH
    with pytest.raises(ProtocolError) as info:
        parse(b"a X " + b"(" * (MAX_DEPTH + 1) + b")" * (MAX_DEPTH + 1))
    assert "nested" in str(info.value) and info.value.tag == "a"


def test_tokenize_from_offset():
    raw = RawCommand((b"a1 FETCH 1 (FLAGS)",))
    assert tokenize(raw, 8) == [A("1"), L(A("FLAGS"))]
    assert tokenize(RawCommand((b"",))) == []


def test_parse_malformed_raw_command():
    with pytest.raises(ProtocolError):
        parse_command(RawCommand(()))
    with pytest.raises(ProtocolError):
        parse_command(RawCommand((b"a X", Literal(b"x"), b"")))  # literal never announced


def test_parse_large_sequence_set_is_fast():
    seq = ",".join(f"{i}:{i + 1}" for i in range(1, 12000, 3)).encode()
    line = b"a UID FETCH " + seq + b" (FLAGS)"
    start = time.perf_counter()
    for _ in range(20):
        cmd = parse(line)
    assert cmd.args[1] == A(seq.decode())
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------------------
# sequence.py


@pytest.mark.parametrize(
    "text, largest, expected",
    [
        ("1", 10, [1]),
        ("1:3", 10, [1, 2, 3]),
        ("3:1", 10, [1, 2, 3]),
        ("*", 10, [10]),
        ("1:*", 5, [1, 2, 3, 4, 5]),
        ("*:4", 6, [4, 5, 6]),
        ("1,3:5,*", 10, [1, 3, 4, 5, 10]),
        ("2,4:7,9,12:*", 15, [2, 4, 5, 6, 7, 9, 12, 13, 14, 15]),  # RFC 3501 example
        ("*:4,5:7", 10, [4, 5, 6, 7, 8, 9, 10]),  # RFC 3501 example
        ("5:3,3:5,4", 10, [3, 4, 5]),
        ("7:*", 5, [5]),  # n:* with n above the largest still includes the largest
        ("12", 10, []),  # clamped
        ("8:12", 10, [8, 9, 10]),
        ("*", 0, []),
        ("1:*", 0, []),
        ("4294967295", 3, []),
    ],
)
def test_sequence_resolve(text, largest, expected):
    assert SequenceSet.parse(text).resolve(largest) == expected


@pytest.mark.parametrize(
    "text, largest, saved, expected",
    [
        ("$", 10, [3, 1, 2, 9], [1, 2, 3, 9]),
        ("$", 10, [], []),
        ("1,$", 10, [5, 6], [1, 5, 6]),
        ("$,8:*", 10, [1], [1, 8, 9, 10]),
        ("$", 3, [2, 5], [2]),  # clamped like any number
    ],
)
def test_sequence_saved(text, largest, saved, expected):
    seq = SequenceSet.parse(text)
    assert seq.uses_saved
    assert seq.resolve(largest, saved) == expected


@pytest.mark.parametrize(
    "text",
    [
        "", "0", "0:3", "3:0", "1:", ":3", "1,,2", ",1", "1,", "-1", "01", "1:02", "00",
        " 1", "1 ", "1 ,2", "a", "1.5", "1:2:3", "**", "*1", "$:3", "1:$", "$$", "+1",
        "4294967296", "1:4294967296", "99999999999", "１",
    ],
)
def test_sequence_invalid(text):
    with pytest.raises(ValueError):
        SequenceSet.parse(text)


@pytest.mark.parametrize(
    "text, flags",
    [("1:*", (False, True)), ("$", (True, False)), ("1,2", (False, False)), ("*,$", (True, True))],
)
def test_sequence_flags(text, flags):
    seq = SequenceSet.parse(text)
    assert (seq.uses_saved, seq.uses_star) == flags
    assert str(seq) == text


@pytest.mark.parametrize(
    "text, largest, ranges",
    [
        ("1:*", 100, [(1, 100)]),
        ("559:*", 100, [(100, 559)]),  # UID range semantics (RFC 3501 6.4.8)
        ("1,2,3,7:5,4", 0, [(1, 7)]),
        ("10:20,15:30,40", 50, [(10, 30), (40, 40)]),
        ("4294967295", 10, [(4294967295, 4294967295)]),
        ("*", 0, []),
    ],
)
def test_sequence_ranges(text, largest, ranges):
    assert SequenceSet.parse(text).ranges(largest) == ranges


@pytest.mark.parametrize(
    "text, uids, saved, expected",
    [
        ("1:*", [3, 7, 9], (), [3, 7, 9]),
        ("*", [3, 7, 9], (), [9]),
        ("4:8", [3, 7, 9], (), [7]),
        ("20:*", [3, 7, 9], (), [9]),  # always includes the highest UID
        ("1:2,10:19", [3, 7, 9], (), []),
        ("*", [], (), []),
        ("1:*", [], (), []),
        ("$,3", [3, 7, 9], [9, 100], [3, 9]),
        ("1:4294967295", [5, 4000000000], (), [5, 4000000000]),
    ],
)
def test_sequence_resolve_uids(text, uids, saved, expected):
    assert SequenceSet.parse(text).resolve_uids(uids, saved) == expected


@pytest.mark.parametrize(
    "text, value, largest, expected",
    [
        ("1:3", 2, 10, True),
        ("1:3", 4, 10, False),
        ("*", 10, 10, True),
        ("*", 9, 10, False),
        ("7:*", 6, 5, True),  # 5:7
        ("7:*", 8, 5, False),
        ("$", 4, 10, False),
    ],
)
def test_sequence_contains(text, value, largest, expected):
    assert SequenceSet.parse(text).contains(value, largest) is expected


def test_sequence_contains_saved():
    assert SequenceSet.parse("$").contains(4, 10, saved={4, 5})
    assert SequenceSet.parse("1,$").contains(5, 10, saved=[4, 5])


@pytest.mark.parametrize(
    "text, largest, expected",
    [("1:5", 5, False), ("6", 5, True), ("1:6", 5, True), ("*", 0, True), ("1:*", 3, False), ("$", 0, False)],
)
def test_sequence_out_of_range(text, largest, expected):
    assert SequenceSet.parse(text).out_of_range(largest) is expected


def test_sequence_unclamped_resolve():
    assert SequenceSet.parse("3,8:9").resolve(5, clamp=False) == [3, 8, 9]


@pytest.mark.parametrize("text, clamp", [("1:4294967295", False), ("1:*", True), ("1:5,7:*", True)])
def test_sequence_resolve_refuses_huge_expansions(text, clamp):
    # a client's "1:4294967295" must not become four billion ints
    with pytest.raises(ValueError):
        SequenceSet.parse(text).resolve(20, clamp=clamp, limit=10)
    assert len(SequenceSet.parse("1:4294967295").resolve(20)) == 20


def test_sequence_million_is_fast():
    seq = SequenceSet.parse("1:*")
    start = time.perf_counter()
    values = seq.resolve(1_000_000)
    assert seq.ranges(1_000_000) == [(1, 1_000_000)]
    assert seq.contains(999_999, 1_000_000)
    uids = list(range(2, 2_000_001, 2))
    assert len(seq.resolve_uids(uids)) == 1_000_000
    assert format_sequence_set(values) == "1:1000000"
    assert format_sequence_set(range(1, 1_000_001)) == "1:1000000"
    assert len(values) == 1_000_000 and values[-1] == 1_000_000
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1, 2, 3, 5, 9, 10, 11, 12], "1:3,5,9:12"),
        ([12, 1, 3, 2, 3, 11], "1:3,11:12"),
        ([7], "7"),
        ([], ""),
        ({4, 5, 6}, "4:6"),
        (range(3, 8), "3:7"),
        (range(5, 6), "5"),
        (range(5, 5), ""),
        ((x for x in (1, 3, 5)), "1,3,5"),
    ],
)
def test_format_sequence_set(values, expected):
    assert format_sequence_set(values) == expected


@pytest.mark.parametrize(
    "values, expected",
    [([304, 319, 320], "304,319:320"), ([5, 6, 1, 2, 9], "5:6,1:2,9"), ([3, 3], "3,3")],
)
def test_format_sequence_set_keeps_order(values, expected):
    # COPYUID: source and destination sets correspond position by position
    assert format_sequence_set(values, sort=False) == expected


def test_format_then_parse_sequence_round_trip():
    rng = random.Random(3501)
    for _ in range(200):
        values = sorted(set(rng.randint(1, 300) for _ in range(rng.randint(1, 60))))
        text = format_sequence_set(values)
        assert SequenceSet.parse(text).resolve(300) == values


@pytest.mark.parametrize(
    "text, values",
    [
        ("", []),
        ("7", [7]),
        ("1:3", [1, 2, 3]),
        ("1:3,5,9:12", [1, 2, 3, 5, 9, 10, 11, 12]),
        ("4294967295", [4294967295]),
    ],
)
def test_expand_sequence_set_inverts_format(text, values):
    assert expand_sequence_set(text) == values
    assert format_sequence_set(values) == text


def test_expand_sequence_set_keeps_the_order_of_the_ranges():
    assert expand_sequence_set("5:6,1:2,9") == [5, 6, 1, 2, 9]


def test_format_then_expand_sequence_round_trip():
    rng = random.Random(9051)
    for _ in range(200):
        values = sorted(set(rng.randint(1, 300) for _ in range(rng.randint(0, 60))))
        assert expand_sequence_set(format_sequence_set(values)) == values


@pytest.mark.parametrize("text", ["3:1", "0", "0:2", "-1", "a", "1:b", "*", "1:*", "$", "1,,2", ",1", "1,", "1:2:3"])
def test_expand_sequence_set_refuses(text):
    with pytest.raises(ValueError):
        expand_sequence_set(text)


# ---------------------------------------------------------------------------
# formatter.py


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, b"NIL"),
        (0, b"0"),
        (42, b"42"),
        (4294967295, b"4294967295"),
        (2**63 - 1, b"9223372036854775807"),
        (Raw("NIL"), b"NIL"),
        (Raw("\\Seen"), b"\\Seen"),
        (Raw("BODY[HEADER.FIELDS (From)]<0>"), b"BODY[HEADER.FIELDS (From)]<0>"),
        (RawBytes(b'("text" "plain")'), b'("text" "plain")'),
        # quoted strings
        ("", b'""'),
        ("hello world", b'"hello world"'),
        ('say "hi"', b'"say \\"hi\\""'),
        ("back\\slash", b'"back\\\\slash"'),
        ("tab\there", b'"tab\there"'),
        ("NIL", b'"NIL"'),
        ("x" * QUOTE_MAX, b'"' + b"x" * QUOTE_MAX + b'"'),
        # literals
        ("x" * (QUOTE_MAX + 1), b"{%d}\r\n" % (QUOTE_MAX + 1) + b"x" * (QUOTE_MAX + 1)),
        ("a\r\nb", b"{4}\r\na\r\nb"),
        ("a\rb", b"{3}\r\na\rb"),
        ("a\nb", b"{3}\r\na\nb"),
        ("a\x00b", b"{3}\r\na\x80b"),  # NUL cannot travel outside literal8
        ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),  # 8-bit without UTF-8 allowed
        ("\u65e5\u672c", b"{6}\r\n\xe6\x97\xa5\xe6\x9c\xac"),
        (b"\xff\xfe".decode("utf-8", "surrogateescape"), b"{2}\r\n\xff\xfe"),  # original bytes back
        ("\ud800x", b"{2}\r\n?x"),  # a lone non-escape surrogate is replaced
        # bytes
        (b"", b'""'),
        (b"plain", b'"plain"'),
        (b'q"b\\', b'"q\\"b\\\\"'),
        (b"8\xe9bit", b"{5}\r\n8\xe9bit"),
        (b"line\r\n", b"{6}\r\nline\r\n"),
        (b"n\x00l", b"{3}\r\nn\x80l"),
        (bytearray(b"ba"), b'"ba"'),
        # forced literals, binary
        (AsLiteral(b"hi"), b"{2}\r\nhi"),
        (AsLiteral(b""), b"{0}\r\n"),
        (AsLiteral(b"a\x00"), b"{2}\r\na\x80"),
        (Binary(b"a\x00b"), b"~{3}\r\na\x00b"),
        (Binary(b"abc"), b"{3}\r\nabc"),
        # lists
        ([], b"()"),
        ((), b"()"),
        ([1, None, "a"], b'(1 NIL "a")'),
        ([Raw("FLAGS"), [Raw("\\Seen"), Raw("$Junk")]], b"(FLAGS (\\Seen $Junk))"),
        ([[[]], [1, [2, [3]]]], b"((()) (1 (2 (3))))"),
        (["x\ny", "z"], b'({3}\r\nx\ny "z")'),
        # the token types go back as they came
        (Atom("1:*"), b"1:*"),
        (String(b"x"), b'"x"'),
        (String(b"x", literal=True), b"{1}\r\nx"),
        (String(b"\x00", literal=True, binary=True), b"~{1}\r\n\x00"),
        (List((Atom("A"), String(b"b"))), b'(A "b")'),
    ],
)
def test_format_value(value, expected):
    assert format_value(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("caf\u00e9", b'"caf\xc3\xa9"'),
        ("\u65e5\u672c \"q\"", b'"\xe6\x97\xa5\xe6\x9c\xac \\"q\\""'),
        ("caf\u00e9\r\n", b"{7}\r\ncaf\xc3\xa9\r\n"),
        (b"\xff\xfe".decode("utf-8", "surrogateescape"), b"{2}\r\n\xff\xfe"),
        (b"caf\xc3\xa9", b'"caf\xc3\xa9"'),
        (b"bad \xff utf8", b"{10}\r\nbad \xff utf8"),
        (b"nul\x00", b"{4}\r\nnul\x80"),
        ("\u00e9" * QUOTE_MAX, b"{%d}\r\n" % (2 * QUOTE_MAX) + "\u00e9".encode() * QUOTE_MAX),
        ("\u00e9" * (QUOTE_MAX // 2), b'"' + "\u00e9".encode() * (QUOTE_MAX // 2) + b'"'),
        (["\u00e9", ["\u00e8"]], b'("\xc3\xa9" ("\xc3\xa8"))'),
    ],
)
def test_format_value_utf8(value, expected):
    assert format_value(value, utf8=True) == expected


@pytest.mark.parametrize("value, error", [(True, TypeError), (False, TypeError), (-1, ValueError), (1.5, TypeError), (object(), TypeError), ({"a": 1}, TypeError)])
def test_format_value_refuses(value, error):
    with pytest.raises(error):
        format_value(value)


@pytest.mark.parametrize(
    "text, expected",
    [("INBOX", b'"INBOX"'), ('a"b\\c', b'"a\\"b\\\\c"'), ("", b'""'), ("Entw\u00fcrfe", b'"Entw\xc3\xbcrfe"')],
)
def test_quote(text, expected):
    assert quote(text) == expected


@pytest.mark.parametrize("text", ["a\rb", "a\nb", "a\x00b", "\udcff"])
def test_quote_refuses(text):
    with pytest.raises(ValueError):
        quote(text)


@pytest.mark.parametrize(
    "parts, expected",
    [
        ((3, Raw("EXISTS")), b"* 3 EXISTS\r\n"),
        ((Raw("OK"), Raw("[UIDVALIDITY 42] UIDs valid")), b"* OK [UIDVALIDITY 42] UIDs valid\r\n"),
        ((Raw("FLAGS"), [Raw("\\Answered"), Raw("\\Seen")]), b"* FLAGS (\\Answered \\Seen)\r\n"),
        ((Raw("LIST"), [Raw("\\HasNoChildren")], "/", "a b"), b'* LIST (\\HasNoChildren) "/" "a b"\r\n'),
        ((Raw("SEARCH"),), b"* SEARCH\r\n"),
        (
            (7, Raw("FETCH"), [Raw("UID"), 9, Raw("BODY[]"), AsLiteral(b"Subject: x\r\n\r\n")]),
            b"* 7 FETCH (UID 9 BODY[] {14}\r\nSubject: x\r\n\r\n)\r\n",
        ),
    ],
)
def test_untagged(parts, expected):
    assert untagged(*parts) == expected


def test_untagged_utf8():
    assert untagged(Raw("LIST"), [], "/", "Entw\u00fcrfe", utf8=True) == b'* LIST () "/" "Entw\xc3\xbcrfe"\r\n'
    assert untagged(Raw("LIST"), [], "/", "Entw\u00fcrfe") == b'* LIST () "/" {9}\r\nEntw\xc3\xbcrfe\r\n'


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        (("a1", "OK", "LOGIN completed"), {}, b"a1 OK LOGIN completed\r\n"),
        (("a1", "OK", "done", "READ-WRITE"), {}, b"a1 OK [READ-WRITE] done\r\n"),
        (("a2", "NO", "no such mailbox", "TRYCREATE"), {}, b"a2 NO [TRYCREATE] no such mailbox\r\n"),
        (("a3", "BAD", "literal too big", "TOOBIG"), {}, b"a3 BAD [TOOBIG] literal too big\r\n"),
        (("*", "BAD", "bad tag"), {}, b"* BAD bad tag\r\n"),
        (("a4", "OK", "x", "COPYUID 38505 304,319:320 3956:3958"), {}, b"a4 OK [COPYUID 38505 304,319:320 3956:3958] x\r\n"),
        (("a5", "BAD", "evil\r\na6 OK injected"), {}, b"a5 BAD evil a6 OK injected\r\n"),
        (("a5", "BAD", "nul\x00here\n"), {}, b"a5 BAD nul here\r\n"),
        (("a5", "NO", "", None), {}, b"a5 NO completed\r\n"),
        (("a5", "NO", "\r\n", None), {}, b"a5 NO completed\r\n"),
        (("a6", "NO", "x", "BAD]CODE\r\n"), {}, b"a6 NO [BAD CODE] x\r\n"),
        (("a7", "NO", "Entw\u00fcrfe fehlt"), {}, b"a7 NO Entw?rfe fehlt\r\n"),
        (("a7", "NO", "Entw\u00fcrfe fehlt"), {"utf8": True}, b"a7 NO Entw\xc3\xbcrfe fehlt\r\n"),
    ],
)
def test_tagged(args, kwargs, expected):
    assert tagged(*args, **kwargs) == expected


@pytest.mark.parametrize(
    "args, expected",
    [((), b"+ \r\n"), (("Ready for literal data",), b"+ Ready for literal data\r\n"), (("a\r\nb",), b"+ a b\r\n"), (("dGVzdA==",), b"+ dGVzdA==\r\n")],
)
def test_continuation(args, expected):
    assert continuation(*args) == expected


def _random_value(rng: random.Random):
    kind = rng.randrange(6)
    length = rng.choice([0, 1, 2, 5, 30, 200, QUOTE_MAX, QUOTE_MAX + 1, 3000])
    if kind == 0:  # printable ASCII with specials
        return "".join(rng.choice('abc XYZ"\\(){}[]%*~+\t') for _ in range(length))
    if kind == 1:  # any unicode, surrogates excluded
        return "".join(chr(rng.choice([rng.randint(1, 0x7F), rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])) for _ in range(length))
    if kind == 2:  # any bytes but NUL
        return bytes(rng.randint(1, 255) for _ in range(length))
    if kind == 3:  # CR/LF heavy
        return "".join(rng.choice("a\r\n ") for _ in range(length))
    if kind == 4:  # surrogateescape text from arbitrary bytes
        return bytes(rng.randint(1, 255) for _ in range(length)).decode("utf-8", "surrogateescape")
    return Binary(bytes(rng.randint(0, 255) for _ in range(length)))  # literal8 may carry NUL


def _as_bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


@pytest.mark.parametrize("utf8", [False, True])
def test_round_trip_format_then_tokenize(utf8):
    """format_value(x) placed in a command, framed and tokenized, gives x's bytes back."""
    rng = random.Random(9051 + utf8)
    for _ in range(300):
        values = [_random_value(rng) for _ in range(rng.randint(1, 4))]
        nested = rng.random() < 0.3
        body = format_value(values if nested else values[0], utf8=utf8)
        stream = b"t1 X " + body + b"\r\n"
        cmd = parse_command(one(stream))
        tokens = cmd.args[0].items if nested else cmd.args
        expected = values if nested else values[:1]
        assert len(tokens) == len(expected)
        for token, value in zip(tokens, expected):
            assert isinstance(token, String)
            assert token.data == _as_bytes(value)
            if isinstance(value, Binary) and b"\x00" in value:
                assert token.binary


def test_format_fetch_speed():
    # thousands of FETCH responses must be cheap to build
    envelope = ["Mon, 7 Feb 1994 21:52:25 -0800", "Re: the \"quoted\" subject", [["Fred", None, "fred", "example.com"]], None, None, None, None, None, None, "<id@example.com>"]
    start = time.perf_counter()
    out = []
    for n in range(1, 5001):
        out.append(untagged(n, Raw("FETCH"), [Raw("UID"), n + 100, Raw("FLAGS"), [Raw("\\Seen")], Raw("RFC822.SIZE"), 4242, Raw("ENVELOPE"), envelope]))
    data = b"".join(out)
    assert data.count(b"\r\n") == 5000
    assert time.perf_counter() - start < 2.0
