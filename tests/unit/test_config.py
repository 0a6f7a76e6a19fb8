"""Table-driven tests for pillarbox.config (imapd.conf)."""

import os
import re
from pathlib import Path

import pytest

from pillarbox.config import (
    OPTIONS,
    Config,
    ConfigError,
    Option,
    default_config_path,
)

MAN_PAGE = Path(__file__).resolve().parents[2] / "man" / "imapd.conf.5"


def parse(text, service=None):
    return Config.from_text(text, "imapd.conf", service=service)


def error_of(text, service=None):
    with pytest.raises(ConfigError) as info:
        parse(text, service)
    return info.value


# -- values of every kind -------------------------------------------------

GOOD_VALUES = [
    # bool
    ("allowplaintext", "yes", True),
    ("allowplaintext", "YES", True),
    ("allowplaintext", "on", True),
    ("allowplaintext", "true", True),
    ("allowplaintext", "t", True),
    ("allowplaintext", "1", True),
    ("lmtp_downcase_rcpt", "no", False),
    ("lmtp_downcase_rcpt", "Off", False),
    ("lmtp_downcase_rcpt", "false", False),
    ("lmtp_downcase_rcpt", "f", False),
    ("lmtp_downcase_rcpt", "0", False),
    # int
    ("maxlogins_per_user", "5", 5),
    ("maxlogins_per_user", "+7", 7),
    ("autocreate_quota", "-1", -1),
    ("autocreate_quota", "0", 0),
    ("quotawarn", "007", 7),
    # int byte sizes
    ("maxmessagesize", "1048576", 1048576),
    ("maxmessagesize", "64K", 65536),
    ("maxmessagesize", "64k", 65536),
    ("maxmessagesize", "10M", 10 * 1024 * 1024),
    ("maxmessagesize", "10MiB", 10 * 1024 * 1024),
    ("maxmessagesize", "1G", 1 << 30),
    ("maxmessagesize", "512B", 512),
    ("max_line_length", "8 K", 8192),
    # duration, unit minutes
    ("timeout", "30", 1800.0),
    ("timeout", "30m", 1800.0),
    ("timeout", "90s", 90.0),
    ("timeout", "1h30m", 5400.0),
    ("timeout", "1h30", 5400.0),
    ("timeout", "1d2h30m15s", 86400.0 + 7200 + 1800 + 15),
    ("timeout", "0", 0.0),
    ("poptimeout", "10", 600.0),
    ("popminpoll", "2", 120.0),
    # duration, unit seconds / days
    ("client_timeout", "30", 30.0),
    ("failedloginpause", "2m", 120.0),
    ("popexpiretime", "-1", -86400.0),
    ("popexpiretime", "2", 2 * 86400.0),
    # enum
    ("virtdomains", "userid", "userid"),
    ("virtdomains", "UserID", "userid"),
    ("virtdomains", "yes", "on"),
    ("virtdomains", "no", "off"),
    ("serverinfo", "min", "min"),
    ("syslog_facility", "LOCAL0", "local0"),
    ("syslog_facility", "mail", "mail"),
    # string
    ("servername", "mail.example.com", "mail.example.com"),
    ("plaintextloginalert", "Use TLS: please!", "Use TLS: please!"),
    ("tls_ciphers", "HIGH:!aNULL", "HIGH:!aNULL"),
    # list
    ("admins", "cyrus", ["cyrus"]),
    ("admins", "cyrus  admin\tbob", ["cyrus", "admin", "bob"]),
    ("admins", "cyrus, admin,bob", ["cyrus", "admin", "bob"]),
    ("sasl_mech_list", "PLAIN LOGIN SCRAM-SHA-256", ["PLAIN", "LOGIN", "SCRAM-SHA-256"]),
    ("tls_versions", "tls1_3", ["tls1_3"]),
    # path (absolute stays, normalised)
    ("tls_server_cert", "/etc/ssl/cert.pem", "/etc/ssl/cert.pem"),
    ("configdirectory", "/var/lib/imap/", "/var/lib/imap"),
    ("partition-default", "/var/spool/imap", "/var/spool/imap"),
    ("metapartition-default", "/var/meta", "/var/meta"),
    ("archivepartition-slow", "/srv/archive", "/srv/archive"),
]


