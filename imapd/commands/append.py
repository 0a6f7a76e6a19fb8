"""APPEND mailbox [flags] [date-time] message, repeated for MULTIAPPEND (RFC 3502);
literal8 messages for BINARY (RFC 3516); APPENDUID (RFC 4315)."""

from imapd import args
from imapd.errors import Bad, No
from imapd.protocol.sequence import format_sequence_set
from imapd.protocol.tokens import List, String
from pillarbox.store import MailboxNotFound, QuotaExceeded, StoreError


def handle(server, command):
    if len(command.args) < 2:
        raise Bad("APPEND mailbox [(flags)] [\"date-time\"] {size}")
    name = args.mailbox(server, command.args[0])
    messages = _messages(command.args[1:])
    limit = server.config.getint("maxmessagesize")
    if limit and any(len(data) > limit for data, _, _ in messages):
        raise No(f"message larger than the APPENDLIMIT of {limit} octets", "TOOBIG")
    store = server.require_store()
    try:
        results = store.append_many(name, messages)
    except MailboxNotFound:
        raise No(f"{args.text(command.args[0])} does not exist", "TRYCREATE") from None
    except QuotaExceeded as error:
        raise No(str(error), "OVERQUOTA") from None
    except StoreError as error:
        if "flag" in str(error) or "keyword" in str(error):
            raise Bad(str(error)) from None
        raise
    uids = format_sequence_set([r.uid for r in results])
    return "APPEND completed", f"APPENDUID {results[0].uidvalidity} {uids}"


def _messages(tokens):
    """[(data, flags, internaldate)] from the (flags) (date) literal groups."""
    messages, flags, date = [], [], None
    for token in tokens:
        if isinstance(token, List):
            if flags or date is not None:
                raise Bad("flags must come before the date and the message")
            flags = args.flag_list(token)
        elif isinstance(token, String) and not token.literal and date is None:
            date = args.date_time(token)
        elif isinstance(token, String):
            if "\\Recent" in flags:
                flags = [f for f in flags if f != "\\Recent"]
            messages.append((token.data, flags, date))
            flags, date = [], None
        else:
            raise Bad("the message must be a literal")
    if flags or date is not None or not messages:
        raise Bad("APPEND needs a message literal after the flags and date")
    return messages
