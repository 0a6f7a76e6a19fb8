from imapd import args
from imapd.protocol.formatter import format_value


def handle(server, command):
    args.count(command.args, 0)
    personal = [[server.namespace.personal_prefix(), server.namespace.separator]]
    server.send(b"* NAMESPACE " + format_value(personal) + b" NIL NIL\r\n")
