"""Table-driven tests for pillarbox.mailboxname (internal / external / on-disk names)."""

import functools
import random
import time

import pytest

from pillarbox.config import Config
from pillarbox.mailboxname import (
    INBOX,
    MAX_COMPONENT_BYTES,
    MAX_DEPTH,
    MAX_MAILDIR_BYTES,
    MAX_NAME_BYTES,
    MailboxNameError,
    Namespace,
    children_prefix,
    compile_pattern,
    decode_mutf7,
    encode_mutf7,
    from_maildir,
    list_matches,
    parent,
    to_maildir,
    validate,
)

NS_SLASH_ALT = Namespace("/", True)      # Cyrus 3 defaults
NS_DOT_ALT = Namespace(".", True)
NS_SLASH_STD = Namespace("/", False)
NS_DOT_STD = Namespace(".", False)
ALL_NS = [NS_SLASH_ALT, NS_DOT_ALT, NS_SLASH_STD, NS_DOT_STD]


def test_constants():
    assert INBOX == "INBOX"
    assert (MAX_NAME_BYTES, MAX_DEPTH, MAX_COMPONENT_BYTES, MAX_MAILDIR_BYTES) == (1024, 32, 200, 255)
    assert issubclass(MailboxNameError, ValueError)


# -- modified UTF-7 --------------------------------------------------------

MUTF7_VECTORS = [
    # RFC 3501 5.1.3 examples
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("台北日本語", "&U,BTF2XlZyyKng-"),
    ("☺!", "&Jjo-!"),
    # "&" is "&-"
    ("&", "&-"),
    ("&&", "&-&-"),
    ("A&B", "A&-B"),
    ("&-", "&--"),
    ("", ""),
    ("plain ASCII +,/\\~-", "plain ASCII +,/\\~-"),
    ("Café", "Caf&AOk-"),
    ("Répertoire", "R&AOk-pertoire"),
    ("Ünïcode", "&ANw-n&AO8-code"),
    ("é&", "&AOk-&-"),
    ("&é", "&-&AOk-"),
    ("éé", "&AOkA6Q-"),
    ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
    ("😀", "&2D3eAA-"),          # astral plane: a UTF-16 surrogate pair
    ("a😀b", "a&2D3eAA-b"),
    ("\x00", "&AAA-"),            # valid mUTF-7; validate() refuses it
    ("a\r\nb", "a&AA0ACg-b"),
    ("\x7f", "&AH8-"),
]


@pytest.mark.parametrize("text,encoded", MUTF7_VECTORS)
def test_mutf7_vectors(text, encoded):
    assert encode_mutf7(text) == encoded
    assert decode_mutf7(encoded) == text


def test_decode_accepts_ascii_bytes():
    assert decode_mutf7(b"Caf&AOk-") == "Café"


MUTF7_MALFORMED = [
    ("&Jjo!", "without closing"),                 # RFC 3501: no shift back before "!"
    ("&U,BTFw-&ZeVnLIqe-", "superfluous shift"),  # RFC 3501: adjacent runs
    ("&AOk", "without closing"),
    ("abc&", "without closing"),
    ("&AGE-", "printable ASCII"),                 # "a" in BASE64
    ("&ACY-", "printable ASCII"),                 # "&" in BASE64 instead of "&-"
    ("&AC4-", "printable ASCII"),                 # "." in BASE64 (only on disk)
    ("&AC8-", "printable ASCII"),                 # "/" in BASE64
    ("&ACA-", "printable ASCII"),                 # " " in BASE64
    ("&AOkAYQ-", "printable ASCII"),              # "éa" with the "a" encoded
    ("&AOl-", "padding bits"),                    # non-zero trailing bits
    ("&AOk=-", "'=' in a BASE64 run"),
    ("&AO/p-", "'/' in a BASE64 run"),            # standard, not modified, BASE64
    ("&AO p-", "' ' in a BASE64 run"),
    ("&&-", "'&' in a BASE64 run"),
    ("&A-", "truncated"),                         # 6 bits: not even one byte
    ("&AOkAA-", "truncated"),
    ("&AO-", "padding bits"),                     # 12 bits, the last 4 not zero
    ("&AA-", "whole UTF-16"),                     # one byte only
    ("&AOkA-", "whole UTF-16"),                   # three bytes
    ("&2D0-", "surrogate"),                       # lone high surrogate
    ("&3gA-", "surrogate"),                       # lone low surrogate
    ("&3gDYPQ-", "surrogate"),                    # low before high
    ("&2D3YPQ-", "surrogate"),                    # two high surrogates
    ("Caf\xe9", "8-bit"),
    ("日本", "8-bit"),
    ("a\x00b", "control"),
    ("a\r\nb", "control"),
    ("a\x7fb", "8-bit"),
]


