"""lmtpd's sans-I/O parts: command lines, RFC 5321 paths and parameters, the DATA reader."""

from __future__ import annotations

import pytest

from lmtpd.data import DataReader
from lmtpd.protocol import (Address, ProtocolError, Reply, decode_xtext, parse_command, parse_mail_from,
                            parse_rcpt_to)


def test_reply_encoding_single_and_multiline():
    assert Reply(250, "2.1.0", "Sender ok").encode() == b"250 2.1.0 Sender ok\r\n"
    assert Reply(250, None, ("host", "PIPELINING", "SIZE")).encode() == b"250-host\r\n250-PIPELINING\r\n250 SIZE\r\n"
    assert Reply(354, None, "go").encode() == b"354 go\r\n"
    assert Reply(550, "5.1.1", "bad\r\nnews").encode() == b"550 5.1.1 bad??news\r\n"


def test_command_verbs_are_case_insensitive_and_args_kept():
    command = parse_command(b"mail FROM:<a@b.c> SIZE=10\r\n")
    assert command.verb == "MAIL" and command.args == b"FROM:<a@b.c> SIZE=10"
    assert parse_command(b"NOOP\n").verb == "NOOP"          # bare LF accepted on command lines


@pytest.mark.parametrize("line, code", [
    (b"MA\0IL FROM:<>\r\n", "500 5.5.2"),
    (b"\r\n", "500 5.5.2"),
    (b"M@IL FROM:<>\r\n", "500 5.5.2"),
    (b"MAIL FROM:<>\rX\r\n", "500 5.5.2"),
])
def test_bad_command_lines(line, code):
    with pytest.raises(ProtocolError) as info:
        parse_command(line)
    assert str(info.value.reply).startswith(code)


@pytest.mark.parametrize("args, local, domain", [
    (b"TO:<alice@example.org>", "alice", "example.org"),
    (b"to: <alice@example.org>", "alice", "example.org"),
    (b"TO:<Alice.Smith+work@Example.ORG>", "Alice.Smith+work", "Example.ORG"),
    (b'TO:<"john doe"@example.org>', "john doe", "example.org"),
    (b'TO:<"a\\"b\\\\c"@example.org>', 'a"b\\c', "example.org"),
    (b'TO:<"odd>char"@example.org>', "odd>char", "example.org"),
    (b"TO:<@relay.example,@other.example:bob@example.org>", "bob", "example.org"),
    (b"TO:<bob@[192.0.2.1]>", "bob", "[192.0.2.1]"),
    (b"TO:<bob@[IPv6:2001:db8::1]>", "bob", "[IPv6:2001:db8::1]"),
    (b"TO:<Postmaster>", "Postmaster", None),
    (b"TO:<user>", "user", None),
])
def test_recipient_paths(args, local, domain):
    path = parse_rcpt_to(args)
    assert path.address == Address(local, domain) and path.params == {}


def test_quoted_local_parts_are_rendered_back_quoted():
    assert str(parse_rcpt_to(b'TO:<"john doe"@example.org>').address) == '"john doe"@example.org'
    assert str(parse_rcpt_to(b"TO:<a.b@example.org>").address) == "a.b@example.org"


def test_null_sender_and_parameters():
    path = parse_mail_from(b"FROM:<> SIZE=1000 BODY=8BITMIME AUTH=<>")
    assert path.address is None and str(path) == "<>"
    assert path.params == {"SIZE": "1000", "BODY": "8BITMIME", "AUTH": "<>"}
    assert parse_mail_from(b"FROM:<a@b.example> body=7bit").params == {"BODY": "7bit"}


