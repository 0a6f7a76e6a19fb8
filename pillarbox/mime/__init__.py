"""The MIME layer: parse a message once, cache what IMAP needs.

    parsed = parse_message(data)        # never raises
    json.dumps(parsed.envelope)         # ENVELOPE, raw strings
    json.dumps(parsed.body)             # BODYSTRUCTURE + offsets for BODY[section]
    part = section_offsets(parsed.body, [2, 1])

Every string taken from the message (header values, parameters, addresses)
is the raw octets decoded as UTF-8 with errors="surrogateescape": imapd gets
the exact octets back with ``.encode("utf-8", "surrogateescape")``. Such
strings can hold lone surrogates, so JSON must be written with the default
ensure_ascii=True (it escapes them) before it goes into SQLite. header_text,
body_text and subject are decoded text without surrogates or NULs.

Modules: headers (fields, Content-* parameters, RFC 2231), envelope
(addresses, ENVELOPE, Date, msg-ids), bodystructure (the part tree, section
numbers), text (charsets, RFC 2047, transfer encodings, HTML to text),
message (parse_message).
"""

from .bodystructure import MAX_DEPTH, MAX_PARTS, section_offsets
from .envelope import (ENVELOPE_FIELDS, MISSING_HOST, build_envelope, msg_ids,
                       parse_address_list, parse_date)
from .headers import decode_params, split_fields
from .message import BODY_TEXT_LIMIT, ParsedMessage, parse_message
from .text import decode_bytes, decode_transfer, decode_words, html_to_text

__all__ = [
    "parse_message",
    "ParsedMessage",
    "section_offsets",
    "parse_address_list",
    "build_envelope",
    "parse_date",
    "msg_ids",
    "split_fields",
    "decode_params",
    "decode_words",
    "decode_bytes",
    "decode_transfer",
    "html_to_text",
    "ENVELOPE_FIELDS",
    "MISSING_HOST",
    "MAX_DEPTH",
    "MAX_PARTS",
    "BODY_TEXT_LIMIT",
]
