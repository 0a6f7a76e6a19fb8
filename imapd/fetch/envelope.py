"""ENVELOPE (RFC 3501 / RFC 9051 section 7.5.2), INTERNALDATE / SAVEDATE
date-time, and the nstring helper the structures share.

Strings come from the store's cache as raw octets decoded with
surrogateescape; they go back to octets and through the formatter's
format_value, which picks a quoted string or a literal (8-bit text without
UTF8=ACCEPT, CR/LF, quotes that cannot be escaped...).

Address lists follow the ABNF strictly: ``"(" 1*address ")"``, with no space
between the addresses (as Dovecot sends them).
"""

from __future__ import annotations

import re
import time

from imapd.protocol.formatter import format_value

__all__ = ["format_envelope", "format_internaldate", "nstring"]

_NIL = b"NIL"


# printable US-ASCII without '"' and '\\': quoted as it is, in every mode
_PLAIN = re.compile(r'[ !#-\[\]-~]{0,1024}\Z')


def nstring(value, utf8: bool) -> bytes:
    """NIL for None, else the string (str or bytes) quoted or as a literal."""
    if value is None:
        return _NIL
    if isinstance(value, str):
        if _PLAIN.match(value) is not None:        # the common case, without a call
            return b'"' + value.encode("ascii") + b'"'
        value = value.encode("utf-8", "surrogateescape")
    return format_value(value, utf8=utf8)


def _address_list(addrs, utf8: bool) -> bytes:
    if not addrs:
        return _NIL
    out = [b"("]
    for addr in addrs:
        if not addr or len(addr) != 4:
            continue
        out.append(b"(" + b" ".join([nstring(addr[0], utf8), nstring(addr[1], utf8),
                                     nstring(addr[2], utf8), nstring(addr[3], utf8)]) + b")")
    if len(out) == 1:
        return _NIL
    out.append(b")")
    return b"".join(out)


def format_envelope(envelope: list, *, utf8: bool) -> bytes:
    """The parenthesised ENVELOPE from the cached list
    [date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id]
    (pillarbox.mime.build_envelope). A malformed cache entry gives an
    all-NIL envelope rather than a broken response."""
    if not isinstance(envelope, (list, tuple)) or len(envelope) != 10:
        envelope = [None] * 10
    date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = envelope
    return b"(" + b" ".join([
        nstring(date, utf8),
        nstring(subject, utf8),
        _address_list(from_, utf8),
        _address_list(sender, utf8),
        _address_list(reply_to, utf8),
        _address_list(to, utf8),
        _address_list(cc, utf8),
        _address_list(bcc, utf8),
        nstring(in_reply_to, utf8),
        nstring(message_id, utf8),
    ]) + b")"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MIN_SECONDS = -62135596800         # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253402300799         # 9999-12-31T23:59:59Z


def format_internaldate(seconds: int) -> str:
    """IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 date-time,
    without the quotes), in UTC.

    UTC ("+0000") rather than the server's local zone: the store keeps only
    the instant (unix seconds), not the zone an APPEND gave, so every zone
    is equally faithful; UTC does not depend on the TZ of the machine and
    is the same for every session. The day is zero-padded ("05-Jul-2024"),
    as Dovecot sends it (the RFC also allows a leading space).
    """
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        seconds = 0
    seconds = min(max(seconds, _MIN_SECONDS), _MAX_SECONDS)
    t = time.gmtime(seconds)
    return "%02d-%s-%04d %02d:%02d:%02d +0000" % (
        t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)