@pytest.mark.parametrize("key,text,expected", GOOD_VALUES)
def test_good_value_is_typed(key, text, expected):
    config = parse(f"{key}: {text}\n")
    value = config.get(key)
    assert value == expected
    assert type(value) is type(expected)
    assert config.raw(key) == text
    assert [w for w in config.warnings if "has no effect" not in w] == []


BAD_VALUES = [
    ("allowplaintext", "maybe", "not a boolean"),
    ("allowplaintext", "yesplease", "not a boolean"),
    ("maxlogins_per_user", "abc", "not an integer"),
    ("maxlogins_per_user", "5K", "not an integer"),
    ("maxlogins_per_user", "1.5", "not an integer"),
    ("maxlogins_per_user", "0x10", "not an integer"),
    ("maxmessagesize", "10X", "not a size"),
    ("maxmessagesize", "K", "not a size"),
    ("timeout", "abc", "'abc' is not a duration (examples: 30, 30m, 1h30m)"),
    ("timeout", "1w", "not a duration"),
    ("timeout", "h", "not a duration"),
    ("timeout", "-", "not a duration"),
    ("timeout", "1.5m", "not a duration"),
    ("timeout", "30 m", "not a duration"),
    ("timeout", "30M", "not a duration"),
    ("virtdomains", "maybe", "not one of: off, userid, on"),
    ("serverinfo", "yes please", "not one of"),
    ("syslog_facility", "local8", "not one of"),
    ("tls_versions", "tls1_2 sslv3", "'sslv3' is not one of"),
]


@pytest.mark.parametrize("key,text,reason", BAD_VALUES)
def test_bad_value_names_file_line_key_and_reason(key, text, reason):
    err = error_of(f"# header\n\n{key}: {text}\n")
    assert str(err).startswith(f"imapd.conf:3: {key}: ")
    assert reason in str(err)
    assert (err.filename, err.lineno) == ("imapd.conf", 3)
    assert err.message == str(err)[len("imapd.conf:3: "):]


def test_error_message_matches_documented_format():
    err = error_of("a_comment: x\n" * 6 + "timeout: abc\n")
    assert str(err) == "imapd.conf:7: timeout: 'abc' is not a duration (examples: 30, 30m, 1h30m)"


def test_config_error_without_line():
    err = ConfigError("/etc/imapd.conf", None, "cannot read configuration file: boom")
    assert str(err) == "/etc/imapd.conf: cannot read configuration file: boom"
    assert (err.filename, err.lineno, err.message) == ("/etc/imapd.conf", None, "cannot read configuration file: boom")


# -- line syntax -------------------------------------------------------------

SYNTAX = [
    ("comment and blank lines", "# c\n\n   \n\t# indented comment\ntimeout: 5\n", 300.0),
    ("surrounding whitespace", "   timeout:    5   \n", 300.0),
    ("no space after colon", "timeout:5\n", 300.0),
    ("space before colon", "timeout : 5\n", 300.0),
    ("CRLF line ends", "# c\r\ntimeout: 5\r\n", 300.0),
    ("no final newline", "timeout: 5", 300.0),
    ("upper-case key folds", "Timeout: 5\n", 300.0),
    ("'#' inside a value is kept", "servername: a#b\ntimeout: 5\n", 300.0),
    ("continuation", "timeout: 1h\\\n30m\n", 5400.0),
    ("comment never continues", "# ends in backslash \\\ntimeout: 5\n", 300.0),
]


@pytest.mark.parametrize("label,text,timeout", SYNTAX, ids=[s[0] for s in SYNTAX])
def test_line_syntax(label, text, timeout):
    config = parse(text)
    assert config.getduration("timeout") == timeout
    assert config.warnings == []


def test_value_keeps_hash_and_colons():
    config = parse("servername: a#b\nplaintextloginalert: see: https://x/y # z\n")
    assert config.getstr("servername") == "a#b"
    assert config.getstr("plaintextloginalert") == "see: https://x/y # z"