@pytest.mark.parametrize("encoded,fragment", MUTF7_MALFORMED)
def test_mutf7_malformed(encoded, fragment):
    with pytest.raises(MailboxNameError) as info:
        decode_mutf7(encoded)
    assert fragment in str(info.value)
    assert info.value.code == "CANNOT"


def test_decode_rejects_8bit_bytes():
    with pytest.raises(MailboxNameError, match="8-bit"):
        decode_mutf7("Café".encode("utf-8"))


@pytest.mark.parametrize("text", ["\ud800", "a\udc00b", "\udcff"])
def test_encode_rejects_unpaired_surrogates(text):
    with pytest.raises(MailboxNameError, match="surrogate"):
        encode_mutf7(text)


def test_mutf7_random_round_trip_and_canonical():
    rng = random.Random(3501)
    pool = "ab&-+,/.~ \x00\x1féÜ台北😀\u2028"
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 12)))
        encoded = encode_mutf7(text)
        assert encoded.isascii()
        assert all(" " <= c <= "~" for c in encoded)
        assert decode_mutf7(encoded) == text
    # Arbitrary ASCII either fails to decode or is the one canonical spelling.
    ascii_pool = "&-AOkaBC,+/=z09"
    for _ in range(5000):
        junk = "".join(rng.choice(ascii_pool) for _ in range(rng.randrange(0, 14)))
        try:
            decoded = decode_mutf7(junk)
        except MailboxNameError:
            continue
        assert encode_mutf7(decoded) == junk


# -- validate --------------------------------------------------------------

VALID = [
    ("INBOX", "INBOX"),
    ("inbox", "INBOX"),
    ("InBox", "INBOX"),
    ("inbox/Sub", "INBOX/Sub"),
    ("INBOX/inbox", "INBOX/inbox"),      # only the first level is INBOX
    ("Inboxes", "Inboxes"),
    ("INBOX.x", "INBOX.x"),              # one level whose name contains a dot
    ("ınbox", "ınbox"),                  # dotless i: not ASCII, not INBOX
    ("Archive", "Archive"),
    ("Archive/2024", "Archive/2024"),
    ("Café/Ünïcode", "Café/Ünïcode"),
    ("~peter/mail/台北/日本語", "~peter/mail/台北/日本語"),
    ("a.b", "a.b"),
    ("..a", "..a"),
    ("...", "..."),
    (".hidden", ".hidden"),
    ("A&B", "A&B"),
    ("Sent Items", "Sent Items"),
    (" lead", " lead"),
    ("#news", "#news"),
    ("back\\slash", "back\\slash"),
    ("😀", "😀"),
    ("a" * MAX_COMPONENT_BYTES, "a" * MAX_COMPONENT_BYTES),
    ("日" * 74, "日" * 74),                                    # 200 bytes on disk
    ("a" * 100 + "/" + "b" * 100 + "/" + "c" * 52,             # exactly 255 on disk
     "a" * 100 + "/" + "b" * 100 + "/" + "c" * 52),
    ("/".join(["d"] * MAX_DEPTH), "/".join(["d"] * MAX_DEPTH)),
]


