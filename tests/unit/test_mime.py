"""pillarbox.mime: ENVELOPE, BODYSTRUCTURE and offsets, search text.

Expected values are written from the RFCs (3501/9051 7.5.2, 2045-2047, 2231,
5322), not taken from the parser. Messages are built from named pieces with
``layout``; an expected offset is the start of the piece the RFC says a part
begins or ends at (e.g. a part body ends where the CRLF before the next
delimiter starts, RFC 2046 section 5.1.1).
"""

from __future__ import annotations

import base64
import json
import random

import pytest

from pillarbox.mime import (MAX_DEPTH, MAX_PARTS, MISSING_HOST, decode_params,
                            decode_words, parse_address_list, parse_date,
                            parse_message, section_offsets)

# --- helpers -------------------------------------------------------------------------


def layout(*pieces: bytes) -> tuple[bytes, list[int]]:
    """Concatenate pieces; return the data and each piece's start offset,
    plus the end of data as the last element."""
    starts = []
    pos = 0
    for p in pieces:
        starts.append(pos)
        pos += len(p)
    starts.append(pos)
    return b"".join(pieces), starts


US_ASCII = [["charset", "us-ascii"]]


def leaf(type_, subtype, params, hs, bs, end, *, size=None, lines=None,
         encoding="7BIT", id=None, description=None, md5=None,
         disposition=None, language=None, location=None, **extra):
    part = {
        "type": type_, "subtype": subtype, "params": params,
        "id": id, "description": description, "encoding": encoding,
        "size": end - bs if size is None else size, "md5": md5,
        "disposition": disposition, "language": language, "location": location,
        "header_start": hs, "body_start": bs, "end": end,
    }
    if lines is not None:
        part["lines"] = lines
    part.update(extra)
    return part


def text(subtype, params, hs, bs, end, lines, **kw):
    return leaf("text", subtype, params, hs, bs, end, lines=lines, **kw)


def multipart(subtype, params, hs, bs, end, parts, *, disposition=None,
              language=None, location=None):
    return {
        "type": "multipart", "subtype": subtype, "params": params,
        "disposition": disposition, "language": language, "location": location,
        "header_start": hs, "body_start": bs, "end": end, "parts": parts,
    }


def empty(pos):
    """The zero-length text/plain part a multipart without parts gets."""
    return text("plain", US_ASCII, pos, pos, pos, 0)


def envelope(date=None, subject=None, from_=None, sender=None, reply_to=None,
             to=None, cc=None, bcc=None, in_reply_to=None, message_id=None):
    return [date, subject, from_, sender if sender is not None else from_,
            reply_to if reply_to is not None else from_, to, cc, bcc,
            in_reply_to, message_id]


def only_json_types(obj):
    if obj is None or type(obj) in (str, int):
        return True
    if type(obj) is list:
        return all(only_json_types(x) for x in obj)
    if type(obj) is dict:
        return all(type(k) is str and only_json_types(v) for k, v in obj.items())
    return False


def check_invariants(data: bytes, p) -> None:
    """What must hold for any input: JSON-able, offsets nested and
    consistent, decoded text storable."""
    assert only_json_types(p.envelope) and only_json_types(p.body)
    assert json.loads(json.dumps(p.envelope)) == p.envelope
    assert json.loads(json.dumps(p.body)) == p.body
    assert len(p.envelope) == 10
    for s in (p.header_text, p.body_text, p.subject):
        assert isinstance(s, str) and "\x00" not in s
        s.encode("utf-8")               # no lone surrogates
    assert p.message_id is None or p.message_id.startswith("<")
    assert all(r.startswith("<") and r.endswith(">") for r in p.references)
    assert p.date is None or type(p.date) is int

    def walk(part, lo, hi):
        hs, bs, end = part["header_start"], part["body_start"], part["end"]
        assert lo <= hs <= bs <= end <= hi, (lo, hs, bs, end, hi)
        assert part["type"] == part["type"].lower()
        assert part["subtype"] == part["subtype"].lower()
        if part["type"] == "multipart":
            assert part["parts"], "a multipart always has a part"
            prev = bs
            for child in part["parts"]:
                walk(child, prev, end)
                prev = child["end"]
        else:
            assert part["size"] == end - bs
            assert part["encoding"] == part["encoding"].upper()
            if "lines" in part:
                assert part["lines"] == data.count(b"\n", bs, end)
            if "message" in part:
                m = part["message"]
                assert m["header_start"] == bs and m["end"] == end
                assert len(part["envelope"]) == 10
                walk(m, bs, end)

    walk(p.body, 0, len(data))
    assert p.body["header_start"] == 0


def parse(data: bytes):
    p = parse_message(data)
    check_invariants(data, p)
    return p


# --- structure: one table of messages with their exact BodyPart trees ----------------------

def case_simple_text():
    H = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\n"
         b"Subject: Hello\r\n\r\n")
    B = b"Hello Bob,\r\nbye\r\n"
    data, (h, b, end) = layout(H, B)
    return data, text("plain", US_ASCII, 0, b, end, 2, size=17)


def case_lf_less_trailing_line():
    data, (h, b, end) = layout(b"Subject: x\r\n\r\n", b"line one\r\nline two")
    return data, text("plain", US_ASCII, 0, b, end, 1, size=18)


def case_headers_only_no_blank_line():
    data = b"Subject: only headers\r\nFrom: a@example.org\r\n"
    return data, text("plain", US_ASCII, 0, len(data), len(data), 0)


def case_header_without_final_newline():
    data = b"Subject: x"
    return data, text("plain", US_ASCII, 0, 10, 10, 0)


def case_empty_message():
    return b"", text("plain", US_ASCII, 0, 0, 0, 0)


def case_no_header_fields():
    data = b"\r\nno headers here\r\n"
    return data, text("plain", US_ASCII, 0, 2, len(data), 1, size=17)


def case_blank_line_then_nothing():
    data = b"Subject: x\r\n\r\n"
    return data, text("plain", US_ASCII, 0, 14, 14, 0, size=0)


def case_not_mime_ignores_content_fields():
    # No MIME-Version and no Content-Type: Content-* fields mean nothing
    # (RFC 2045 section 4; Dovecot does the same).
    H = (b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n"
         b"Content-Disposition: attachment\r\nContent-ID: <id@x>\r\n\r\n")
    data, (h, b, end) = layout(H, b"aGVsbG8=\r\n")
    return data, text("plain", US_ASCII, 0, b, end, 1)


