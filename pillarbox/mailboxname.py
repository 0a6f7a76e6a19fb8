"""Everything about mailbox *names*: internal, external (IMAP) and on-disk.

Pure functions, no I/O.  Three spellings of one mailbox name exist:

INTERNAL name (what the store and its SQLite index use)
    A ``str`` of Unicode components joined by ``"/"``: ``"INBOX"``,
    ``"Archive"``, ``"Archive/2024"``, ``"Café/Ünïcode"``, ``"INBOX/Sub"``.
    ``validate()`` is the only gate: every internal name the store keeps has
    been through it.  Rules (RFC 3501/9051 section 5.1, RFC 6855 section 3):

    * not empty; no empty component (no leading, trailing or doubled ``"/"``);
      no component ``"."`` or ``".."``;
    * no C0 controls (U+0000-U+001F), DEL (U+007F), C1 controls
      (U+0080-U+009F), LINE/PARAGRAPH SEPARATOR (U+2028, U+2029), no
      unpaired surrogates (U+D800-U+DFFF, e.g. from ``surrogateescape``);
    * no ``"%"`` or ``"*"``: they are LIST wildcards (RFC 3501 5.1 allows them
      but LIST/LSUB cannot then address such a mailbox; Cyrus's
      mboxname_policycheck refuses them too).  Other printable characters
      are allowed (more permissive than Cyrus, like Dovecot);
    * a first component equal to ``INBOX`` in any ASCII case is normalised to
      ``"INBOX"`` (only the whole first component, and only ASCII case
      folding, so ``"ınbox"`` with a dotless i stays a separate folder);
      ``"INBOX/Sub"`` is a real child of INBOX;
    * no Unicode normalisation is applied: a client that creates an NFD name
      gets that NFD name back (RFC 9051 only asks servers to *accept*
      de-normalised names);
    * limits: see ``MAX_NAME_BYTES``, ``MAX_DEPTH``, ``MAX_COMPONENT_BYTES``
      and ``MAX_MAILDIR_BYTES`` below.  The on-disk limits are the ones that
      bind in practice: at most 254 bytes of encoded name in total and 200 per
      level, i.e. 200 ASCII characters or 74 CJK characters in one level.

EXTERNAL name (what an IMAP client sends and sees)
    Modified UTF-7 (RFC 3501 5.1.3) unless the session enabled UTF-8
    (``IMAP4rev2`` or ``UTF8=ACCEPT``, RFC 9051 / RFC 6855), with hierarchy
    separator ``"/"`` (``unixhierarchysep: yes``, the default) or ``"."``.
    See ``Namespace`` for the exact mapping in all four combinations of
    ``unixhierarchysep`` and ``altnamespace``.

ON-DISK name (Maildir++ folder directory, relative to the user's Maildir)
    ``""`` for INBOX (the Maildir root), otherwise ``"."`` followed by the
    components joined by ``"."``, each component in modified UTF-7 with the
    ASCII ``"."`` additionally written in modified BASE64 (``"&AC4-"``), so
    the Maildir++ separator is never ambiguous.  This is the layout of
    Courier-IMAP and of Dovecot's default ``LAYOUT=Maildir++`` (folder names
    in mUTF-7 on disk, ``.folder.subfolder``).  Children of INBOX are stored
    as ``".INBOX.Sub"`` -- exactly what Dovecot's Maildir++ layout does with
    an empty namespace prefix, and what Courier (whose names all carry the
    ``"INBOX."`` prefix) shows as ``INBOX.INBOX.Sub``.  A top-level folder
    literally called ``"INBOX"`` cannot exist (that name *is* the inbox), so
    ``".INBOX.*"`` never collides with anything; a top-level folder called
    ``"INBOX.x"`` is ``".INBOX&AC4-x"``.

    ``from_maildir()`` is the exact inverse of ``to_maildir()``: it returns a
    name only for a *canonical* directory name (``to_maildir(result) ==
    dirname``), so two directories can never map to one mailbox.  Anything
    else -- no leading dot, ``"."``, ``".."``, ``"tmp"``/``"new"``/``"cur"``,
    empty components (``"..x"``, ``".x."``), raw 8-bit or raw UTF-8 names
    (Dovecot's ``UTF8`` layout option), bad or non-canonical mUTF-7, a name
    ``validate()`` refuses, ``".INBOX"`` in any case, ``".inbox.Sub"`` (the
    canonical spelling is ``".INBOX.Sub"``) -- gives ``None``: the store
    should ignore (and may log) such directories.

Limits (checked by ``validate()`` and therefore by everything else):

* ``MAX_NAME_BYTES`` (1024): UTF-8 length of the internal name.  A cheap
  early guard, also applied to the length of an external name before any
  decoding; never the binding limit for a Maildir++ store.
* ``MAX_DEPTH`` (32): number of components.
* ``MAX_COMPONENT_BYTES`` (200): length of one component in its on-disk
  encoding (ASCII, so bytes == characters).
* ``MAX_MAILDIR_BYTES`` (255): length of the whole on-disk directory name,
  leading dot included.  Maildir++ flattens the hierarchy into ONE directory
  entry, so the whole name -- not each component -- must fit NAME_MAX (255
  bytes on Linux file systems; Dovecot documents the same "must fit to 254
  bytes" for its Maildir++ layout).  This limit binds first.

Errors are ``MailboxNameError`` (a ``ValueError``) whose message is fit for
an IMAP ``NO`` and whose ``code`` attribute is an RFC 5530 response code
(``"CANNOT"`` for a name that can never be valid, ``"LIMIT"`` for a name
that is too long or too deep).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass

__all__ = [
    "MailboxNameError",
    "INBOX",
    "MAX_NAME_BYTES",
    "MAX_DEPTH",
    "MAX_COMPONENT_BYTES",
    "MAX_MAILDIR_BYTES",
    "encode_mutf7",
    "decode_mutf7",
    "validate",
    "parent",
    "children_prefix",
    "to_maildir",
    "from_maildir",
    "Namespace",
    "list_matches",
    "compile_pattern",
]


class MailboxNameError(ValueError):
    """A mailbox name that cannot be used; str(err) suits an IMAP NO."""

    def __init__(self, message: str, code: str = "CANNOT") -> None:
        super().__init__(message)
        self.code = code


INBOX = "INBOX"
MAX_NAME_BYTES = 1024
MAX_DEPTH = 32
MAX_COMPONENT_BYTES = 200
MAX_MAILDIR_BYTES = 255

_SEP = "/"          # internal hierarchy separator
_DISK_SEP = "."     # Maildir++ separator

# --------------------------------------------------------------------------
# modified UTF-7 (RFC 3501 section 5.1.3)
# --------------------------------------------------------------------------

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"
_B64_VALUE = {c: i for i, c in enumerate(_B64_ALPHABET)}
# Strings that encode to themselves: printable ASCII except "&".
_PLAIN_RE = re.compile(r"[\x20-\x25\x27-\x7e]*\Z")


def _b64_run(chars: list[str]) -> str:
    try:
        data = "".join(chars).encode("utf-16-be")
    except UnicodeEncodeError:
        raise MailboxNameError("Mailbox name contains an unpaired surrogate") from None
    encoded = base64.b64encode(data).rstrip(b"=").replace(b"/", b",")
    return "&" + encoded.decode("ascii") + "-"


def _encode(text: str, escape: str = "") -> str:
    """mUTF-7 encode; characters in `escape` are forced into BASE64 too."""
    if _PLAIN_RE.match(text) and not any(c in text for c in escape):
        return text
    out: list[str] = []
    run: list[str] = []
    for ch in text:
        if " " <= ch <= "~" and ch not in escape:
            if run:
                out.append(_b64_run(run))
                run = []
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    if run:
        out.append(_b64_run(run))
    return "".join(out)


def _decode(encoded: str | bytes, escape: str = "") -> str:
    """Strict mUTF-7 decode; characters in `escape` must be BASE64-encoded."""
    if isinstance(encoded, (bytes, bytearray)):
        try:
            encoded = bytes(encoded).decode("ascii")
        except UnicodeDecodeError:
            raise MailboxNameError(
                "Mailbox name contains 8-bit characters; use modified UTF-7 (RFC 3501 5.1.3)"
            ) from None
    if not isinstance(encoded, str):
        raise MailboxNameError("Mailbox name must be a string")
    for ch in encoded:
        if ch > "~":
            raise MailboxNameError(
                "Mailbox name contains 8-bit characters; use modified UTF-7 (RFC 3501 5.1.3)"
            )
        if ch < " ":
            raise MailboxNameError("Mailbox name contains a control character")
        if ch in escape:
            raise MailboxNameError(f"Mailbox name component contains {ch!r}")
    if "&" not in encoded:
        return encoded

    out: list[str] = []
    i, n = 0, len(encoded)
    while i < n:
        ch = encoded[i]
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = encoded.find("-", i + 1)
        if end < 0:
            raise MailboxNameError("Bad modified UTF-7 in mailbox name: '&' without closing '-'")
        if end == i + 1:
            out.append("&")
            i = end + 1
            continue
        b64 = encoded[i + 1:end]
        for c in b64:
            if c not in _B64_VALUE:
                raise MailboxNameError(
                    f"Bad modified UTF-7 in mailbox name: {c!r} in a BASE64 run"
                )
        rem = len(b64) % 4
        if rem == 1:
            raise MailboxNameError("Bad modified UTF-7 in mailbox name: truncated BASE64 run")
        last = _B64_VALUE[b64[-1]]
        if (rem == 2 and last & 0x0F) or (rem == 3 and last & 0x03):
            raise MailboxNameError(
                "Bad modified UTF-7 in mailbox name: non-zero padding bits (non-canonical)"
            )
        try:
            data = base64.b64decode(b64.replace(",", "/") + "=" * (-len(b64) % 4), validate=True)
        except binascii.Error:  # pragma: no cover - alphabet checked above
            raise MailboxNameError("Bad modified UTF-7 in mailbox name: bad BASE64") from None
        if len(data) % 2:
            raise MailboxNameError(
                "Bad modified UTF-7 in mailbox name: BASE64 run is not whole UTF-16 units"
            )
        try:
            text = data.decode("utf-16-be")
        except UnicodeDecodeError:
            raise MailboxNameError(
                "Bad modified UTF-7 in mailbox name: unpaired UTF-16 surrogate"
            ) from None
        for c in text:
            if " " <= c <= "~" and c not in escape:
                raise MailboxNameError(
                    "Bad modified UTF-7 in mailbox name: printable ASCII must not be "
                    "BASE64-encoded (non-canonical)"
                )
        out.append(text)
        i = end + 1
        if i < n and encoded[i] == "&" and encoded[i + 1:i + 2] != "-":
            raise MailboxNameError(
                "Bad modified UTF-7 in mailbox name: superfluous shift between BASE64 runs"
            )
    decoded = "".join(out)
    # Backstop: exactly one spelling of every name is accepted.
    if _encode(decoded, escape) != encoded:
        raise MailboxNameError("Bad modified UTF-7 in mailbox name: non-canonical encoding")
    return decoded


def encode_mutf7(text: str) -> str:
    """Encode a Unicode string in modified UTF-7 (RFC 3501 5.1.3).

    Printable ASCII except "&" stands for itself, "&" becomes "&-", every
    other character goes into "&...-" runs of modified BASE64 over UTF-16.
    Raises MailboxNameError for unpaired surrogates.  Does not look at
    separators or other naming rules (see validate()).
    """
    if not isinstance(text, str):
        raise MailboxNameError("Mailbox name must be a string")
    return _encode(text)


def decode_mutf7(encoded: str) -> str:
    """Decode modified UTF-7, strictly: exactly the output of encode_mutf7().

    MailboxNameError for: 8-bit or control characters in the input, "&"
    without a closing "-", characters outside the modified BASE64 alphabet
    (incl. "/" and "="), truncated runs, non-zero padding bits, a run that is
    not whole UTF-16 units, unpaired surrogates, printable ASCII (incl. "&")
    written in BASE64, and two adjacent runs ("&...-&...-").  Encoded
    control characters (e.g. "&AAA-") are valid mUTF-7 and are decoded;
    validate() rejects them.  Bytes input is accepted if it is ASCII.
    """
    return _decode(encoded)


# --------------------------------------------------------------------------
# internal names
# --------------------------------------------------------------------------

_BAD_CHAR_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff%*]")


def _bad_char_message(ch: str) -> str:
    if ch in "%*":
        return f"Mailbox name must not contain the wildcard {ch!r}"
    if "\ud800" <= ch <= "\udfff":
        return "Mailbox name contains an unpaired surrogate"
    if ch in "\u2028\u2029":
        return "Mailbox name must not contain a line or paragraph separator"
    return f"Mailbox name contains a control character (U+{ord(ch):04X})"


def _is_inbox(component: str) -> bool:
    return len(component) == 5 and component.isascii() and component.upper() == INBOX


def _disk_component(component: str) -> str:
    return _encode(component, _DISK_SEP)


def validate(name: str) -> str:
    """Check an internal name and return its normalised form.

    Raises MailboxNameError (see the module docstring for every rule).
    The only normalisation is an ASCII-case-insensitive first component
    "INBOX" becoming "INBOX".  Idempotent: validate(validate(x)) == validate(x).
    """
    if not isinstance(name, str):
        raise MailboxNameError("Mailbox name must be a string")
    return _validate(name)


@functools.lru_cache(maxsize=4096)
def _validate(name: str) -> str:
    # Cached: LIST converts every mailbox name on every call.  Only
    # successful results are cached (lru_cache does not cache exceptions).
    if not name:
        raise MailboxNameError("Mailbox name is empty")
    bad = _BAD_CHAR_RE.search(name)
    if bad:
        raise MailboxNameError(_bad_char_message(bad.group()))
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise MailboxNameError(
            f"Mailbox name is too long (more than {MAX_NAME_BYTES} bytes)", "LIMIT"
        )
    components = name.split(_SEP)
    if len(components) > MAX_DEPTH:
        raise MailboxNameError(
            f"Mailbox name is too deep (more than {MAX_DEPTH} levels)", "LIMIT"
        )
    for component in components:
        if not component:
            raise MailboxNameError(
                "Mailbox name has an empty level (leading, trailing or doubled separator)"
            )
        if component in (".", ".."):
            raise MailboxNameError(f"Mailbox name must not have a level named {component!r}")
    if _is_inbox(components[0]):
        components[0] = INBOX
    if len(components) > 1 or components[0] != INBOX:
        total = len(components)  # the leading dot and the separators
        for component in components:
            size = len(_disk_component(component))
            if size > MAX_COMPONENT_BYTES:
                raise MailboxNameError(
                    "Mailbox name has a level that is too long "
                    f"(more than {MAX_COMPONENT_BYTES} bytes when stored)",
                    "LIMIT",
                )
            total += size
        if total > MAX_MAILDIR_BYTES:
            raise MailboxNameError(
                f"Mailbox name is too long (more than {MAX_MAILDIR_BYTES} bytes when stored)",
                "LIMIT",
            )
    return _SEP.join(components)


def parent(name: str) -> str | None:
    """Parent of a validated internal name: "A/B" -> "A"; "A", "INBOX" -> None.

    A pure string operation (no re-validation); "INBOX/Sub" -> "INBOX".
    """
    head, sep, _ = name.rpartition(_SEP)
    return head if sep else None


def children_prefix(name: str) -> str:
    """Prefix that every descendant of a validated internal name starts with.

    "A" -> "A/".  In SQL prefer a range (name >= 'A/' AND name < 'A0', since
    "0" follows "/" in code point order) or substr() over LIKE: "_" may occur
    in names.
    """
    return name + _SEP


def to_maildir(name: str) -> str:
    """Internal name -> Maildir++ folder directory name ("" for INBOX).

    Validates first (MailboxNameError).  "Archive/2024" -> ".Archive.2024",
    "INBOX/Sub" -> ".INBOX.Sub", "a.b" -> ".a&AC4-b", "Café" -> ".Caf&AOk-".
    """
    name = validate(name)
    if name == INBOX:
        return ""
    return _DISK_SEP + _DISK_SEP.join(_disk_component(c) for c in name.split(_SEP))


def from_maildir(dirname: str) -> str | None:
    """Maildir++ folder directory name -> internal name, or None.

    None for anything that is not the canonical on-disk form of a valid
    mailbox name (see the module docstring).  "" is INBOX's directory but
    is not a folder name: from_maildir("") is None; the caller knows the
    root is INBOX.
    """
    if isinstance(dirname, (bytes, bytearray)):
        try:
            dirname = bytes(dirname).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(dirname, str) or len(dirname) < 2 or dirname[0] != _DISK_SEP:
        return None
    if len(dirname) > MAX_MAILDIR_BYTES:
        return None
    try:
        components = [_decode(c, _DISK_SEP) for c in dirname[1:].split(_DISK_SEP)]
        for c in components:
            if _SEP in c:
                return None
        name = validate(_SEP.join(components))
        if to_maildir(name) != dirname:
            return None
    except MailboxNameError:
        return None
    return name


# --------------------------------------------------------------------------
# namespaces: internal <-> external
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Namespace:
    """The user's personal namespace as the IMAP client sees it.

    separator "/" (unixhierarchysep: yes) or "." (no).

    altnamespace=True (Cyrus 3 default; personal prefix ""):
        internal "INBOX"     <-> external "INBOX"
        internal "X/Y"       <-> external "X<sep>Y"
        internal "INBOX/X"   <-> external "INBOX<sep>X" (a real child of INBOX)

    altnamespace=False (personal prefix "INBOX<sep>"):
        internal "INBOX"     <-> external "INBOX"
        internal "X/Y"       <-> external "INBOX<sep>X<sep>Y"
        internal "INBOX/X"   <-> external "INBOX<sep>INBOX<sep>X" (what Courier
                                 shows for the same ".INBOX.X" directory)
        external "INBOX<sep>INBOX" is refused (it would alias INBOX itself);
        external names outside "INBOX<sep>" are refused: there is no shared
        namespace to put them in.

    The leading "INBOX" of an external name is matched in any ASCII case.

    The other separator inside a level:
        separator "/": "." is an ordinary character ("a.b" is one level,
            stored on disk as ".a&AC4-b").
        separator ".": "/" cannot be part of a name (it is the internal
            separator); to_internal refuses it.  A level containing "."
            (created while the separator was "/") is shown in modified UTF-7
            as "a&AC4-b" -- the on-disk escape -- and that spelling is accepted
            back, so such mailboxes stay reachable after switching
            unixhierarchysep.  In UTF-8 mode (IMAP4rev2 / UTF8=ACCEPT) there is
            no escape: to_external raises MailboxNameError for such a name and
            imapd should leave it out of LIST.

    utf8=True: the external name is plain Unicode (IMAP4rev2, or after
    ENABLE UTF8=ACCEPT; RFC 9051, RFC 6855 section 3): no mUTF-7 on either
    side, "&" is an ordinary character.  utf8=False: external names are
    ASCII mUTF-7; 8-bit input is refused.

    CREATE "foo/" (trailing separator, RFC 3501 6.3.3): strip ONE trailing
    separator before calling to_internal; to_internal itself refuses empty
    levels.
    """

    separator: str = "/"
    altnamespace: bool = True

    def __post_init__(self) -> None:
        if self.separator not in ("/", "."):
            raise ValueError(f"hierarchy separator must be '/' or '.', not {self.separator!r}")

    @classmethod
    def from_config(cls, config) -> Namespace:
        """From imapd.conf: unixhierarchysep and altnamespace (both bools)."""
        return cls(
            separator="/" if config.getbool("unixhierarchysep") else ".",
            altnamespace=bool(config.getbool("altnamespace")),
        )

    def personal_prefix(self) -> str:
        """The personal namespace prefix for NAMESPACE (RFC 2342)."""
        return "" if self.altnamespace else INBOX + self.separator

    def _escape(self, utf8: bool) -> str:
        return "." if self.separator == "." and not utf8 else ""

    def to_internal(self, external: str, *, utf8: bool = False) -> str:
        """External name -> validated internal name, or MailboxNameError."""
        if isinstance(external, (bytes, bytearray)):
            try:
                external = bytes(external).decode("utf-8" if utf8 else "ascii")
            except UnicodeDecodeError:
                raise MailboxNameError(
                    "Mailbox name is not valid UTF-8" if utf8 else
                    "Mailbox name contains 8-bit characters; use modified UTF-7 (RFC 3501 5.1.3)"
                ) from None
        if not isinstance(external, str):
            raise MailboxNameError("Mailbox name must be a string")
        if not external:
            raise MailboxNameError("Mailbox name is empty")
        if len(external) > MAX_NAME_BYTES:
            raise MailboxNameError(
                f"Mailbox name is too long (more than {MAX_NAME_BYTES} bytes)", "LIMIT"
            )
        sep = self.separator
        parts = external.split(sep)
        if not self.altnamespace:
            if not _is_inbox(parts[0]):
                raise MailboxNameError(
                    f'Personal mailbox names start with "INBOX{sep}" (altnamespace is off)'
                )
            if len(parts) == 1:
                return INBOX
            parts = parts[1:]
            if len(parts) == 1 and _is_inbox(parts[0]):
                raise MailboxNameError(
                    f'Mailbox name "INBOX{sep}INBOX" is reserved; INBOX is "INBOX"'
                )
        if len(parts) > MAX_DEPTH:
            raise MailboxNameError(
                f"Mailbox name is too deep (more than {MAX_DEPTH} levels)", "LIMIT"
            )
        if "" in parts:
            raise MailboxNameError(
                "Mailbox name has an empty level (leading, trailing or doubled separator)"
            )
        if utf8:
            components = parts
        else:
            escape = self._escape(utf8)
            components = [_decode(p, escape) for p in parts]
        for component in components:
            if _SEP in component:
                raise MailboxNameError(
                    f'Mailbox name must not contain "/" (the hierarchy separator is "{sep}")'
                )
        return validate(_SEP.join(components))

    def to_external(self, internal: str, *, utf8: bool = False) -> str:
        """Internal name -> external name (mUTF-7 unless utf8)."""
        name = validate(internal)
        sep = self.separator
        if name == INBOX:
            return INBOX
        out: list[str] = []
        for component in name.split(_SEP):
            if sep in component:  # only "." when the separator is "."
                if utf8:
                    raise MailboxNameError(
                        f'Mailbox name {name!r} contains "{sep}", the hierarchy separator'
                    )
                out.append(_encode(component, sep))
            else:
                out.append(component if utf8 else _encode(component))
        external = sep.join(out)
        if not self.altnamespace:
            external = INBOX + sep + external
        return external


# --------------------------------------------------------------------------
# LIST wildcards
# --------------------------------------------------------------------------

# Patterns with more wildcard runs than this are matched by an NFA
# simulation (O(len(name) * len(pattern))) instead of a backtracking regex,
# whose worst case grows like len(name) ** runs.
_REGEX_MAX_WILDCARD_RUNS = 2


def _tokens(pattern: str) -> list[str]:
    """Literal characters and wildcards; a run of wildcards becomes one
    token ("*" if it holds any "*", else "%"), as Dovecot compresses them."""
    out: list[str] = []
    for ch in pattern:
        if ch in "*%":
            if out and out[-1] in ("\0*", "\0%"):
                if ch == "*":
                    out[-1] = "\0*"
                continue
            out.append("\0" + ch)
        else:
            out.append(ch)
    return out


class _Matcher:
    __slots__ = ("_regex", "_tokens", "_sep")

    def __init__(self, pattern: str, separator: str) -> None:
        tokens = _tokens(pattern)
        self._sep = separator
        wildcards = sum(1 for t in tokens if t[0] == "\0" and len(t) == 2)
        if wildcards <= _REGEX_MAX_WILDCARD_RUNS:
            parts = []
            for t in tokens:
                if t == "\0*":
                    parts.append(".*")
                elif t == "\0%":
                    parts.append("[^" + re.escape(separator) + "]*")
                else:
                    parts.append(re.escape(t))
            self._regex = re.compile("".join(parts), re.DOTALL)
            self._tokens = None
        else:
            self._regex = None
            self._tokens = tokens

    def __call__(self, name: str) -> bool:
        if self._regex is not None:
            return self._regex.fullmatch(name) is not None
        return self._nfa(name)

    def _closure(self, states: set[int]) -> set[int]:
        tokens = self._tokens
        stack = list(states)
        while stack:
            s = stack.pop()
            if s < len(tokens) and tokens[s] in ("\0*", "\0%") and s + 1 not in states:
                states.add(s + 1)
                stack.append(s + 1)
        return states

    def _nfa(self, name: str) -> bool:
        tokens, sep = self._tokens, self._sep
        end = len(tokens)
        states = self._closure({0})
        for ch in name:
            nxt: set[int] = set()
            for s in states:
                if s == end:
                    continue
                t = tokens[s]
                if t == "\0*" or (t == "\0%" and ch != sep):
                    nxt.add(s)
                elif t == ch:
                    nxt.add(s + 1)
            if not nxt:
                return False
            states = self._closure(nxt)
        return end in states


class _PatternMatcher:
    """A compiled LIST pattern: call it with an external name."""

    __slots__ = ("_plain", "_inbox", "_sep")

    def __init__(self, pattern: str, separator: str) -> None:
        self._sep = separator
        self._plain = _Matcher(pattern, separator)
        # INBOX is case-insensitive: for names whose first level is INBOX,
        # the pattern's leading literal characters (up to five) that spell a
        # prefix of "INBOX" in some case are compared case-insensitively, as
        # Dovecot's and Cyrus's "inboxcase" matching does ("inbox",
        # "Inbox/%", "inb*" all match INBOX; "inbox*" does not match a
        # folder "INBOXOld").
        lead = 0
        while lead < len(pattern) and lead < 5 and pattern[lead] not in "*%":
            lead += 1
        head = pattern[:lead]
        if head and head.isascii() and head.upper() == INBOX[:lead]:
            self._inbox = _Matcher(INBOX[:lead] + pattern[lead:], separator)
        else:
            self._inbox = None

    def __call__(self, name: str) -> bool:
        if self._plain(name):
            return True
        if self._inbox is None:
            return False
        if not (name[:5].isascii() and name[:5].upper() == INBOX):
            return False
        if len(name) > 5 and name[5] != self._sep:
            return False
        return self._inbox(INBOX + name[5:])


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str, separator: str):
    """Compile a LIST pattern once; returns a callable name -> bool."""
    return _PatternMatcher(pattern, separator)


def list_matches(pattern: str, name: str, separator: str) -> bool:
    """IMAP LIST wildcard match (RFC 3501 6.3.8) on EXTERNAL names.

    "*" matches anything, "%" anything but `separator`; everything else is
    literal and case-sensitive, except that a leading "INBOX" level is
    matched in any ASCII case.  The pattern is compiled once (lru_cache); in
    a loop over many names, compile_pattern(pattern, separator) avoids even
    the cache lookup.  The caller joins LIST's reference and pattern first.
    """
    return compile_pattern(pattern, separator)(name)