def test_continuation_lines_join_and_report_first_line():
    config = parse("admins: alice \\\n  bob \\\n  carol\ntimeout: 5\n")
    assert config.getlist("admins") == ["alice", "bob", "carol"]
    assert config.origin("admins") == "imapd.conf:1"
    assert config.origin("timeout") == "imapd.conf:4"


SYNTAX_ERRORS = [
    ("no colon", "timeout: 5\n\nthis line has no colon\n", 3, "expected 'option: value'"),
    ("empty key", "timeout: 5\n: value\n", 2, "invalid option name ''"),
    ("space in key", "time out: 5\n", 1, "invalid option name 'time out'"),
    ("empty value", "# c\nservername:\n", 2, "servername: empty value"),
    ("blank value", "servername:    \n", 1, "servername: empty value"),
    ("unknown directive", "@frobnicate: x\n", 1, "unknown directive '@frobnicate'"),
]


@pytest.mark.parametrize("label,text,lineno,reason", SYNTAX_ERRORS, ids=[s[0] for s in SYNTAX_ERRORS])
def test_syntax_errors_have_line_numbers(label, text, lineno, reason):
    err = error_of(text)
    assert err.lineno == lineno
    assert str(err).startswith(f"imapd.conf:{lineno}: ")
    assert reason in err.message


def test_duplicate_key_later_wins_with_warning():
    config = parse("timeout: 5\nservername: x\ntimeout: 7\n")
    assert config.getduration("timeout") == 420.0
    assert config.raw("timeout") == "7"
    assert config.warnings == [
        "imapd.conf:3: duplicate option 'timeout' (overrides imapd.conf:1)"
    ]


def test_duplicate_counts_case_folded_keys():
    config = parse("timeout: 5\nTIMEOUT: 7\n")
    assert config.getduration("timeout") == 420.0
    assert len(config.warnings) == 1 and "duplicate option 'timeout'" in config.warnings[0]


# -- unknown options -----------------------------------------------------------

UNKNOWN = ["frobnicate", "sasl_auxprop_plugin", "imap_frobnicate", "imap_", "x-y", "partition-"]


@pytest.mark.parametrize("key", UNKNOWN)
def test_unknown_key_warns_and_does_not_fail(key):
    config = parse(f"timeout: 5\n{key}: whatever\n")
    assert config.warnings == [f"imapd.conf:2: unknown option '{key}' (ignored)"]
    assert config.getduration("timeout") == 300.0
    assert config.raw(key) == "whatever"


def test_get_of_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        parse("").get("frobnicate")


# -- per-service overrides -----------------------------------------------------

OVERRIDE_TEXT = "timeout: 30\nimap_timeout: 45\npop3_admins: popadmin\nadmins: root\n"

OVERRIDES = [
    ("imap", "timeout", 45 * 60.0),
    ("pop3", "timeout", 30 * 60.0),
    (None, "timeout", 30 * 60.0),
    ("imaps", "timeout", 30 * 60.0),
    ("IMAP", "timeout", 45 * 60.0),
    ("imap", "admins", ["root"]),
    ("pop3", "admins", ["popadmin"]),
]


@pytest.mark.parametrize("service,name,expected", OVERRIDES)
def test_per_service_override(service, name, expected):
    config = parse(OVERRIDE_TEXT, service=service)
    assert config.get(name) == expected
    assert config.warnings == []


def test_override_without_generic_value_falls_back_to_default():
    assert parse("lmtp_timeout: 5\n", service="imap").getduration("timeout") == 32 * 60.0
    assert parse("lmtp_timeout: 5\n", service="lmtp").getduration("timeout") == 300.0


def test_with_service_switches_overrides_without_reparsing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse(OVERRIDE_TEXT + "configdirectory: rel\n", service="pop3")
    monkeypatch.chdir("/")
    imap = config.with_service("imap")
    assert imap.service == "imap"
    assert imap.getduration("timeout") == 45 * 60.0
    assert config.getduration("timeout") == 30 * 60.0
    assert imap.getpath("configdirectory") == str(tmp_path / "rel")
    assert imap.raw("timeout") == "45"


