"""Small asyncio clients speaking raw IMAP, POP3 and LMTP: cheap enough that
hundreds of connections and thousands of commands a second cost the load
generator less CPU than they cost the server."""