@pytest.mark.parametrize("name,normalised", VALID)
def test_validate_accepts(name, normalised):
    assert validate(name) == normalised
    assert validate(normalised) == normalised


INVALID = [
    ("", "empty", "CANNOT"),
    ("/", "empty level", "CANNOT"),
    ("/a", "empty level", "CANNOT"),
    ("a/", "empty level", "CANNOT"),
    ("a//b", "empty level", "CANNOT"),
    ("/etc/passwd", "empty level", "CANNOT"),
    (".", "level named '.'", "CANNOT"),
    ("..", "level named '..'", "CANNOT"),
    ("a/../b", "level named '..'", "CANNOT"),
    ("../etc/passwd", "level named '..'", "CANNOT"),
    ("a/./b", "level named '.'", "CANNOT"),
    ("INBOX/..", "level named '..'", "CANNOT"),
    ("a\x00b", "control character (U+0000)", "CANNOT"),
    ("a\r\nb", "control character (U+000D)", "CANNOT"),
    ("tab\there", "control character (U+0009)", "CANNOT"),
    ("a\x7fb", "control character (U+007F)", "CANNOT"),
    ("a\x85b", "control character (U+0085)", "CANNOT"),
    ("a\x9fb", "control character (U+009F)", "CANNOT"),
    ("a\u2028b", "line or paragraph separator", "CANNOT"),
    ("a\u2029b", "line or paragraph separator", "CANNOT"),
    ("a\ud800b", "unpaired surrogate", "CANNOT"),
    ("bad\udcffname", "unpaired surrogate", "CANNOT"),
    ("a%", "wildcard '%'", "CANNOT"),
    ("*", "wildcard '*'", "CANNOT"),
    ("a/*/b", "wildcard '*'", "CANNOT"),
    ("x" * 2000, "more than 1024 bytes", "LIMIT"),
    ("a" * (MAX_COMPONENT_BYTES + 1), "level that is too long", "LIMIT"),
    ("日" * 75, "level that is too long", "LIMIT"),
    ("a" * 100 + "/" + "b" * 100 + "/" + "c" * 53, "more than 255 bytes when stored", "LIMIT"),
    ("/".join(["d"] * (MAX_DEPTH + 1)), "too deep", "LIMIT"),
    ("/".join(["d"] * 400), "too deep", "LIMIT"),
]


@pytest.mark.parametrize("name,fragment,code", INVALID)
def test_validate_rejects(name, fragment, code):
    with pytest.raises(MailboxNameError) as info:
        validate(name)
    assert fragment in str(info.value)
    assert info.value.code == code


@pytest.mark.parametrize("value", [None, b"INBOX", 42])
def test_validate_rejects_non_strings(value):
    with pytest.raises(MailboxNameError, match="must be a string"):
        validate(value)


PARENTS = [
    ("INBOX", None, "INBOX/"),
    ("Archive", None, "Archive/"),
    ("Archive/2024", "Archive", "Archive/2024/"),
    ("a/b/c", "a/b", "a/b/c/"),
    ("INBOX/Sub", "INBOX", "INBOX/Sub/"),
    ("a.b", None, "a.b/"),
]


@pytest.mark.parametrize("name,expected_parent,prefix", PARENTS)
def test_parent_and_children_prefix(name, expected_parent, prefix):
    assert parent(name) == expected_parent
    assert children_prefix(name) == prefix


# -- Maildir++ -------------------------------------------------------------

