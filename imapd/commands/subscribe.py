from imapd import args


def handle(server, command):
    args.count(command.args, 1, usage=f"{command.name} mailbox")
    name = args.mailbox(server, command.args[0])
    store = server.require_store()
    if command.name == "SUBSCRIBE":
        store.subscribe(name)
    else:
        store.unsubscribe(name)