@pytest.mark.parametrize("args, code", [
    (b"TO:alice@example.org", "501 5.1.3"),            # no brackets
    (b"TO:<alice@example.org", "501 5.1.3"),           # unterminated
    (b"TO:<>", "501 5.1.3"),                           # null recipient
    (b"TO:<alice@@example.org>", "501 5.1.3"),
    (b"TO:<alice@-bad-.example>", "501 5.1.3"),
    (b"TO:<.alice@example.org>", "501 5.1.3"),
    (b"TO:<al..ice@example.org>", "501 5.1.3"),
    (b'TO:<"unterminated@example.org>', "501 5.1.3"),
    (b"TO:<a b@example.org>", "501 5.1.3"),
    (b"TO:<alice@example.org>junk", "501 5.1.3"),
    (b"TO:<@relay:alice@example.org>x", "501 5.1.3"),
    (b"TO:<@:alice@example.org>", "501 5.1.3"),
    (b"TO:<" + b"a" * 300 + b"@example.org>", "501 5.1.3"),
    (b"TO:<j\xc3\xb6rg@example.org>", "553 5.6.7"),      # 8-bit without SMTPUTF8
    (b"FOR:<alice@example.org>", "501 5.5.4"),
    (b"TO:<alice@example.org> =x", "501 5.5.4"),
    (b"TO:<alice@example.org> A=1 A=2", "501 5.5.4"),
    (b"TO:<alice@example.org> A=b=c", "501 5.5.4"),
])
def test_malformed_recipients(args, code):
    with pytest.raises(ProtocolError) as info:
        parse_rcpt_to(args)
    assert str(info.value.reply).startswith(code)


def test_malformed_sender_uses_the_sender_status():
    with pytest.raises(ProtocolError) as info:
        parse_mail_from(b"FROM:<bad@@example.org>")
    assert str(info.value.reply).startswith("501 5.1.7")


def test_8bit_addresses_when_allowed():
    path = parse_rcpt_to("TO:<jörg@exämple.org>".encode(), allow_8bit=True)
    assert path.address == Address("jörg", "exämple.org")


def test_xtext():
    assert decode_xtext("a+3Db") == "a=b"


# ---------------------------------------------------------------- DATA


def feed(reader: DataReader, data: bytes):
    result = None
    for line in data.splitlines(keepends=True):
        assert result is None, "data after the terminator"
        result = reader.feed(line)
    return result


def test_data_unstuffs_dots_and_keeps_bytes():
    message = feed(DataReader(), b"Subject: x\r\n\r\n..leading dot\r\n.\r\n")
    assert message.data == b"Subject: x\r\n\r\n.leading dot\r\n" and message.problem is None


def test_empty_message():
    message = feed(DataReader(), b".\r\n")
    assert message.data == b"" and message.problem is None


def test_bare_lf_is_neither_a_line_end_nor_a_terminator():
    reader = DataReader()
    assert reader.feed(b"Subject: x\r\n") is None
    assert reader.feed(b".\n") is None                       # not the end
    assert reader.feed(b"smuggled\r\n") is None
    message = reader.feed(b".\r\n")
    assert message.data == b"" and str(message.problem).startswith("554 5.6.0") and "bare newlines" in str(message.problem)


def test_nul_is_refused():
    message = feed(DataReader(), b"Subject: x\r\n\r\nnul\0here\r\n.\r\n")
    assert str(message.problem).startswith("554 5.6.0") and "NUL" in str(message.problem)


def test_too_big_stops_keeping_bytes_but_reads_to_the_end():
    reader = DataReader(max_size=100)
    message = feed(reader, b"Subject: x\r\n\r\n" + b"y" * 78 + b"\r\n" + b"z" * 50 + b"\r\n.\r\n")
    assert str(message.problem).startswith("552 5.3.4") and message.data == b""
    assert message.size > 100


def test_too_big_is_reported_before_content_is_looked_at():
    message = feed(DataReader(max_size=10), b"x" * 20 + b"\r\n" + b"bare\n" + b".\r\n")
    assert str(message.problem).startswith("552 5.3.4") and message.size == 27


def test_overlong_line_reported_by_the_io_layer():
    reader = DataReader(max_line=1000)
    reader.feed(b"Subject: x\r\n")
    reader.line_too_long()
    message = reader.feed(b".\r\n")
    assert str(message.problem).startswith("554 5.6.0") and "1000" in str(message.problem)


def test_8bit_headers_refused_only_under_reject8bit():
    data = "Subject: Grüße\r\n\r\nbody ü\r\n.\r\n".encode()
    assert feed(DataReader(), data).problem is None
    assert str(feed(DataReader(reject_8bit_headers=True), data).problem).startswith("554 5.6.0")
    body_only = "Subject: x\r\n\r\nbody ü\r\n.\r\n".encode()
    assert feed(DataReader(reject_8bit_headers=True), body_only).problem is None
