"""The sans-I/O POP3 core: command lines, responses, byte-stuffing, TOP.
Expected values are written by hand from RFC 1939 (sections 3, 7 and the
examples), RFC 2449 (response codes) and RFC 5034 (continuations)."""

from __future__ import annotations

import random

import pytest

from pop3d.protocol import (Command, continuation, dot_stuff, dot_unstuff, err, message_response, multiline, ok,
                            parse_command, parse_number, printable, top)


@pytest.mark.parametrize("line, expected", [
    (b"STAT\r\n", Command("STAT", (), "")),
    (b"stat\r\n", Command("STAT", (), "")),
    (b"LIST 1\r\n", Command("LIST", ("1",), "1")),
    (b"TOP  1   10\r\n", Command("TOP", ("1", "10"), " 1   10")),
    (b"PASS my secret pass\r\n", Command("PASS", ("my", "secret", "pass"), "my secret pass")),
    (b"PASS  leading space\n", Command("PASS", ("leading", "space"), " leading space")),
    (b"\r\n", Command("", (), "")),
    (b"NOOP", Command("NOOP", (), "")),
    (b"USER \xc3\xa9l\xc3\xa8ve\r\n", Command("USER", ("\u00e9l\u00e8ve",), "\u00e9l\u00e8ve")),
])
def test_parse_command(line, expected):
    assert parse_command(line) == expected


def test_parse_command_never_fails_on_garbage():
    for _ in range(500):
        line = bytes(random.randrange(256) for _ in range(random.randrange(40)))
        command = parse_command(line)
        assert isinstance(command.name, str) and all(command.args)


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("0", 0), ("007", 7), ("4294967295", 4294967295),
    ("", None), ("-1", None), ("+1", None), ("1.0", None), ("1a", None), (" 1", None), ("\u00b2", None),
    ("12345678901", None),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_printable_bounds_and_cleans_what_is_echoed():
    assert printable("FROB") == "FROB"
    assert printable("a\r\nb\x00\u00e9") == "a??b??"
    assert printable("x" * 100, 10) == "x" * 10 + "..."


def test_status_lines():
    assert ok() == b"+OK\r\n"
    assert ok("2 320") == b"+OK 2 320\r\n"
    assert err("no such message") == b"-ERR no such message\r\n"
    assert err("maildrop already locked", "IN-USE") == b"-ERR [IN-USE] maildrop already locked\r\n"
    assert err("text\r\nwith a line break", "SYS/TEMP") == b"-ERR [SYS/TEMP] text  with a line break\r\n"


def test_continuation():
    assert continuation(b"") == b"+ \r\n"
    assert continuation(b"Username:") == b"+ VXNlcm5hbWU6\r\n"


def test_multiline_listing():
    assert multiline("2 messages (320 octets)", ["1 120", "2 200"]) == \
        b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
    assert multiline("empty", []) == b"+OK empty\r\n.\r\n"
    assert multiline("x", [".hidden"]) == b"+OK x\r\n..hidden\r\n.\r\n"


@pytest.mark.parametrize("data, wire", [
    (b"", b".\r\n"),
    (b"a\r\n", b"a\r\n.\r\n"),
    (b".\r\n", b"..\r\n.\r\n"),
    (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
    (b".a\r\n..b\r\n", b"..a\r\n...b\r\n.\r\n"),
    (b"no final line end", b"no final line end\r\n.\r\n"),
    (b"x\r\n.", b"x\r\n..\r\n.\r\n"),
    (b"a.b\r\n x.\r\n", b"a.b\r\n x.\r\n.\r\n"),          # only a dot at the start of a line counts
])
def test_dot_stuffing(data, wire):
    assert dot_stuff(data) == wire


def test_dot_stuffing_round_trips_random_messages():
    pieces = [b".", b"..", b"\r\n", b"a", b" ", b".\r\n", b"\r\n.\r\n", b"\xff"]
    for _ in range(2000):
        data = b"".join(random.choice(pieces) for _ in range(random.randrange(30)))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        wire = dot_stuff(data)
        assert dot_unstuff(wire) == data
        # no line of the stuffed body is a lone "." before the end
        assert b"\r\n.\r\n" not in b"\r\n" + wire[:-3]


def test_dot_unstuff_refuses_unterminated_data():
    with pytest.raises(ValueError):
        dot_unstuff(b"a\r\n")


def test_message_response_is_one_piece():
    assert message_response("5 octets", b".x\r\n") == b"+OK 5 octets\r\n..x\r\n.\r\n"


MESSAGE = b"From: a@example.org\r\nSubject: s\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"


@pytest.mark.parametrize("lines, expected", [
    (0, b"From: a@example.org\r\nSubject: s\r\n\r\n"),
    (1, b"From: a@example.org\r\nSubject: s\r\n\r\nline 1\r\n"),
    (2, b"From: a@example.org\r\nSubject: s\r\n\r\nline 1\r\n.line 2\r\n"),
    (3, MESSAGE),
    (99999999, MESSAGE),
])
def test_top(lines, expected):
    assert top(MESSAGE, lines) == expected


def test_top_of_unusual_messages():
    assert top(b"Subject: header only\r\n", 0) == b"Subject: header only\r\n"
    assert top(b"\r\nbody without header\r\nmore\r\n", 1) == b"\r\nbody without header\r\n"
    assert top(b"Subject: s\r\n\r\nlast line without CRLF", 5) == b"Subject: s\r\n\r\nlast line without CRLF"
    assert top(b"", 3) == b""