@pytest.mark.parametrize("key,text,reason", [
    ("imap_timeout", "soon", "not a duration"),
    ("pop3_allowplaintext", "perhaps", "not a boolean"),
    ("lmtp_maxmessagesize", "big", "not a size"),
    ("imap_virtdomains", "sometimes", "not one of"),
])
def test_override_value_is_type_checked(key, text, reason):
    err = error_of(f"{key}: {text}\n")
    assert str(err).startswith(f"imapd.conf:1: {key}: ")
    assert reason in err.message


def test_known_option_with_underscore_is_not_an_override():
    config = parse("lmtp_downcase_rcpt: no\n", service="lmtp")
    assert config.getbool("lmtp_downcase_rcpt") is False
    assert parse("imap_lmtp_downcase_rcpt: no\n", service="imap").getbool("lmtp_downcase_rcpt") is False
    assert parse("imap_lmtp_downcase_rcpt: no\n", service="lmtp").getbool("lmtp_downcase_rcpt") is True


def test_raw_and_origin_honour_override():
    config = parse(OVERRIDE_TEXT, service="imap")
    assert config.raw("timeout") == "45"
    assert config.origin("timeout") == "imapd.conf:2"
    assert config.with_service("pop3").origin("timeout") == "imapd.conf:1"
    assert config.raw("servername") is None
    assert config.origin("servername") is None


# -- defaults -------------------------------------------------------------------

CYRUS_DEFAULTS = [
    ("configdirectory", None),
    ("defaultpartition", "default"),
    ("admins", []),
    ("allowplaintext", False),
    ("unixhierarchysep", True),
    ("altnamespace", True),
    ("timeout", 32 * 60.0),
    ("imapidletimeout", 32 * 60.0),
    ("poptimeout", 10 * 60.0),
    ("popminpoll", 0.0),
    ("virtdomains", "off"),
    ("defaultdomain", "internal"),
    ("lmtp_over_quota_perm_failure", False),
    ("lmtp_downcase_rcpt", True),
    ("lmtp_strict_rfc2821", True),
    ("duplicatesuppression", True),
    ("serverinfo", "on"),
    ("syslog_facility", "local6"),
    ("maxlogins_per_user", 0),
    ("maxmessagesize", 0),
    ("maxliteral", 131072),
    ("tls_versions", ["tls1_2", "tls1_3"]),
    ("tls_ciphers", "DEFAULT"),
    ("client_timeout", 10.0),
    ("sievedir", "/usr/sieve"),
    ("cyrus_user", None),
    ("passwd_file", None),
    ("lmtpsocket", None),
    ("max_line_length", 65536),
    ("worker_templates", True),
]


@pytest.mark.parametrize("name,expected", CYRUS_DEFAULTS)
def test_defaults(name, expected):
    assert Config.load(None).get(name) == expected
    assert parse("").get(name) == expected


def test_load_none_gives_defaults_only():
    config = Config.load(None, service="imap")
    assert (config.path, config.service, config.warnings) == (None, "imap", [])
    assert config.partitions() == {}
    assert config.raw("timeout") is None


def test_imapidletimeout_falls_back_to_service_timeout():
    config = parse("timeout: 40\nimap_timeout: 50\n", service="imap")
    assert config.getduration("imapidletimeout") == 50 * 60.0
    assert parse("timeout: 40\nimapidletimeout: 5\n").getduration("imapidletimeout") == 300.0


def test_configdirectory_templates_expand():
    config = parse("configdirectory: /var/lib/pillarbox\n")
    assert config.getpath("passwd_file") == "/var/lib/pillarbox/passwd"
    assert config.getpath("lmtpsocket") == "/var/lib/pillarbox/socket/lmtp"
    assert config.getpath("idlesocket") == "/var/lib/pillarbox/socket/idle"
    written = parse("configdirectory: /srv/imap\nduplicate_db_path: {configdirectory}/dup.db\n")
    assert written.getpath("duplicate_db_path") == "/srv/imap/dup.db"


def test_every_option_default_matches_its_kind():
    types = {"bool": bool, "int": int, "duration": int, "string": str,
             "enum": str, "path": str, "list": tuple}
    for opt in OPTIONS.values():
        assert isinstance(opt, Option)
        assert opt.kind in types, opt.name
        assert opt.default is None or type(opt.default) is types[opt.kind], opt.name
        assert opt.unit in ("s", "m", "h", "d", "B"), opt.name
        assert opt.doc and "\n" not in opt.doc, opt.name
        if opt.kind == "enum":
            assert opt.default in opt.choices, opt.name


