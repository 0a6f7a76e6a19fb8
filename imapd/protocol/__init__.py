"""IMAP protocol logic with no I/O: assembling commands (with literals), tokens,
sequence sets, and response formatting. Nothing here imports socket."""
