"""SEARCH: the criteria grammar, their evaluation, and the SEARCH/ESEARCH replies.

Sans-I/O, like the rest of imapd.protocol: `parse_search` turns the command's
tokens into a `SearchProgram`, `evaluate` runs it over the selected mailbox's
messages (given as plain objects plus two store callbacks), and
`format_search_response` writes the untagged reply.

    parse.py     RFC 3501 / RFC 9051 search-program grammar with the ESEARCH (RFC 4731),
                 SEARCHRES (RFC 5182), CONDSTORE (RFC 7162), OBJECTID (RFC 8474),
                 SAVEDATE (RFC 8514) and WITHIN (RFC 5032) additions
    evaluate.py  set-at-a-time evaluation: cheap keys first, one text_search per text key
    response.py  "* SEARCH ..." and "* ESEARCH ..." and what RETURN (SAVE) keeps for "$"
"""

from imapd.search.evaluate import SearchContext, evaluate
from imapd.search.parse import (
    MAX_DEPTH, And, Key, Not, Or, SearchError, SearchProgram, parse_search,
)
from imapd.search.response import format_search_response, saved_uids

__all__ = [
    "MAX_DEPTH", "And", "Key", "Not", "Or", "SearchContext", "SearchError", "SearchProgram",
    "evaluate", "format_search_response", "parse_search", "saved_uids",
]
