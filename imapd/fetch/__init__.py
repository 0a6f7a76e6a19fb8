"""FETCH without I/O: item parsing, section extraction, ENVELOPE /
BODYSTRUCTURE formatting and the untagged FETCH response.

    items, needs_body, sets_seen = parse_fetch_items([token], uid_command=True)
    req = parse_fetch_command(args, uid_command=True)   # + CHANGEDSINCE/VANISHED
    line = fetch_response(MessageData(seq, record, recent, load_bytes, load_structure),
                          items, utf8=False, imap4rev2=False)

Errors: FetchError (str() is the text of a tagged BAD) from parsing;
FetchFailed / UnknownCTE (``.code`` "UNKNOWN-CTE", tagged NO) from
fetch_response for BINARY of an undecodable part.

Modules: items (parse), envelope (ENVELOPE, date-time), bodystructure
(BODY / BODYSTRUCTURE), sections (BODY[...] / BINARY[...] octets),
response (MessageData, fetch_response).
"""

from .bodystructure import format_bodystructure
from .envelope import format_envelope, format_internaldate
from .items import (FLAGS_ITEM, MODSEQ_ITEM, UID_ITEM, FetchError, FetchItem,
                    FetchRequest, parse_attribute, parse_fetch_command,
                    parse_fetch_items)
from .response import MessageData, fetch_response, format_flags
from .sections import (FetchFailed, UnknownCTE, apply_partial, decode_binary,
                       extract_section, filter_header, header_end)

__all__ = [
    "FetchError",
    "FetchFailed",
    "UnknownCTE",
    "FetchItem",
    "FetchRequest",
    "MessageData",
    "FLAGS_ITEM",
    "UID_ITEM",
    "MODSEQ_ITEM",
    "parse_attribute",
    "parse_fetch_items",
    "parse_fetch_command",
    "fetch_response",
    "format_flags",
    "format_envelope",
    "format_bodystructure",
    "format_internaldate",
    "extract_section",
    "filter_header",
    "header_end",
    "decode_binary",
    "apply_partial",
]