def case_single_part_all_fields():
    H = (b"MIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\n"
         b"Content-Transfer-Encoding: Base64\r\n"
         b"Content-ID: <part1@example.org>\r\n"
         b"Content-Description: greeting\r\n"
         b"Content-Disposition: inline\r\n"
         b"Content-Language: en, de\r\n"
         b"Content-Location: http://example.org/hello.txt\r\n"
         b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n")
    data, (h, b, end) = layout(H, b"SGVsbG8gd29ybGQ=\r\n")
    return data, text(
        "plain", [["charset", "utf-8"], ["format", "flowed"]], 0, b, end, 1,
        size=18, encoding="BASE64", id="<part1@example.org>",
        description="greeting", disposition=["inline", []],
        language=["en", "de"], location="http://example.org/hello.txt",
        md5="Q2hlY2sgSW50ZWdyaXR5IQ==")


def case_multipart_alternative():
    H = (b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/alternative; boundary=\"XX\"\r\n\r\n")
    PRE = b"This is a preamble.\r\n"
    D1 = b"--XX\r\n"
    P1H = b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    P1B = b"plain body\r\n"
    CRLF = b"\r\n"
    D2 = b"--XX\r\n"
    P2H = (b"Content-Type: text/html; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    P2B = b"<p>html=20body</p>"
    CLOSE = b"\r\n--XX--\r\n"
    EPI = b"epilogue\r\n"
    data, (h, pre, d1, p1h, p1b, crlf, d2, p2h, p2b, close, epi, end) = layout(
        H, PRE, D1, P1H, P1B, CRLF, D2, P2H, P2B, CLOSE, EPI)
    return data, multipart("alternative", [["boundary", "XX"]], 0, pre, end, [
        text("plain", [["charset", "utf-8"]], p1h, p1b, crlf, 1, size=12),
        text("html", [["charset", "utf-8"]], p2h, p2b, close, 0, size=18,
             encoding="QUOTED-PRINTABLE"),
    ])


def case_mixed_with_attachment():
    H = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n"
         b" boundary=\"=_mix\"\r\n\r\n")
    D1 = b"--=_mix\r\n"
    P1H = (b"Content-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n")
    P1B = b"Gr\xfc\xdfe\r\n"
    CRLF = b"\r\n"
    D2 = b"--=_mix\r\n"
    P2H = (b"Content-Type: application/pdf;\r\n name*0*=utf-8''%E2%82%AC%20;\r\n"
           b" name*1=\"rates.pdf\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment;\r\n"
           b" filename*=utf-8''%E2%82%AC%20rates.pdf; size=4\r\n\r\n")
    P2B = b"JVBERg==\r\n"
    CLOSE = b"\r\n--=_mix--\r\n"
    data, (h, d1, p1h, p1b, crlf, d2, p2h, p2b, close, end) = layout(
        H, D1, P1H, P1B, CRLF, D2, P2H, P2B, CLOSE)
    return data, multipart("mixed", [["boundary", "=_mix"]], 0, d1, end, [
        text("plain", [["charset", "iso-8859-1"]], p1h, p1b, crlf, 1, size=7,
             encoding="8BIT"),
        leaf("application", "pdf", [["name*", "utf-8''%E2%82%AC%20rates.pdf"]],
             p2h, p2b, close, size=10, encoding="BASE64",
             disposition=["attachment", [
                 ["filename*", "utf-8''%E2%82%AC%20rates.pdf"], ["size", "4"]]]),
    ])


def _nested_pieces():
    H = (b"From: outer@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n")
    D1 = b"--outer\r\n"
    P1H = b"Content-Type: text/plain\r\n\r\n"
    P1B = b"see below\r\n"
    CRLF = b"\r\n"
    D2 = b"--outer\r\n"
    P2H = b"Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"
    MH = (b"From: Inner <inner@example.net>\r\nTo: x@example.net\r\n"
          b"Subject: inner subject\r\nDate: Wed, 2 Aug 2023 08:00:00 +0200\r\n"
          b"Message-ID: <inner@example.net>\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n")
    ID1 = b"--inner\r\n"
    IP1H = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    IP1B = b"inner text\r\n"
    ICRLF = b"\r\n"
    ID2 = b"--inner\r\n"
    IP2H = b"Content-Type: text/html\r\n\r\n"
    IP2B = b"<b>inner</b>"
    ICLOSE = b"\r\n--inner--\r\n"
    CRLF2 = b"\r\n"
    CLOSE = b"--outer--\r\n"
    return layout(H, D1, P1H, P1B, CRLF, D2, P2H, MH, ID1, IP1H, IP1B, ICRLF,
                  ID2, IP2H, IP2B, ICLOSE, CRLF2, CLOSE)


def case_nested_message_rfc822():
    data, (h, d1, p1h, p1b, crlf, d2, p2h, mh, id1, ip1h, ip1b, icrlf, id2,
           ip2h, ip2b, iclose, crlf2, close, end) = _nested_pieces()
    inner_env = envelope(
        "Wed, 2 Aug 2023 08:00:00 +0200", "inner subject",
        [["Inner", None, "inner", "example.net"]],
        to=[[None, None, "x", "example.net"]], message_id="<inner@example.net>")
    inner = multipart("alternative", [["boundary", "inner"]], mh, id1, crlf2, [
        text("plain", US_ASCII, ip1h, ip1b, icrlf, 1, size=12),
        text("html", US_ASCII, ip2h, ip2b, iclose, 0, size=12),
    ])
    # lines of the message/rfc822 part: 7 header fields + blank line (8),
    # "--inner" (1), 2 header lines (2), "inner text" (1), CRLF (1),
    # "--inner" (1), 2 header lines (2), "\r\n--inner--\r\n" (2) = 18
    return data, multipart("mixed", [["boundary", "outer"]], 0, d1, end, [
        text("plain", US_ASCII, p1h, p1b, crlf, 1),
        leaf("message", "rfc822", [], p2h, mh, crlf2, lines=18,
             description="forwarded", envelope=inner_env, message=inner),
    ])


def case_digest_defaults():
    H = b"MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=dig\r\n\r\n"
    D1 = b"--dig\r\n"
    P1H = b"\r\n"                       # no Content-Type: message/rfc822
    M1H = b"From: a@example.org\r\nSubject: one\r\n\r\n"
    M1B = b"first\r\n"
    CRLF = b"\r\n"
    D2 = b"--dig\r\n"
    P2H = b"Content-Type: text/plain\r\n\r\n"
    P2B = b"an explicit text part\r\n"
    CLOSE = b"\r\n--dig--\r\n"
    data, (h, d1, p1h, m1h, m1b, crlf, d2, p2h, p2b, close, end) = layout(
        H, D1, P1H, M1H, M1B, CRLF, D2, P2H, P2B, CLOSE)
    a = [[None, None, "a", "example.org"]]
    return data, multipart("digest", [["boundary", "dig"]], 0, d1, end, [
        leaf("message", "rfc822", [], p1h, m1h, crlf, lines=4,
             envelope=envelope(None, "one", a),
             message=text("plain", US_ASCII, m1h, m1b, crlf, 1, size=7)),
        text("plain", US_ASCII, p2h, p2b, close, 1),
    ])


def case_missing_boundary_parameter():
    H = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
    B = b"--foo\r\nContent-Type: text/plain\r\n\r\nx\r\n--foo--\r\n"
    data, (h, b, end) = layout(H, B)
    return data, multipart("mixed", [], 0, b, end, [empty(b)])


def case_boundary_never_found():
    H = b"Content-Type: multipart/mixed; boundary=nothere\r\n\r\n"
    data, (h, b, end) = layout(H, b"just text\r\n--other\r\n")
    return data, multipart("mixed", [["boundary", "nothere"]], 0, b, end, [empty(b)])


def case_close_delimiter_first():
    H = b"Content-Type: multipart/mixed; boundary=c\r\n\r\n"
    data, (h, b, end) = layout(H, b"--c--\r\nepilogue only\r\n")
    return data, multipart("mixed", [["boundary", "c"]], 0, b, end, [empty(b)])


def case_unclosed_final_boundary():
    H = b"Content-Type: multipart/mixed; boundary=u\r\n\r\n"
    D1 = b"--u\r\n"
    P1H = b"\r\n"
    P1B = b"first\r\n"
    CRLF = b"\r\n"
    D2 = b"--u\r\n"
    P2H = b"Content-Type: text/plain\r\n\r\n"
    P2B = b"second, never closed\r\n"
    data, (h, d1, p1h, p1b, crlf, d2, p2h, p2b, end) = layout(
        H, D1, P1H, P1B, CRLF, D2, P2H, P2B)
    return data, multipart("mixed", [["boundary", "u"]], 0, d1, end, [
        text("plain", US_ASCII, p1h, p1b, crlf, 1),
        text("plain", US_ASCII, p2h, p2b, end, 1),
    ])


def case_nested_same_boundary():
    H = b"Content-Type: multipart/mixed; boundary=same\r\n\r\n"
    D1 = b"--same\r\n"
    P1H = b"Content-Type: multipart/alternative; boundary=same\r\n\r\n"
    ID1 = b"--same\r\n"
    IP1H = b"\r\n"
    IP1B = b"inner one\r\n"
    ICRLF = b"\r\n"
    ID2 = b"--same\r\n"
    IP2H = b"\r\n"
    IP2B = b"inner two\r\n"
    ICLOSE = b"\r\n--same--\r\n"
    CRLF1 = b"\r\n"
    D2 = b"--same\r\n"
    P2H = b"\r\n"
    P2B = b"outer two\r\n"
    CLOSE = b"\r\n--same--\r\n"
    data, (h, d1, p1h, id1, ip1h, ip1b, icrlf, id2, ip2h, ip2b, iclose, crlf1,
           d2, p2h, p2b, close, end) = layout(
        H, D1, P1H, ID1, IP1H, IP1B, ICRLF, ID2, IP2H, IP2B, ICLOSE, CRLF1,
        D2, P2H, P2B, CLOSE)
    same = [["boundary", "same"]]
    return data, multipart("mixed", same, 0, d1, end, [
        multipart("alternative", same, p1h, id1, crlf1, [
            text("plain", US_ASCII, ip1h, ip1b, icrlf, 1),
            text("plain", US_ASCII, ip2h, ip2b, iclose, 1),
        ]),
        text("plain", US_ASCII, p2h, p2b, close, 1),
    ])


def case_outer_delimiter_closes_inner():
    H = b"Content-Type: multipart/mixed; boundary=out\r\n\r\n"
    D1 = b"--out\r\n"
    P1H = b"Content-Type: multipart/alternative; boundary=in\r\n\r\n"
    ID1 = b"--in\r\n"
    IP1H = b"\r\n"
    IP1B = b"inner only\r\n"
    CRLF1 = b"\r\n"
    D2 = b"--out\r\n"
    P2H = b"\r\n"
    P2B = b"after\r\n"
    CLOSE = b"\r\n--out--\r\n"
    data, (h, d1, p1h, id1, ip1h, ip1b, crlf1, d2, p2h, p2b, close, end) = layout(
        H, D1, P1H, ID1, IP1H, IP1B, CRLF1, D2, P2H, P2B, CLOSE)
    return data, multipart("mixed", [["boundary", "out"]], 0, d1, end, [
        multipart("alternative", [["boundary", "in"]], p1h, id1, crlf1, [
            text("plain", US_ASCII, ip1h, ip1b, crlf1, 1),
        ]),
        text("plain", US_ASCII, p2h, p2b, close, 1),
    ])


def case_delimiter_inside_part_header():
    H = b"Content-Type: multipart/mixed; boundary=h\r\n\r\n"
    D1 = b"--h\r\n"
    P1H = b"Content-Type: text/plain; charset=utf-8"
    CRLF1 = b"\r\n"
    D2 = b"--h\r\n"
    P2H = b"\r\n"
    P2B = b"second\r\n"
    CLOSE = b"\r\n--h--\r\n"
    data, (h, d1, p1h, crlf1, d2, p2h, p2b, close, end) = layout(
        H, D1, P1H, CRLF1, D2, P2H, P2B, CLOSE)
    return data, multipart("mixed", [["boundary", "h"]], 0, d1, end, [
        text("plain", [["charset", "utf-8"]], p1h, crlf1, crlf1, 0),
        text("plain", US_ASCII, p2h, p2b, close, 1),
    ])


def case_empty_part_between_delimiters():
    H = b"Content-Type: multipart/mixed; boundary=e\r\n\r\n"
    D1 = b"--e\r\n"
    D2 = b"--e\r\n"
    P2H = b"\r\n"
    P2B = b"x\r\n"
    CLOSE = b"\r\n--e--\r\n"
    data, (h, d1, d2, p2h, p2b, close, end) = layout(H, D1, D2, P2H, P2B, CLOSE)
    return data, multipart("mixed", [["boundary", "e"]], 0, d1, end, [
        text("plain", US_ASCII, d2, d2, d2, 0),
        text("plain", US_ASCII, p2h, p2b, close, 1),
    ])


def case_prefix_of_boundary_is_not_a_delimiter():
    # RFC 2046 5.1.1: the delimiter line is "--" boundary, then only
    # transport padding (whitespace). "--abc" and "--ab-" are body text.
    H = b"Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
    D1 = b"--ab  \t\r\n"
    P1H = b"\r\n"
    P1B = b"--abc is not a delimiter\r\n--ab- neither\r\nx--ab\r\n"
    CRLF = b"\r\n"
    CLOSE = b"--ab--\r\n"
    data, (h, d1, p1h, p1b, crlf, close, end) = layout(H, D1, P1H, P1B, CRLF, CLOSE)
    return data, multipart("mixed", [["boundary", "ab"]], 0, d1, end, [
        text("plain", US_ASCII, p1h, p1b, crlf, 3),
    ])


def case_boundary_text_inside_base64():
    H = b'Content-Type: multipart/mixed; boundary="QUJD"\r\n\r\n'
    D1 = b"--QUJD\r\n"
    P1H = (b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n")
    P1B = b"QUJDREVG--QUJD\r\nQUJD--QUJDQUJD\r\n"
    CRLF = b"\r\n"
    CLOSE = b"--QUJD--\r\n"
    data, (h, d1, p1h, p1b, crlf, close, end) = layout(H, D1, P1H, P1B, CRLF, CLOSE)
    return data, multipart("mixed", [["boundary", "QUJD"]], 0, d1, end, [
        leaf("application", "octet-stream", [], p1h, p1b, crlf, encoding="BASE64"),
    ])


def case_bare_lf_line_endings():
    H = b"Content-Type: multipart/mixed; boundary=lf\n\n"
    D1 = b"--lf\n"
    P1H = b"Content-Type: text/plain\n\n"
    P1B = b"line\n"
    LF = b"\n"
    CLOSE = b"--lf--\n"
    data, (h, d1, p1h, p1b, lf, close, end) = layout(H, D1, P1H, P1B, LF, CLOSE)
    return data, multipart("mixed", [["boundary", "lf"]], 0, d1, end, [
        text("plain", US_ASCII, p1h, p1b, lf, 1, size=5),
    ])


def case_encapsulated_header_cut_by_delimiter():
    H = b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
    D1 = b"--m\r\n"
    P1H = b"Content-Type: message/rfc822\r\n\r\n"
    MH = b"Subject: truncated\r\nFrom: t@example.org"
    CRLF = b"\r\n"
    CLOSE = b"--m--\r\n"
    data, (h, d1, p1h, mh, crlf, close, end) = layout(H, D1, P1H, MH, CRLF, CLOSE)
    return data, multipart("mixed", [["boundary", "m"]], 0, d1, end, [
        leaf("message", "rfc822", [], p1h, mh, crlf, lines=1,
             envelope=envelope(None, "truncated", [[None, None, "t", "example.org"]]),
             message=text("plain", US_ASCII, mh, crlf, crlf, 0)),
    ])


def case_invalid_content_type_means_default():
    H = (b"MIME-Version: 1.0\r\nContent-Type: text\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    data, (h, b, end) = layout(H, b"caf=C3=A9\r\n")
    return data, text("plain", US_ASCII, 0, b, end, 1, encoding="QUOTED-PRINTABLE")


def case_message_global():
    H = b"MIME-Version: 1.0\r\nContent-Type: message/global\r\n\r\n"
    MH = "Subject: Grüße\r\nFrom: Jörg <jörg@bücher.example>\r\n\r\n".encode()
    MB = b"hi\r\n"
    data, (h, mh, mb, end) = layout(H, MH, MB)
    return data, leaf(
        "message", "global", [], 0, mh, end, lines=4,
        envelope=envelope(None, "Grüße", [["Jörg", None, "jörg", "bücher.example"]]),
        message=text("plain", US_ASCII, mh, mb, end, 1))


def case_parameter_names_lower_cased_values_kept():
    H = (b"MIME-Version: 1.0\r\n"
         b"Content-Type: TEXT/HTML (comment); CHARSET=\"UTF-8\" (more)\r\n\r\n")
    data, (h, b, end) = layout(H, b"<p>x</p>\r\n")
    return data, text("html", [["charset", "UTF-8"]], 0, b, end, 1)


def case_transfer_encoding_not_a_token():
    H = (b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: ?invalid\r\n\r\n")
    data, (h, b, end) = layout(H, b"xyz")
    return data, leaf("application", "octet-stream", [], 0, b, end)


STRUCTURE_CASES = [
    case_simple_text, case_lf_less_trailing_line, case_headers_only_no_blank_line,
    case_header_without_final_newline, case_empty_message, case_no_header_fields,
    case_blank_line_then_nothing, case_not_mime_ignores_content_fields,
    case_single_part_all_fields, case_multipart_alternative,
    case_mixed_with_attachment, case_nested_message_rfc822, case_digest_defaults,
    case_missing_boundary_parameter, case_boundary_never_found,
    case_close_delimiter_first, case_unclosed_final_boundary,
    case_nested_same_boundary, case_outer_delimiter_closes_inner,
    case_delimiter_inside_part_header, case_empty_part_between_delimiters,
    case_prefix_of_boundary_is_not_a_delimiter, case_boundary_text_inside_base64,
    case_bare_lf_line_endings, case_encapsulated_header_cut_by_delimiter,
    case_invalid_content_type_means_default, case_message_global,
    case_parameter_names_lower_cased_values_kept,
    case_transfer_encoding_not_a_token,
]


@pytest.mark.parametrize("case", STRUCTURE_CASES, ids=lambda f: f.__name__[5:])
def test_structure(case):
    data, expected = case()
    p = parse(data)
    assert p.body == expected


def test_sizes_against_dovecot_reference():
    """The sizes Dovecot's own test suite expects for this layout (its
    test-imap-bodystructure.c; virtual sizes there = CRLF sizes here)."""
    msg = ("From: user@domain.org\n"
           "Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
           "Mime-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"foo bar\"\n"
           "\n"
           "--foo bar\n"
           "Content-Type: text/plain; charset=us-ascii\n"
           "\n"
           "See attached...\n"
           "\n"
           "--foo bar\n"
           "Content-Type: message/rfc822\n"
           "\n"
           "From: user@domain.org\n"
           "Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
           "Mime-Version: 1.0\n"
           "Content-Type: text/plain; charset=us-ascii\n"
           "\n"
           "body\n"
           "\n"
           "--foo bar--\n"
           "\n").replace("\n", "\r\n").encode()
    body = parse(msg).body
    t, m = body["parts"]
    assert (t["size"], t["lines"]) == (17, 1)
    assert (m["size"], m["lines"]) == (133, 6)
    assert (m["message"]["size"], m["message"]["lines"]) == (6, 1)
    user = [[None, None, "user", "domain.org"]]
    assert m["envelope"] == envelope("Sat, 24 Mar 2017 23:00:00 +0200", None, user)


# --- search fields and the other ParsedMessage members --------------------------------------

def test_multipart_body_text_and_fields():
    data, _ = case_multipart_alternative()
    p = parse(data)
    assert p.body_text == "plain body\n\nhtml body"


def test_body_text_charsets_and_encodings():
    data, _ = case_mixed_with_attachment()
    assert parse(data).body_text == "Grüße\n"
    data, _ = case_single_part_all_fields()
    assert parse(data).body_text == "Hello world"
    data, _ = case_invalid_content_type_means_default()
    assert parse(data).body_text == "café\n"
    data, _ = case_nested_message_rfc822()
    assert parse(data).body_text == "see below\n\ninner text\n\ninner"
    data, _ = case_not_mime_ignores_content_fields()
    assert parse(data).body_text == "aGVsbG8=\n"


def test_body_text_html_reduced():
    html = (b"<html><head><title>T</title><style>p {color: red}</style></head>"
            b"<body><p>Caf&eacute; &amp; <b>bar</b></p><script>var x=1;</script>"
            b"<div>two<br>lines</div><!-- hidden --></body></html>")
    data = (b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + html)
    assert parse(data).body_text == "Café & bar\ntwo\nlines"


def test_body_text_bad_base64_and_unknown_charset():
    data = (b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"Y2Fmw6kg!!*\r\nYXUg\r\nbGFpdA\r\n")      # junk, no final padding
    assert parse(data).body_text == "café au lait"


def test_body_text_capped():
    from pillarbox.mime import BODY_TEXT_LIMIT
    data = (b"Subject: big\r\n\r\n" + b"0123456789" * (BODY_TEXT_LIMIT // 10 + 50))
    p = parse(data)
    assert len(p.body_text) == BODY_TEXT_LIMIT


def test_fields_of_the_nested_message():
    data, _ = case_nested_message_rfc822()
    p = parse(data)
    assert p.envelope == envelope(None, "fwd", [[None, None, "outer", "example.org"]])
    assert p.header_text == ("From: outer@example.org\nSubject: fwd\nMIME-Version: 1.0\n"
                             "Content-Type: multipart/mixed; boundary=outer\n")
    assert p.subject == "fwd"
    assert p.message_id is None and p.references == [] and p.date is None


def test_envelope_and_ids():
    data = (b"Date: Tue, 1 Aug 2023 12:00:00 +0000\r\n"
            b"Subject: =?ISO-8859-1?Q?Andr=E9?= Pirard\r\n"
            b"From: Alice <alice@example.org>\r\n"
            b"Sender: \r\n"
            b"Reply-To: list@example.org\r\n"
            b"To: \r\n"
            b"Cc: Bob <bob@example.org>,\r\n carol@example.org\r\n"
            b"Bcc: undisclosed-recipients:;\r\n"
            b"In-Reply-To: <parent@example.org>\r\n"
            b"References: <root@example.org>\r\n <parent@example.org>\r\n"
            b"Message-ID:\r\n <m1@example.org>\r\n"
            b"Subject: second subject is ignored\r\n"
            b"\r\nbody\r\n")
    p = parse(data)
    alice = [["Alice", None, "alice", "example.org"]]
    assert p.envelope == [
        "Tue, 1 Aug 2023 12:00:00 +0000",
        "=?ISO-8859-1?Q?Andr=E9?= Pirard",          # ENVELOPE keeps encoded-words
        alice,
        alice,                                      # empty Sender: From (RFC 3501)
        [[None, None, "list", "example.org"]],
        None,                                       # To without addresses: NIL
        [["Bob", None, "bob", "example.org"], [None, None, "carol", "example.org"]],
        [[None, None, "undisclosed-recipients", None], [None, None, None, None]],
        "<parent@example.org>",
        "<m1@example.org>",
    ]
    assert p.subject == "André Pirard"
    assert p.message_id == "<m1@example.org>"
    assert p.references == ["<root@example.org>", "<parent@example.org>"]
    assert p.date == 1690891200      # 19570 days after 1970-01-01, plus 12 hours
    assert p.header_text.splitlines()[1] == "Subject: André Pirard"
    assert p.header_text.splitlines()[9] == (
        "References: <root@example.org> <parent@example.org>")
    assert len(p.header_text.splitlines()) == 12


def test_message_id_without_brackets_and_references_dedup():
    p = parse(b"Message-ID: abc@example.org\r\nIn-Reply-To: <b@x> (comment)\r\n"
              b"References: <a@x> <b@x>\r\n\r\n")
    assert p.message_id == "<abc@example.org>"
    assert p.references == ["<a@x>", "<b@x>"]
    assert parse(b"Message-ID: not an id\r\n\r\n").message_id is None


def test_eight_bit_headers_round_trip():
    raw_latin1 = b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\nFrom: J\xf6rg <j@example.de>\r\n\r\n"
    p = parse(raw_latin1)
    assert p.envelope[1].encode("utf-8", "surrogateescape") == b"Gr\xfc\xdfe aus K\xf6ln"
    assert p.envelope[2][0][0].encode("utf-8", "surrogateescape") == b"J\xf6rg"
    assert p.subject == "Grüße aus Köln"               # search text: Windows-1252 guess
    p = parse("Subject: Grüße\r\n\r\n".encode())
    assert p.envelope[1] == "Grüße" and p.subject == "Grüße"


def test_nul_bytes():
    data = b"Subject: a\x00b\r\nFrom: x\x00@example.org\r\n\r\nbody\x00text\r\n"
    p = parse(data)
    assert p.envelope[1] == "a\x00b"                    # raw, as the octets are
    assert p.subject == "ab"
    assert p.body_text == "bodytext\n"
    # header: 14 + 22 octets of fields + 2 of blank line
    assert p.body == text("plain", US_ASCII, 0, 38, len(data), 1, size=11)


# --- addresses ------------------------------------------------------------------------------------

ADDRESS_CASES = [
    ("alice@example.org", [[None, None, "alice", "example.org"]]),
    ("Alice <alice@example.org>", [["Alice", None, "alice", "example.org"]]),
    ('"Doe, John" <john@example.org>', [["Doe, John", None, "john", "example.org"]]),
    ("Doe, John <john@example.org>", [["Doe, John", None, "john", "example.org"]]),
    ("John Q. Public <jqp@example.com>", [["John Q. Public", None, "jqp", "example.com"]]),
    ('"Giant; \\"Big\\" Box" <sysservices@example.net>',
     [['Giant; "Big" Box', None, "sysservices", "example.net"]]),
    # RFC 5322 appendix A.1.3 and A.5
    ("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     [[None, None, "A Group", None], ["Ed Jones", None, "c", "a.test"],
      [None, None, "joe", "where.test"], ["John", None, "jdoe", "one.test"],
      [None, None, None, None]]),
    ("Undisclosed recipients:;",
     [[None, None, "Undisclosed recipients", None], [None, None, None, None]]),
    ("undisclosed-recipients:",
     [[None, None, "undisclosed-recipients", None], [None, None, None, None]]),
    ("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
     [["Pete", None, "pete", "silly.test"]]),
    ("Team: a@x.test, B <b@y.test>;, c@z.test",
     [[None, None, "Team", None], [None, None, "a", "x.test"],
      ["B", None, "b", "y.test"], [None, None, None, None],
      [None, None, "c", "z.test"]]),
    ("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
     [["Mary Smith", None, "mary", "x.test"], [None, None, "jdoe", "example.org"],
      ["Who?", None, "one", "y.test"]]),
    ("<@route1.test,@route2.test:user@host.test>",
     [[None, "@route1.test,@route2.test", "user", "host.test"]]),
    ("user@host.test (Comment Name)", [["Comment Name", None, "user", "host.test"]]),
    ('"john doe"@example.com', [[None, None, "john doe", "example.com"]]),
    ("john . doe @ example . com", [[None, None, "john.doe", "example.com"]]),
    ("=?utf-8?q?J=C3=B6rg?= <j@example.de>",
     [["=?utf-8?q?J=C3=B6rg?=", None, "j", "example.de"]]),   # kept raw
    ("user@[192.0.2.1]", [[None, None, "user", "[192.0.2.1]"]]),
    # broken real-world forms
    ("Alice <alice@example.org", [["Alice", None, "alice", "example.org"]]),
    ("John Doe john@example.com", [["John Doe", None, "john", "example.com"]]),
    ("alice", [[None, None, "alice", MISSING_HOST]]),
    ("<>", [[None, None, "", MISSING_HOST]]),
    ("alice@", [[None, None, "alice", MISSING_HOST]]),
    ("Re: John <j@x.test>", [["Re: John", None, "j", "x.test"]]),
    ("john@example.com <john@example.com>",
     [["john@example.com", None, "john", "example.com"]]),
    ("a@b.test, , c@d.test,", [[None, None, "a", "b.test"], [None, None, "c", "d.test"]]),
    ("Name <a@b.test>, Other <c@d.test", [["Name", None, "a", "b.test"],
                                          ["Other", None, "c", "d.test"]]),
    ("Jörg <jörg@example.de>", [["Jörg", None, "jörg", "example.de"]]),
]


@pytest.mark.parametrize("value,expected", ADDRESS_CASES, ids=[c[0] for c in ADDRESS_CASES])
def test_address_list(value, expected):
    assert parse_address_list(value) == expected
    assert json.loads(json.dumps(expected)) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "(just a comment)", ",,,"])
def test_no_addresses(value):
    assert parse_address_list(value) is None


def test_sender_and_reply_to_default_to_from():
    p = parse(b"From: a@x.test\r\nTo: b@y.test\r\n\r\n")
    a = [[None, None, "a", "x.test"]]
    assert p.envelope[2:5] == [a, a, a]
    p = parse(b"From: a@x.test\r\nSender: s@x.test\r\nReply-To: (nobody)\r\n\r\n")
    assert p.envelope[3] == [[None, None, "s", "x.test"]]
    assert p.envelope[4] == a
    assert parse(b"Subject: none\r\n\r\n").envelope == [None, "none"] + [None] * 8


# --- parameters (RFC 2045, RFC 2231) ------------------------------------------------------------

PARAM_CASES = [
    # RFC 2231 section 3 example: continuations
    ("message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n"
     " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
     [["access-type", "URL"],
      ["url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"]]),
    # section 4 example: an encoded value stays encoded (as Dovecot/Cyrus send it)
    ("application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
     [["title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"]]),
    # section 4.1 example: encoded and plain sections merged
    ("application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
     " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"",
     [["title*", "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!"]]),
    # a plain first section before an encoded one: "''" prefix, % escaped
    ("application/x-stuff; name*0=\"50% \"; name*1*=off",
     [["name*", "''50%25 off"]]),
    # sections out of order are sorted; a gap leaves them as they are
    ("text/plain; a*1=\"b\"; charset=utf-8; a*0=\"a\"",
     [["a", "ab"], ["charset", "utf-8"]]),
    ("text/plain; n*0=\"a\"; n*2=\"c\"; charset=utf-8",
     [["n*0", "a"], ["n*2", "c"], ["charset", "utf-8"]]),
    # real-world sloppiness
    ("multipart/mixed; boundary=----=_Part_1_2.3", [["boundary", "----=_Part_1_2.3"]]),
    ("application/pdf; name=my file.pdf", [["name", "my file.pdf"]]),
    ("text/plain; charset=us-ascii (Plain text)", [["charset", "us-ascii"]]),
    ("text/plain;; ;charset=\"a\\\"b\";bogus;x=", [["charset", 'a"b'], ["x", ""]]),
    ("text/plain; charset=\"unterminated", [["charset", "unterminated"]]),
    ("text/plain garbage; charset=utf-8", [["charset", "utf-8"]]),
    ("text/plain; FORMAT=Flowed; DelSp=Yes", [["format", "Flowed"], ["delsp", "Yes"]]),
]


@pytest.mark.parametrize("value,params", PARAM_CASES, ids=range(len(PARAM_CASES)))
def test_content_type_params(value, params):
    data = b"MIME-Version: 1.0\r\nContent-Type: " + value.encode() + b"\r\n\r\n"
    body = parse(data).body
    if body["type"] == "text" and not any(n == "charset" for n, _ in params):
        params = params + US_ASCII
    assert body["params"] == params


def test_decode_params():
    assert decode_params([
        ["name*", "utf-8''%E2%82%AC%20rates.pdf"],
        ["title*", "us-ascii'en'This%20is%20%2A%2A%2Afun%2A%2A%2A"],
        ["filename", "=?UTF-8?B?w6nDqMOg?=.txt"],
        ["x*", "''50%25 off"],
        ["size", "4"],
    ]) == [
        ["name", "€ rates.pdf"],
        ["title", "This is ***fun***"],
        ["filename", "éèà.txt"],
        ["x", "50% off"],
        ["size", "4"],
    ]


@pytest.mark.parametrize("value,expected", [
    ("attachment; filename=\"a.txt\"; size=10",
     ["attachment", [["filename", "a.txt"], ["size", "10"]]]),
    ("INLINE", ["inline", []]),
    ("(comment) inline ; filename=x", ["inline", [["filename", "x"]]]),
    ("; filename=x", None),
])
def test_disposition(value, expected):
    data = (b"MIME-Version: 1.0\r\nContent-Disposition: " + value.encode()
            + b"\r\n\r\n")
    assert parse(data).body["disposition"] == expected


@pytest.mark.parametrize("value,expected", [
    ("Base64", "BASE64"),
    ("quoted-printable (comment)", "QUOTED-PRINTABLE"),
    ("8bit x", "7BIT"),
    ("", "7BIT"),
    ("x-uuencode", "X-UUENCODE"),
])
def test_transfer_encoding(value, expected):
    data = (b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: " + value.encode()
            + b"\r\n\r\n")
    assert parse(data).body["encoding"] == expected


@pytest.mark.parametrize("value,expected", [
    ("en, fi, se", ["en", "fi", "se"]),
    ("de-CH (Swiss German)", ["de-CH"]),
    ("", None),
    ("en, ???", ["en"]),
])
def test_language(value, expected):
    data = b"MIME-Version: 1.0\r\nContent-Language: " + value.encode() + b"\r\n\r\n"
    assert parse(data).body["language"] == expected


# --- RFC 2047 -------------------------------------------------------------------------------------

def _b(charset: str, s: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(s.encode(charset)).decode()}?="


WORD_CASES = [
    # RFC 2047 section 8 examples
    ("=?ISO-8859-1?Q?a?=", "a"),
    ("=?ISO-8859-1?Q?a?= b", "a b"),
    ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
    ("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)", "(ab)"),
    ("=?ISO-8859-1?Q?a_b?=", "a b"),
    ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"),
    ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
    ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
    ("=?ISO-8859-1?Q?Olle_J=E4rnefors?=", "Olle Järnefors"),
    # various charsets, B and Q, upper and lower case
    ("=?UTF-8?B?w6nDqMOg?=", "éèà"),
    ("=?utf-8?b?w6nDqMOg?=", "éèà"),
    (_b("koi8-r", "Привет"), "Привет"),
    (_b("iso-2022-jp", "テスト"), "テスト"),
    (_b("shift_jis", "日本語"), "日本語"),
    (_b("gb2312", "中文"), "中文"),
    (_b("big5", "中文"), "中文"),
    (_b("euc-kr", "한국어"), "한국어"),
    (_b("windows-1251", "Тест"), "Тест"),
    ("=?iso-8859-15?q?=A4uro?=", "€uro"),
    ("=?UTF-8*en?Q?Hi?=", "Hi"),                        # RFC 2231 language suffix
    # a character split across two words survives (adjacent words joined)
    ("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9t=C3=A9?=", "été"),
    ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6g=?=", "éè"),
    # unknown charset: guessed as UTF-8; broken words left alone
    ("=?x-unknown?Q?caf=C3=A9?=", "café"),
    ("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"),
    ("plain text", "plain text"),
    ("Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= again", "Re: Grüße again"),
]


@pytest.mark.parametrize("value,expected", WORD_CASES, ids=range(len(WORD_CASES)))
def test_decode_words(value, expected):
    assert decode_words(value) == expected


def test_folded_encoded_subject():
    p = parse(b"Subject: =?UTF-8?Q?Hello?=\r\n =?UTF-8?Q?_World?=\r\n\r\n")
    assert p.subject == "Hello World"
    assert p.envelope[1] == "=?UTF-8?Q?Hello?= =?UTF-8?Q?_World?="


# --- dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("Tue, 1 Aug 2023 12:00:00 +0000", 1690891200),
    ("1 Aug 2023 14:00:00 +0200", 1690891200),
    ("Tue, 1 Aug 2023 12:00:00", 1690891200),           # no zone: UTC
    ("Tue, 1 Aug 23 12:00:00 GMT", 1690891200),         # obsolete 2-digit year
    ("Tue, 01 Aug 2023 07:00:00 -0500 (CDT)", 1690891200),
    ("Thu, 01 Jan 1970 00:00:00 +0000", 0),
    ("garbage", None),
    ("", None),
    (None, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


# --- IMAP part numbers (RFC 3501 section 6.4.5 example) ---------------------------------------

def _rfc3501_example() -> bytes:
    def mp(subtype, boundary, *parts):
        out = [f"Content-Type: multipart/{subtype}; boundary={boundary}\r\n\r\n".encode()]
        for p in parts:
            out.append(f"--{boundary}\r\n".encode() + p + b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return b"".join(out)

    def leafpart(ctype, body):
        return f"Content-Type: {ctype}\r\n\r\n{body}".encode()

    def rfc822(inner):
        return b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" + inner

    return b"From: a@example.org\r\nMIME-Version: 1.0\r\n" + mp(
        "mixed", "r",
        leafpart("text/plain", "part 1"),
        leafpart("application/octet-stream", "part 2"),
        rfc822(mp("mixed", "m3", leafpart("text/plain", "part 3.1"),
                  leafpart("application/octet-stream", "part 3.2"))),
        mp("mixed", "r4",
           leafpart("image/gif", "part 4.1"),
           rfc822(mp("mixed", "m42",
                     leafpart("text/plain", "part 4.2.1"),
                     mp("alternative", "a",
                        leafpart("text/plain", "part 4.2.2.1"),
                        leafpart("text/richtext", "part 4.2.2.2"))))))


SECTION_CASES = [
    ([], "multipart/mixed", None),
    ([1], "text/plain", b"part 1"),
    ([2], "application/octet-stream", b"part 2"),
    ([3], "message/rfc822", None),
    ([3, 1], "text/plain", b"part 3.1"),
    ([3, 2], "application/octet-stream", b"part 3.2"),
    ([4], "multipart/mixed", None),
    ([4, 1], "image/gif", b"part 4.1"),
    ([4, 2], "message/rfc822", None),
    ([4, 2, 1], "text/plain", b"part 4.2.1"),
    ([4, 2, 2], "multipart/alternative", None),
    ([4, 2, 2, 1], "text/plain", b"part 4.2.2.1"),
    ([4, 2, 2, 2], "text/richtext", b"part 4.2.2.2"),
    ([0], None, None), ([5], None, None), ([1, 1], None, None), ([3, 3], None, None),
    ([4, 3], None, None), ([4, 2, 2, 3], None, None), ([4, 2, 2, 1, 1], None, None),
    ([-1], None, None),
]


@pytest.mark.parametrize("section,ctype,content", SECTION_CASES,
                         ids=[".".join(map(str, c[0])) or "root" for c in SECTION_CASES])
def test_section_offsets(section, ctype, content):
    data = _rfc3501_example()
    body = parse(data).body
    part = section_offsets(body, section)
    if ctype is None:
        assert part is None
        return
    assert f"{part['type']}/{part['subtype']}" == ctype
    if content is not None:
        assert data[part["body_start"]:part["end"]] == content
        assert data[part["header_start"]:part["body_start"]] == (
            f"Content-Type: {ctype}\r\n\r\n".encode())
    if ctype == "message/rfc822":
        m = part["message"]
        assert data[m["header_start"]:m["body_start"]].startswith(b"Subject: inner\r\n")
        assert part["envelope"][1] == "inner"


def test_section_offsets_single_part_messages():
    data = b"Subject: s\r\n\r\nbody"
    body = parse(data).body
    assert section_offsets(body, [1]) is body
    assert data[body["body_start"]:body["end"]] == b"body"
    assert section_offsets(body, [2]) is None
    assert section_offsets(body, [1, 1]) is None
    # a message that is itself message/rfc822: 1 is its body (the whole
    # encapsulated message), 1.1 the encapsulated message's body
    data = (b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
            b"Subject: inner\r\n\r\ninner body")
    body = parse(data).body
    assert section_offsets(body, [1]) is body
    inner = section_offsets(body, [1, 1])
    assert inner is body["message"]
    assert data[inner["body_start"]:inner["end"]] == b"inner body"
    assert section_offsets(body, [1, 2]) is None
    assert section_offsets(body, [1, 1, 1]) is None


# --- limits and hostile input ------------------------------------------------------------------

def _deep_multipart(levels: int) -> bytes:
    def level(i):
        if i == levels:
            return b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
        b = f"b{i}".encode()
        return (b"Content-Type: multipart/mixed; boundary=" + b + b"\r\n\r\n--" + b
                + b"\r\n" + level(i + 1) + b"\r\n--" + b + b"--\r\n")
    return level(0)


def test_deep_multipart_nesting_is_bounded():
    inner = _deep_multipart(200)
    data = (b"Content-Type: multipart/mixed; boundary=top\r\n\r\n--top\r\n" + inner
            + b"\r\n--top\r\nContent-Type: text/plain\r\n\r\ntail\r\n--top--\r\n")
    p = parse(data)
    assert p.body["end"] == len(data)
    tail = p.body["parts"][1]
    assert data[tail["body_start"]:tail["end"]] == b"tail"
    node = p.body["parts"][0]                           # depth 1
    for depth in range(1, MAX_DEPTH):
        assert node["type"] == "multipart" and len(node["parts"]) == 1, depth
        node = node["parts"][0]
    # the container at depth MAX_DEPTH is one opaque part, up to the
    # delimiter of its parent (boundary b98: the chain started at depth 1)
    assert (node["type"], node["subtype"]) == ("application", "octet-stream")
    assert data[node["end"]:].startswith(b"\r\n--b98--\r\n")
    assert b"innermost" in data[node["body_start"]:node["end"]]
    assert "innermost" not in p.body_text


def test_deep_message_nesting_is_bounded():
    data = b"Content-Type: message/rfc822\r\n\r\n" * 200 + b"Subject: bottom\r\n\r\nbottom"
    p = parse(data)
    node = p.body
    for depth in range(MAX_DEPTH):
        assert (node["type"], node["subtype"]) == ("message", "rfc822"), depth
        node = node["message"]
    assert (node["type"], node["subtype"]) == ("application", "octet-stream")
    assert node["end"] == len(data)


def test_deep_nesting_same_boundary():
    data = (b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n") * 300 + b"end"
    p = parse(data)
    assert p.body["end"] == len(data)


def test_too_many_parts():
    n = MAX_PARTS + 50
    data = (b"Content-Type: multipart/mixed; boundary=p\r\n\r\n"
            + b"--p\r\n\r\nx\r\n" * n + b"--p--\r\n")
    p = parse(data)
    assert len(p.body["parts"]) == MAX_PARTS - 1        # the root counts too
    assert p.body["end"] == len(data)


COMPLEX = _nested_pieces()[0]


def test_every_truncation_of_a_complex_message():
    for cut in range(len(COMPLEX) + 1):
        parse(COMPLEX[:cut])


FRAGMENTS = [
    b"--b\r\n", b"--b--\r\n", b"\r\n", b"\n", b"\r", b" ", b"\t",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/digest; boundary=\"b\"\r\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Type: message/global\r\n",
    b"Content-Type: text/html; charset=utf-7\r\n", b"Content-Type: text/plain; charset=\xff\r\n",
    b"Content-Type: multipart/mixed; boundary*0=b; boundary*1*=%\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"MIME-Version: 1.0\r\n", b"From: =?utf-8?q?x?= <a@b>, (c\r\n", b"To: g:a@b,;\r\n",
    b"Subject: =?utf-16?b?2D0=?=\r\n", b"Subject: \xff\xfe\x00\r\n", b" folded\r\n",
    b"Date: Mon, 32 Foo 99999 99:99:99 +9999\r\n", b"Content-Disposition: a; filename*=x''%ZZ\r\n",
    b"\x00", b"=?", b"?=", b"(", b")", b"\"", b"<", b">", b";", b":", b"@", b",", b"\\",
    b"<html><script>", b"&#x110000;", b"=\r\n", b"=4", b"PGI+eDwvYj4=",
]


def test_random_inputs_never_raise():
    rng = random.Random(20240601)
    for _ in range(600):
        pieces = []
        for _ in range(rng.randint(0, 80)):
            if rng.random() < 0.75:
                pieces.append(rng.choice(FRAGMENTS))
            else:
                pieces.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 30))))
        parse(b"".join(pieces))
    for _ in range(200):
        parse(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000))))


