from imapd import args
from imapd.errors import No
from pillarbox.store import InvalidMailboxName, MailboxExists, MailboxNotFound


def handle(server, command):
    args.count(command.args, 2, usage="RENAME old new")
    old, new = args.mailbox(server, command.args[0]), args.mailbox(server, command.args[1])
    store = server.require_store()
    try:
        store.rename_mailbox(old, new)
    except MailboxNotFound:
        raise No(f"{args.text(command.args[0])} does not exist", "NONEXISTENT") from None
    except MailboxExists:
        raise No(f"{args.text(command.args[1])} already exists", "ALREADYEXISTS") from None
    except InvalidMailboxName as error:
        raise No(str(error), "CANNOT") from None
    if server.selected is not None and server.selected.name == old and old != "INBOX":
        server.selected.name = new
        server.selected.external = args.external_name(server, new)