def test_pillarbox_extensions_are_marked():
    for name in ("passwd_file", "max_line_length", "worker_templates"):
        assert OPTIONS[name].doc.startswith("pillarbox extension:")


# -- typed accessors -------------------------------------------------------------

def test_typed_accessors():
    config = parse(
        "configdirectory: /var/imap\nallowplaintext: yes\nmaxlogins_per_host: 3\n"
        "poptimeout: 15\nservername: mx\nadmins: a b\nloginrealms: x.org y.org\n"
    )
    assert config.getbool("allowplaintext") is True
    assert config.getint("maxlogins_per_host") == 3
    assert config.getduration("poptimeout") == 900.0
    assert config.getstr("servername") == "mx"
    assert config.getstr("virtdomains") == "off"
    assert config.getstr("admins") == "a b"
    assert config.getlist("admins") == ["a", "b"]
    assert config.getlist("loginrealms") == ["x.org", "y.org"]
    assert config.getlist("servername") == ["mx"]
    assert config.getpath("configdirectory") == "/var/imap"
    assert config.getstr("syslog_prefix") is None


@pytest.mark.parametrize("getter,name", [
    ("getbool", "timeout"),
    ("getint", "allowplaintext"),
    ("getduration", "maxlogins_per_user"),
    ("getpath", "servername"),
    ("getlist", "timeout"),
    ("getstr", "timeout"),
])
def test_typed_accessor_refuses_other_kinds(getter, name):
    with pytest.raises(TypeError):
        getattr(parse(""), getter)(name)


def test_returned_lists_are_copies():
    config = parse("admins: a b\n")
    config.getlist("admins").append("mallory")
    assert config.getlist("admins") == ["a", "b"]
    assert parse("").getlist("admins") == []


# -- paths and partitions ----------------------------------------------------------

def test_relative_paths_resolve_against_cwd_at_load_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse("configdirectory: var/imap\npartition-default: ./var/spool/../spool\n"
                   "tls_server_cert: cert.pem\n")
    monkeypatch.chdir("/")
    assert config.getpath("configdirectory") == str(tmp_path / "var" / "imap")
    assert config.getpath("tls_server_cert") == str(tmp_path / "cert.pem")
    assert config.partitions() == {"default": str(tmp_path / "var" / "spool")}
    assert config.getpath("passwd_file") == str(tmp_path / "var" / "imap" / "passwd")
    assert config.raw("configdirectory") == "var/imap"


def test_partitions_collects_every_partition_key():
    config = parse(
        "partition-default: /spool/a\npartition-big: /spool/b\n"
        "metapartition-default: /meta/a\narchivepartition-default: /arch/a\n"
        "imap_partition-big: /spool/imap-b\n"
    )
    assert config.partitions() == {"default": "/spool/a", "big": "/spool/b"}
    assert config.with_service("imap").partitions() == {"default": "/spool/a", "big": "/spool/imap-b"}
    assert config.getpath("metapartition-default") == "/meta/a"
    assert config.getpath("archivepartition-default") == "/arch/a"
    assert config.get("partition-nosuch") is None
    assert config.warnings == []


def test_service_only_partition():
    config = parse("lmtp_partition-extra: /spool/x\n", service="lmtp")
    assert config.partitions() == {"extra": "/spool/x"}
    assert config.with_service("imap").partitions() == {}


# -- files ----------------------------------------------------------------------------

def test_load_reads_file_and_records_path(tmp_path):
    path = tmp_path / "imapd.conf"
    path.write_text("configdirectory: /var/imap\nfrobnicate: 1\n")
    config = Config.load(str(path), service="imap")
    assert (config.path, config.service) == (str(path), "imap")
    assert config.getpath("configdirectory") == "/var/imap"
    assert config.warnings == [f"{path}:2: unknown option 'frobnicate' (ignored)"]