MAILDIR = [
    ("INBOX", ""),
    ("Archive", ".Archive"),
    ("Archive/2024", ".Archive.2024"),
    ("Sent Items", ".Sent Items"),
    ("Café/Ünïcode", ".Caf&AOk-.&ANw-n&AO8-code"),
    ("Отправленные", ".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
    ("~peter/mail/台北/日本語", ".~peter.mail.&U,BTFw-.&ZeVnLIqe-"),
    ("a.b", ".a&AC4-b"),
    ("a.b/c", ".a&AC4-b.c"),
    ("é.ü", ".&AOkALgD8-"),                 # "." joins the surrounding BASE64 run
    (".hidden", ".&AC4-hidden"),
    ("...", ".&AC4ALgAu-"),
    ("trailing.", ".trailing&AC4-"),
    ("A&B", ".A&-B"),
    ("&AC4-", ".&-AC4-"),                   # a literal name that looks encoded
    ("INBOX/Sub", ".INBOX.Sub"),            # child of INBOX (Dovecot Maildir++ layout)
    ("INBOX/Sub/Deeper", ".INBOX.Sub.Deeper"),
    ("INBOX.x", ".INBOX&AC4-x"),            # top-level folder literally "INBOX.x"
    ("Inboxes", ".Inboxes"),
    ("😀", ".&2D3eAA-"),
    ("tmp", ".tmp"),
    ("new/cur", ".new.cur"),
]


@pytest.mark.parametrize("name,dirname", MAILDIR)
def test_maildir_round_trip(name, dirname):
    assert to_maildir(name) == dirname
    if name == INBOX:
        assert from_maildir(dirname) is None   # the root, not a folder
    else:
        assert from_maildir(dirname) == name


@pytest.mark.parametrize("name,dirname", [("inbox", ""), ("inbox/Sub", ".INBOX.Sub")])
def test_to_maildir_normalises(name, dirname):
    assert to_maildir(name) == dirname


@pytest.mark.parametrize("name", ["", "a//b", "..", "a%", "x\x00", "a" * 201])
def test_to_maildir_validates(name):
    with pytest.raises(MailboxNameError):
        to_maildir(name)


# Directory entries written by Courier, Dovecot, and others.
FOREIGN = [
    (".Drafts", "Drafts"),
    (".Sent", "Sent"),
    (".Trash", "Trash"),
    (".Junk E-mail", "Junk E-mail"),
    (".Archive.2023.Q1", "Archive/2023/Q1"),
    (".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-", "Отправленные"),
    (".Entw&APw-rfe", "Entwürfe"),
    (".Gel&APY-schte Elemente", "Gelöschte Elemente"),
    (".INBOX.Sub", "INBOX/Sub"),
]


@pytest.mark.parametrize("dirname,name", FOREIGN)
def test_from_maildir_foreign(dirname, name):
    assert from_maildir(dirname) == name
    assert to_maildir(name) == dirname


NOT_FOLDERS = [
    "",
    ".",
    "..",
    "tmp",
    "new",
    "cur",
    "Archive",                 # no leading dot
    "maildirfolder",
    "dovecot-uidlist",
    "courierimapkeywords",
    "..x",                     # empty first level
    "..DOVECOT-TRASH",
    ".x.",                     # empty last level
    ".x..y",                   # empty middle level
    ".INBOX",                  # INBOX is the root, never a folder
    ".inbox",
    ".Inbox",
    ".inbox.Sub",              # canonical spelling is ".INBOX.Sub"
    ".Caf\xe9",                # raw 8-bit / UTF-8 (Dovecot's UTF8 option)
    ".Café",
    ".Caf\udce9",              # os.listdir() surrogateescape
    ".&AOk",                   # unterminated
    ".a&AGE-",                 # ASCII in BASE64
    ".&AOk-&AOk-",             # superfluous shift
    ".&AC4-",                  # decodes to "."
    ".&AC4ALg-",               # decodes to ".."
    ".a.&AC4ALg-.b",
    ".a%b",
    ".*",
    ".a/b",
    ".a&AC8-b",                # "/" in BASE64
    ".&AAA-",                  # encoded NUL
    ".a&AA0ACg-b",             # encoded CR LF
    ".\t",
    "." + "a" * 201,
    "." + ".".join(["d"] * 33),
    "." + "a" * 300,
]


@pytest.mark.parametrize("dirname", NOT_FOLDERS)
def test_from_maildir_rejects(dirname):
    assert from_maildir(dirname) is None


def test_from_maildir_bytes():
    assert from_maildir(b".Caf&AOk-") == "Café"
    assert from_maildir(".Caf\xe9".encode("latin-1")) is None
    assert from_maildir(None) is None


# -- namespaces ------------------------------------------------------------

# internal, then external for: "/" alt, "." alt, "/" std, "." std
NS_TABLE = [
    ("INBOX", "INBOX", "INBOX", "INBOX", "INBOX"),
    ("Archive", "Archive", "Archive", "INBOX/Archive", "INBOX.Archive"),
    ("Archive/2024", "Archive/2024", "Archive.2024", "INBOX/Archive/2024", "INBOX.Archive.2024"),
    ("Café/Ünïcode", "Caf&AOk-/&ANw-n&AO8-code", "Caf&AOk-.&ANw-n&AO8-code",
     "INBOX/Caf&AOk-/&ANw-n&AO8-code", "INBOX.Caf&AOk-.&ANw-n&AO8-code"),
    ("INBOX/Sub", "INBOX/Sub", "INBOX.Sub", "INBOX/INBOX/Sub", "INBOX.INBOX.Sub"),
    ("a.b", "a.b", "a&AC4-b", "INBOX/a.b", "INBOX.a&AC4-b"),
    ("é.ü", "&AOk-.&APw-", "&AOkALgD8-", "INBOX/&AOk-.&APw-", "INBOX.&AOkALgD8-"),
    ("A&B", "A&-B", "A&-B", "INBOX/A&-B", "INBOX.A&-B"),
    ("INBOX.x", "INBOX.x", "INBOX&AC4-x", "INBOX/INBOX.x", "INBOX.INBOX&AC4-x"),
    ("Inboxes", "Inboxes", "Inboxes", "INBOX/Inboxes", "INBOX.Inboxes"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter.mail.&U,BTFw-.&ZeVnLIqe-",
     "INBOX/~peter/mail/&U,BTFw-/&ZeVnLIqe-", "INBOX.~peter.mail.&U,BTFw-.&ZeVnLIqe-"),
]


@pytest.mark.parametrize("row", NS_TABLE, ids=[r[0] for r in NS_TABLE])
@pytest.mark.parametrize("index,ns", list(enumerate(ALL_NS)))
def test_namespace_mapping(row, index, ns):
    internal, external = row[0], row[1 + index]
    assert ns.to_external(internal) == external
    assert ns.to_internal(external) == internal


@pytest.mark.parametrize("ns,prefix", [
    (NS_SLASH_ALT, ""), (NS_DOT_ALT, ""), (NS_SLASH_STD, "INBOX/"), (NS_DOT_STD, "INBOX."),
])
def test_personal_prefix(ns, prefix):
    assert ns.personal_prefix() == prefix


@pytest.mark.parametrize("ns,external,internal", [
    (NS_SLASH_ALT, "inbox", "INBOX"),
    (NS_SLASH_ALT, "InBoX", "INBOX"),
    (NS_SLASH_ALT, "inbox/Sub", "INBOX/Sub"),
    (NS_SLASH_ALT, "Inbox/inbox", "INBOX/inbox"),
    (NS_DOT_ALT, "inbox.Sub", "INBOX/Sub"),
    (NS_SLASH_STD, "inbox", "INBOX"),
    (NS_SLASH_STD, "inbox/Archive", "Archive"),
    (NS_SLASH_STD, "Inbox/inbox/x", "INBOX/x"),
    (NS_DOT_STD, "inbox", "INBOX"),
    (NS_DOT_STD, "iNbOx.Archive", "Archive"),
    (NS_DOT_STD, "INBOX.inbox.Sub", "INBOX/Sub"),
    (NS_DOT_STD, "INBOX.Inboxes", "Inboxes"),
    (NS_SLASH_ALT, "&ATE-nbox", "ınbox"),   # dotless i is not INBOX
])
def test_to_internal_inbox_case(ns, external, internal):
    assert ns.to_internal(external) == internal


@pytest.mark.parametrize("ns,external,fragment", [
    (NS_SLASH_ALT, "", "empty"),
    (NS_SLASH_ALT, "a//b", "empty level"),
    (NS_SLASH_ALT, "/a", "empty level"),
    (NS_SLASH_ALT, "a/", "empty level"),
    (NS_DOT_ALT, "a..b", "empty level"),
    (NS_DOT_STD, "INBOX.", "empty level"),
    (NS_SLASH_STD, "INBOX//x", "empty level"),
    (NS_SLASH_ALT, "a/../b", "'..'"),
    (NS_DOT_ALT, "a/b", 'must not contain "/"'),          # "/" is no separator here
    (NS_DOT_STD, "INBOX.a/b", 'must not contain "/"'),
    (NS_SLASH_ALT, "a&AC4-b", "printable ASCII"),         # "." is written plainly with "/"
    (NS_SLASH_ALT, "a&AC8-b", "printable ASCII"),
    (NS_DOT_ALT, "a&AC8-b", "printable ASCII"),           # no escape for "/"
    (NS_SLASH_ALT, "Caf\xe9", "8-bit"),
    (NS_SLASH_ALT, "Café", "8-bit"),
    (NS_SLASH_ALT, "&Jjo!", "without closing"),
    (NS_SLASH_ALT, "&AAA-", "control character"),
    (NS_SLASH_ALT, "a\r\nb", "control"),
    (NS_SLASH_ALT, "%", "wildcard"),
    (NS_SLASH_ALT, "a/*", "wildcard"),
    (NS_SLASH_STD, "Archive", 'start with "INBOX/"'),
    (NS_DOT_STD, "Archive", 'start with "INBOX."'),
    (NS_DOT_STD, "INBOXes.x", 'start with "INBOX."'),
    (NS_DOT_STD, "INBOX.INBOX", "reserved"),
    (NS_DOT_STD, "inbox.Inbox", "reserved"),
    (NS_SLASH_STD, "INBOX/INBOX", "reserved"),
    (NS_SLASH_ALT, "x" * 2000, "too long"),
    (NS_SLASH_ALT, "/".join(["d"] * 400), "too deep"),
])
def test_to_internal_rejects(ns, external, fragment):
    with pytest.raises(MailboxNameError) as info:
        ns.to_internal(external)
    assert fragment in str(info.value)


@pytest.mark.parametrize("ns,internal,external", [
    (NS_SLASH_ALT, "Café/Ünïcode", "Café/Ünïcode"),
    (NS_SLASH_ALT, "A&B", "A&B"),
    (NS_SLASH_ALT, "a.b", "a.b"),
    (NS_DOT_ALT, "Archive/2024", "Archive.2024"),
    (NS_SLASH_STD, "台北", "INBOX/台北"),
    (NS_DOT_STD, "INBOX/Sub", "INBOX.INBOX.Sub"),
    (NS_SLASH_ALT, "&AC4-", "&AC4-"),
])
def test_utf8_mode(ns, internal, external):
    assert ns.to_external(internal, utf8=True) == external
    assert ns.to_internal(external, utf8=True) == internal


def test_utf8_mode_cannot_show_dot_with_dot_separator():
    with pytest.raises(MailboxNameError, match="hierarchy separator"):
        NS_DOT_ALT.to_external("a.b", utf8=True)
    with pytest.raises(MailboxNameError, match='must not contain "/"'):
        NS_DOT_ALT.to_internal("a/b", utf8=True)
    with pytest.raises(MailboxNameError, match="control"):
        NS_SLASH_ALT.to_internal("a\x85b", utf8=True)
    assert NS_SLASH_ALT.to_internal("Café".encode(), utf8=True) == "Café"
    with pytest.raises(MailboxNameError, match="not valid UTF-8"):
        NS_SLASH_ALT.to_internal(b"Caf\xe9", utf8=True)


@pytest.mark.parametrize("name", ["", "a//b", "%", "x" * 300])
def test_to_external_validates(name):
    with pytest.raises(MailboxNameError):
        NS_SLASH_ALT.to_external(name)


@pytest.mark.parametrize("text,expected", [
    ("", Namespace("/", True)),
    ("unixhierarchysep: yes\naltnamespace: yes\n", Namespace("/", True)),
    ("unixhierarchysep: no\n", Namespace(".", True)),
    ("altnamespace: no\n", Namespace("/", False)),
    ("unixhierarchysep: no\naltnamespace: no\n", Namespace(".", False)),
])
def test_namespace_from_config(text, expected):
    assert Namespace.from_config(Config.from_text(text, "imapd.conf")) == expected


def test_namespace_rejects_other_separators():
    with pytest.raises(ValueError):
        Namespace("\\", True)


# -- LIST wildcards --------------------------------------------------------

LIST_TABLE = [
    ("*", "INBOX", "/", True),
    ("*", "Archive/2024/Jan", "/", True),
    ("%", "INBOX", "/", True),
    ("%", "Archive", "/", True),
    ("%", "Archive/2024", "/", False),
    ("Archive/%", "Archive/2024", "/", True),
    ("Archive/%", "Archive/2024/Jan", "/", False),
    ("Archive/%", "Archive", "/", False),
    ("Archive/*", "Archive/2024/Jan", "/", True),
    ("Archive/*", "Archive", "/", False),
    ("Archive*", "Archive", "/", True),
    ("Archive*", "Archive/2024", "/", True),
    ("Archive%", "Archive/2024", "/", False),
    ("Arch%", "Archive", "/", True),
    ("%/%", "a/b", "/", True),
    ("%/%", "a/b/c", "/", False),
    ("%/%/%", "a/b/c", "/", True),
    ("*/b", "a/x/b", "/", True),
    ("%/b", "a/x/b", "/", False),
    ("a%%b", "axyb", "/", True),
    ("a%*%b", "a/x/b", "/", True),
    ("archive", "Archive", "/", False),       # other names are case-sensitive
    ("Archive", "Archive", "/", True),
    ("", "INBOX", "/", False),
    ("Caf&AOk-", "Caf&AOk-", "/", True),
    ("Caf%", "Caf&AOk-", "/", True),
    ("a.b", "aXb", "/", False),              # regex metacharacters are literal
    ("a+b", "a+b", "/", True),
    ("a(b", "a(b", "/", True),
    ("[ab]", "a", "/", False),
    ("[ab]", "[ab]", "/", True),
    ("a\\b", "a\\b", "/", True),
    ("a$", "a$", "/", True),
    ("a\nb", "a\nb", "/", True),
    # INBOX is case-insensitive
    ("inbox", "INBOX", "/", True),
    ("InBox", "INBOX", "/", True),
    ("inbox/%", "INBOX/Sub", "/", True),
    ("Inbox/*", "INBOX/Sub/Deeper", "/", True),
    ("inbox/sub", "INBOX/Sub", "/", False),  # only the INBOX level
    ("inb*", "INBOX", "/", True),
    ("inb%", "INBOX/Sub", "/", False),
    ("inbox*", "INBOXOld", "/", False),      # not an INBOX level
    ("INBOX*", "INBOXOld", "/", True),
    ("inbox", "Inboxes", "/", False),
    ("INBOX", "inbox", "/", True),           # tolerant of non-canonical names too
    # "." separator
    ("INBOX.%", "INBOX.Sub", ".", True),
    ("INBOX.%", "INBOX.Sub.x", ".", False),
    ("inbox.*", "INBOX.a.b", ".", True),
    ("%", "INBOX.Sub", ".", False),
    ("%", "a/b", ".", True),
    ("%.%", "a&AC4-b.c", ".", True),
]


@pytest.mark.parametrize("pattern,name,sep,expected", LIST_TABLE)
def test_list_matches(pattern, name, sep, expected):
    assert list_matches(pattern, name, sep) is expected
    assert compile_pattern(pattern, sep)(name) is expected


@pytest.mark.parametrize("pattern,name,expected", [
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 250, False),
    ("%a%a%a%a%a%a%a%a%a%a%b", "a" * 250, False),
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 249 + "b", True),
    ("*a*a*a*a*a*a*a*a*a*a*", "a" * 10, True),
    ("*a*a*a*a*a*a*a*a*a*a*", "a" * 9, False),
    ("%/%/%/%/%/%", "a/b/c/d/e/f", True),
    ("%/%/%/%/%/%", "a/b/c/d/e/f/g", False),
])
def test_list_matches_many_wildcards_fast(pattern, name, expected):
    start = time.perf_counter()
    assert list_matches(pattern, name, "/") is expected
    assert time.perf_counter() - start < 1.0


