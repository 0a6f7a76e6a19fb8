"""idled: holds IMAP sessions hibernating in IDLE, many in one small process."""
