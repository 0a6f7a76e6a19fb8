"""CREATE mailbox [(USE (special-use))] (RFC 3501, RFC 6154 CREATE-SPECIAL-USE)."""

from imapd import args
from imapd.errors import Bad, No
from pillarbox.store import InvalidMailboxName, MailboxExists, StoreError
from pillarbox.store.userstore import SPECIAL_USES


def handle(server, command):
    args.count(command.args, 1, 2, "CREATE mailbox [(USE (flag))]")
    external = args.text(command.args[0], "mailbox name")
    if external.endswith(server.namespace.separator):
        external = external[:-1]          # "foo/" means "foo, which will have children"
    from imapd.protocol.tokens import String
    name = args.mailbox(server, String(external.encode("utf-8", "surrogateescape")))
    special_use = _special_use(command.args[1]) if len(command.args) == 2 else None
    store = server.require_store()
    try:
        store.create_mailbox(name, special_use=special_use)
    except MailboxExists:
        raise No(f"{external} already exists", "ALREADYEXISTS") from None
    except InvalidMailboxName as error:
        raise No(str(error), "CANNOT") from None
    except StoreError as error:
        if "special-use" in str(error):
            raise No(str(error), "USEATTR") from None
        raise


def _special_use(token):
    items = args.parenthesised(token, "CREATE parameters")
    if len(items) != 2 or args.atom(items[0]).upper() != "USE":
        raise Bad("CREATE parameters are (USE (\\Sent))")
    flags = args.parenthesised(items[1], "USE")
    if len(flags) != 1:
        raise No("exactly one special-use attribute per mailbox", "USEATTR")
    wanted = args.atom(flags[0])
    canonical = {use.lower(): use for use in SPECIAL_USES}.get(wanted.lower())
    if canonical is None:
        raise No(f"{wanted} is not a special-use attribute", "USEATTR")
    return canonical
