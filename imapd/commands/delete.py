from imapd import args
from imapd.errors import No
from pillarbox.store import INBOX, InvalidMailboxName, MailboxNotEmptyOrSpecial, MailboxNotFound


def handle(server, command):
    args.count(command.args, 1, usage="DELETE mailbox")
    name = args.mailbox(server, command.args[0])
    store = server.require_store()
    if name == INBOX:
        raise No("INBOX cannot be deleted", "CANNOT")
    try:
        store.delete_mailbox(name)
    except MailboxNotFound:
        raise No(f"{args.text(command.args[0])} does not exist", "NONEXISTENT") from None
    except (MailboxNotEmptyOrSpecial, InvalidMailboxName) as error:
        raise No(str(error), "CANNOT") from None
    if server.selected is not None and server.selected.name == name:
        server.selected = None
        server.state = "authenticated"
