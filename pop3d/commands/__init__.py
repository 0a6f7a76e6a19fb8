"""One module per POP3 command; dispatch.py says which state each belongs to."""
