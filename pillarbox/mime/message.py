"""parse_message: everything the store caches about a message, in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field

from .bodystructure import Parser, empty_part
from .envelope import build_envelope, msg_ids, parse_date
from .text import (clean_text, decode_bytes, decode_transfer, decode_words,
                   html_to_text)

__all__ = ["ParsedMessage", "parse_message", "BODY_TEXT_LIMIT"]

BODY_TEXT_LIMIT = 1 << 20           # characters of body_text kept


@dataclass(frozen=True)
class ParsedMessage:
    envelope: list          # IMAP ENVELOPE as JSON-able nested lists
    body: dict              # the root BodyPart (see pillarbox.mime.bodystructure)
    header_text: str        # "Name: decoded value\n" per header field, for search
    body_text: str          # decoded text of the text/* parts, for search
    message_id: str | None  # "<...>" from Message-ID, or None
    references: list[str] = field(default_factory=list)  # References then In-Reply-To ids
    subject: str = ""       # decoded Subject
    date: int | None = None  # Date as unix seconds


def parse_message(data: bytes) -> ParsedMessage:
    """Parse a message (the octets exactly as they will be served).

    Never raises: whatever the input, a ParsedMessage comes back (if the
    parser itself failed, one describing the data as a single text/plain
    part with an empty envelope).
    """
    try:
        data = bytes(data)
    except Exception:
        data = b""
    try:
        return _parse(data)
    except Exception:                   # a bug must not lose a delivery
        return _fallback(data)


def _parse(data: bytes) -> ParsedMessage:
    parser = Parser(data)
    root, _term, hdr, fields = parser.entity(0, 0, False, True)
    header_text = "".join(
        f"{name}: {decode_words(value).strip()}\n" for name, value in fields)
    ids = msg_ids(hdr.get("message-id"))
    if ids:
        message_id = ids[0]
    else:
        bare = (hdr.get("message-id") or "").strip()
        message_id = f"<{bare}>" if bare and not any(c.isspace() for c in bare) else None
    references = list(dict.fromkeys(
        msg_ids(hdr.get("references")) + msg_ids(hdr.get("in-reply-to"))))
    return ParsedMessage(
        envelope=build_envelope(hdr),
        body=root,
        header_text=clean_text(header_text),
        body_text=_body_text(data, parser.texts),
        message_id=message_id,
        references=references,
        subject=clean_text(decode_words(hdr.get("subject", "")).strip()),
        date=parse_date(hdr.get("date")),
    )


def _charset(part: dict) -> str | None:
    for name, value in part["params"]:
        if name == "charset":
            return value
    return None


def _body_text(data: bytes, texts: list[dict]) -> str:
    """The decoded text of the text/* leaves, joined by newlines, capped at
    BODY_TEXT_LIMIT characters (octets beyond what could fill the cap are
    not even decoded)."""
    out: list[str] = []
    total = 0
    for part in texts:
        room = BODY_TEXT_LIMIT - total
        if room <= 0:
            break
        start = part["body_start"]
        end = min(part["end"], start + 8 * room + 4096)
        if end <= start:
            continue
        raw = decode_transfer(data[start:end], part["encoding"])
        text = decode_bytes(raw, _charset(part))
        if part["subtype"] == "html":
            text = html_to_text(text)
        elif "\r" in text:
            text = text.replace("\r\n", "\n")
        if not text:
            continue
        out.append(text)
        total += len(text) + 1
    return clean_text("\n".join(out)[:BODY_TEXT_LIMIT])


def _fallback(data: bytes) -> ParsedMessage:
    body = empty_part(0)
    body["body_start"] = 0
    body["end"] = body["size"] = len(data)
    body["lines"] = data.count(b"\n")
    return ParsedMessage(envelope=build_envelope({}), body=body, header_text="",
                         body_text="", message_id=None, references=[],
                         subject="", date=None)