def test_random_address_headers_never_raise():
    rng = random.Random(7)
    alphabet = 'ab @<>,;:."\\()[] =?\xe9\x00\t\r\n'
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        result = parse_address_list(value)
        assert result is None or all(len(a) == 4 for a in result)
        assert json.loads(json.dumps(result)) == result


def test_accepts_bytes_like_input():
    data, expected = case_simple_text()
    assert parse_message(bytearray(data)).body == expected
    assert parse_message(memoryview(data)).body == expected


def test_boundary_from_rfc2231_continuation_and_8bit_boundary():
    data = (b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"\r\n\r\n"
            b"--abcd\r\n\r\none\r\n--abcd--\r\n")
    body = parse(data).body
    assert body["params"] == [["boundary", "abcd"]]
    assert [data[p["body_start"]:p["end"]] for p in body["parts"]] == [b"one"]
    data = (b"Content-Type: multipart/mixed; boundary=\"\xc3\xa9t\xe9\"\r\n\r\n"
            b"--\xc3\xa9t\xe9\r\n\r\ntwo\r\n--\xc3\xa9t\xe9--\r\n")
    body = parse(data).body
    assert body["params"][0][1].encode("utf-8", "surrogateescape") == b"\xc3\xa9t\xe9"
    assert [data[p["body_start"]:p["end"]] for p in body["parts"]] == [b"two"]