def test_load_error_names_the_file(tmp_path):
    path = tmp_path / "imapd.conf"
    path.write_text("timeout: 5\ntimeout: never\n")
    with pytest.raises(ConfigError) as info:
        Config.load(str(path))
    assert str(info.value).startswith(f"{path}:2: timeout: 'never' is not a duration")


def test_load_of_missing_file_names_the_path(tmp_path):
    missing = str(tmp_path / "nope" / "imapd.conf")
    with pytest.raises(ConfigError) as info:
        Config.load(missing)
    assert info.value.filename == missing
    assert info.value.lineno is None
    assert str(info.value).startswith(f"{missing}: cannot read configuration file")


def test_load_of_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        Config.load(str(tmp_path))


def test_invalid_utf8_is_a_config_error_with_line(tmp_path):
    path = tmp_path / "imapd.conf"
    path.write_bytes(b"timeout: 5\nservername: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        Config.load(str(path))
    assert (info.value.lineno, info.value.message) == (2, "not valid UTF-8")


def test_include_is_relative_to_including_file(tmp_path):
    (tmp_path / "tls.conf").write_text("tls_server_cert: /etc/cert.pem\nfrob: 1\n")
    main = tmp_path / "imapd.conf"
    main.write_text("timeout: 5\n@include: tls.conf\n")
    config = Config.load(str(main))
    assert config.getpath("tls_server_cert") == "/etc/cert.pem"
    assert config.origin("tls_server_cert") == f"{tmp_path / 'tls.conf'}:1"
    assert config.warnings == [f"{tmp_path / 'tls.conf'}:2: unknown option 'frob' (ignored)"]


def test_include_errors(tmp_path):
    main = tmp_path / "imapd.conf"
    main.write_text("@include: missing.conf\n")
    with pytest.raises(ConfigError) as info:
        Config.load(str(main))
    assert (info.value.filename, info.value.lineno) == (str(main), 1)
    main.write_text("@include: imapd.conf\n")
    with pytest.raises(ConfigError, match="included twice"):
        Config.load(str(main))


@pytest.mark.parametrize("env,expected", [
    (None, "/etc/imapd.conf"),
    ("", "/etc/imapd.conf"),
    ("/srv/pillarbox/imapd.conf", "/srv/pillarbox/imapd.conf"),
])
def test_default_config_path(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv("PILLARBOX_CONFIG", raising=False)
    else:
        monkeypatch.setenv("PILLARBOX_CONFIG", env)
    assert default_config_path() == expected


# -- the man page documents the table --------------------------------------------------

def test_man_page_documents_every_option():
    text = MAN_PAGE.read_text()
    documented = set(re.findall(r"^\.B (\S+)$", text, re.MULTILINE))
    documented = {name.replace("\\-", "-") for name in documented}
    missing = sorted(set(OPTIONS) - documented)
    assert missing == []
    for dynamic in ("partition-NAME", "metapartition-NAME", "archivepartition-NAME"):
        assert dynamic in {d.replace("\\fINAME\\fR", "NAME") for d in documented}


def test_import_is_stdlib_only():
    import pillarbox.config as module
    source = Path(module.__file__).read_text()
    imports = set(re.findall(r"^(?:from|import) (\w+)", source, re.MULTILINE))
    assert imports <= {"__future__", "os", "re", "dataclasses"}
    assert os.path.basename(module.__file__) == "config.py"


def test_options_without_effect_warn_and_are_marked_in_the_man_page():
    import pathlib
    from pillarbox.config import NO_EFFECT
    config = Config.from_text("maxliteral: 1000\nimap_chatty: yes\ntimeout: 30\n", filename="imapd.conf")
    assert config.warnings == [
        "imapd.conf:1: maxliteral is accepted for Cyrus compatibility but has no effect in this version of pillarbox",
        "imapd.conf:2: imap_chatty is accepted for Cyrus compatibility but has no effect in this version of pillarbox"]
    page = (pathlib.Path(__file__).parents[2] / "man" / "imapd.conf.5").read_text()
    for name in NO_EFFECT:
        entry = page.split(f"\n.B {name}\n", 1)[1].split("\n.TP\n", 1)[0]
        assert "no effect in this version" in entry, name