def _reference_match(pattern, name, sep):
    """Straightforward recursive definition of RFC 3501 6.3.8 wildcards."""
    @functools.lru_cache(maxsize=None)
    def m(i, j):
        if i == len(pattern):
            return j == len(name)
        c = pattern[i]
        if c == "*":
            return any(m(i + 1, k) for k in range(j, len(name) + 1))
        if c == "%":
            k = j
            while True:
                if m(i + 1, k):
                    return True
                if k == len(name) or name[k] == sep:
                    return False
                k += 1
        return j < len(name) and name[j] == c and m(i + 1, j + 1)
    return m(0, 0)


def test_list_matches_agrees_with_reference():
    rng = random.Random(6308)
    for _ in range(4000):
        pattern = "".join(rng.choice("ab/%*") for _ in range(rng.randrange(0, 10)))
        name = "".join(rng.choice("ab/") for _ in range(rng.randrange(0, 10)))
        assert list_matches(pattern, name, "/") == _reference_match(pattern, name, "/"), (pattern, name)


# -- property: validate either rejects or everything round-trips ------------

_POOLS = [
    "abcxyzABC0123",
    " -_+,~#!'\"()[]{}<>@$^`=;:?",
    "&.",
    "/",
    "%*",
    "\x00\t\r\n\x1f\x7f\x85\x9f\u2028",
    "éÜïßçñ",
    "台北日本語Отправ",
    "😀🎉𝄞",
    "\ud800\udc00",
]