def test_body_text_seven_bit_charsets():
    jis = "テスト".encode("iso-2022-jp")
    data = (b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
            b"\r\n" + jis)
    assert parse(data).body_text == "テスト"
    data = (b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-7\r\n"
            b"\r\n" + "é".encode("utf-7"))
    assert parse(data).body_text == "é"


def test_parser_failure_still_returns_a_result(monkeypatch):
    import pillarbox.mime.message as message_module

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(message_module.Parser, "entity", broken)
    data = b"Subject: x\r\n\r\nline\r\n"
    p = parse(data)
    assert p.body == text("plain", US_ASCII, 0, 0, len(data), 3)   # three LFs
    assert p.envelope == [None] * 10


@pytest.mark.parametrize("name,make", [
    ("9000 parts without blank line, 2 MB after",
     lambda: b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
             + b"--b\r\nX: y\r\n" * 9000 + b"A" * (2 << 20)),
    ("200k lines that look like delimiters",
     lambda: b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
             + b"--x\r\n" * 200000),
    ("20k colons in an address header", lambda: b"To: " + b"a:" * 20000 + b"\r\n\r\n"),
    ("100k unterminated HTML tags",
     lambda: b"Content-Type: text/html\r\n\r\n" + b"<p<script" * 100000),
    ("a parameter value of 200k words",
     lambda: b"Content-Type: text/plain; name=" + b"a " * 200000 + b"\r\n\r\n"),
])
def test_hostile_inputs_stay_linear(name, make):
    # each of these took seconds to minutes with a quadratic algorithm
    import time
    data = make()
    started = time.perf_counter()
    parse(data)
    assert time.perf_counter() - started < 3.0


def test_charset_encoded_boundary_parameter():
    # RFC 2231 allows boundary*=charset''value; the boundary is the decoded value
    data = (b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/signed; micalg*=ansi-x3.4-1968''pgp-md5;\r\n"
            b"\tboundary*=\"ansi-x3.4-1968''Ee%51f\"\r\n\r\n"
            b"--EeQf\r\n\r\npart 1\r\n--EeQf\r\n\r\npart 2\r\n--EeQf--\r\n")
    body = parse(data).body
    assert body["params"] == [["micalg*", "ansi-x3.4-1968''pgp-md5"],
                              ["boundary*", "ansi-x3.4-1968''Ee%51f"]]
    assert [data[p["body_start"]:p["end"]] for p in body["parts"]] == [b"part 1", b"part 2"]
