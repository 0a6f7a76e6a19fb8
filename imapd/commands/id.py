"""ID (RFC 2971): the client says who it is; we answer with our name (serverinfo permitting)."""

from imapd import args
from imapd.protocol.formatter import format_value
from imapd.protocol.tokens import List
from pillarbox import log

VERSION = "0.1.0"


def handle(server, command):
    args.count(command.args, 1)
    params = command.args[0]
    if isinstance(params, List):
        items = [args.text(t) if t is not None else None for t in params.items]
        if len(items) % 2 or len(items) > 60:
            from imapd.errors import Bad
            raise Bad("ID takes field/value pairs (at most 30)")
        pairs = " ".join(f"{k}={v!r}" for k, v in zip(items[::2], items[1::2]))
        log.info(f"id: {server.session.peer} {pairs[:400]} session={server.session.id}")
    info = server.config.getstr("serverinfo") or "on"
    if info == "off":
        server.untagged("ID NIL")
    else:
        fields = ["name", "pillarbox", "vendor", "pillarbox"]
        if info == "on":
            fields += ["version", VERSION]
        server.send(b"* ID " + format_value(fields) + b"\r\n")