def _random_name(rng):
    prefix = rng.choice(["", "", "", "INBOX/", "inbox/", "INBOX."])
    components = []
    for _ in range(rng.randrange(1, 5)):
        pools = rng.sample(_POOLS, rng.randrange(1, 4))
        weights = [8 if p == _POOLS[0] else 1 for p in pools]
        chars = []
        for _ in range(rng.randrange(0, 12)):
            pool = rng.choices(pools, weights)[0]
            chars.append(rng.choice(pool))
        components.append("".join(chars))
    return prefix + "/".join(components)


def test_random_names_reject_or_round_trip():
    rng = random.Random(20240101)
    accepted = rejected = 0
    for _ in range(4000):
        raw = _random_name(rng)
        try:
            name = validate(raw)
        except MailboxNameError as err:
            rejected += 1
            assert err.code in ("CANNOT", "LIMIT")
            with pytest.raises(MailboxNameError):
                to_maildir(raw)
            continue
        accepted += 1
        assert validate(name) == name

        dirname = to_maildir(name)
        assert dirname.isascii() and "/" not in dirname
        assert len(dirname) <= MAX_MAILDIR_BYTES
        if name == INBOX:
            assert dirname == ""
        else:
            assert from_maildir(dirname) == name

        for ns in ALL_NS:
            external = ns.to_external(name)
            assert external.isascii()
            assert ns.to_internal(external) == name
            assert list_matches("*", external, ns.separator)
            assert list_matches(external, external, ns.separator)
            try:
                external8 = ns.to_external(name, utf8=True)
            except MailboxNameError:
                assert ns.separator == "." and "." in name
            else:
                assert ns.to_internal(external8, utf8=True) == name
    assert accepted > 600 and rejected > 600, (accepted, rejected)
