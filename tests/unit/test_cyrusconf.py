"""master.cyrusconf: the cyrus.conf(5) parser."""

from __future__ import annotations

import os

import pytest

from master.cyrusconf import (
    CyrusConf, CyrusConfError, DaemonEntry, EventEntry, ListenAddress, ServiceEntry,
    StartEntry, load_cyrus_conf, looks_like_cyrus_conf, parse_cyrus_conf,
)
from master.schedule import CronSpec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def one(section: str, line: str) -> object:
    """Parse `line` as the only entry of `section` (on line 2) and return it."""
    conf = parse_cyrus_conf(f"{section} {{\n{line}\n}}\n", "cyrus.conf")
    entries = {"START": conf.start, "SERVICES": conf.services,
               "EVENTS": conf.events, "DAEMON": conf.daemons}[section]
    assert len(entries) == 1
    return entries[0]


def error(text: str) -> str:
    with pytest.raises(CyrusConfError) as info:
        parse_cyrus_conf(text, "cyrus.conf")
    return str(info.value)


def entry_error(section: str, line: str) -> str:
    return error(f"{section} {{\n{line}\n}}\n")


# ------------------------------------------------------------ a whole file

FULL = """\
# pillarbox
START {
    recover     cmd="ctl_cyrusdb -r"
}

SERVICES {
    imap        cmd="imapd -U 30" listen="imap" prefork=2 maxchild=100
    lmtp        cmd="lmtpd" listen="127.0.0.1:24" proto=tcp4
}

EVENTS {
    checkpoint  cmd="ctl_cyrusdb -c" period=30
    delprune    cmd="cyr_expire -E 3" at=0400
    tidy        cmd="tidy" cron="*/15 * * * *"
}

DAEMON {
    idled       cmd="idled" wait=y
}
"""


def test_full_file() -> None:
    conf = parse_cyrus_conf(FULL, "cyrus.conf")
    assert conf == CyrusConf(
        filename="cyrus.conf",
        start=(StartEntry("recover", ("ctl_cyrusdb", "-r"), 3),),
        services=(
            ServiceEntry("imap", ("imapd", "-U", "30"),
                         ListenAddress("inet", None, 143, None, "imap"), "tcp",
                         prefork=2, maxchild=100, lineno=7),
            ServiceEntry("lmtp", ("lmtpd",),
                         ListenAddress("inet", "127.0.0.1", 24, None, "127.0.0.1:24"), "tcp4",
                         lineno=8),
        ),
        events=(
            EventEntry("checkpoint", ("ctl_cyrusdb", "-c"), period=30, lineno=12),
            EventEntry("delprune", ("cyr_expire", "-E", "3"), at=(4, 0), lineno=13),
            EventEntry("tidy", ("tidy",), cron=CronSpec.parse("*/15 * * * *"), lineno=14),
        ),
        daemons=(DaemonEntry("idled", ("idled",), wait=True, lineno=18),),
    )


def test_service_defaults() -> None:
    entry = one("SERVICES", 'pop3 cmd="pop3d" listen="110"')
    assert (entry.proto, entry.prefork, entry.maxchild, entry.maxfds, entry.maxforkrate,
            entry.babysit) == ("tcp", 0, -1, 256, 0, False)


def test_empty_file_and_empty_sections() -> None:
    assert parse_cyrus_conf("", "x") == CyrusConf("x", (), (), (), ())
    assert parse_cyrus_conf("# nothing\n\n   \n", "x") == CyrusConf("x", (), (), (), ())
    text = "START { }\nSERVICES {}\nEVENTS {\n}\nDAEMON\n{\n}\n"
    assert parse_cyrus_conf(text, "x") == CyrusConf("x", (), (), (), ())


@pytest.mark.parametrize("text", [
    "START { recover cmd=true }\n",
    "START {recover cmd=true}\n",
    "START {\n recover cmd=true }\n",
    "START\n{\nrecover cmd=true\n}\n",
    "start {\nrecover cmd=true\n}\n",
    "Start { recover cmd=true } # comment\n",
    "\ufeffSTART {\r\nrecover cmd=true\r\n}\r\n",
])
def test_section_layouts(text: str) -> None:
    conf = parse_cyrus_conf(text, "x")
    assert [(e.name, e.cmd) for e in conf.start] == [("recover", ("true",))]


def test_one_line_sections_in_a_row() -> None:
    conf = parse_cyrus_conf("START { a cmd=x } DAEMON { b cmd=y wait=1 }\n", "x")
    assert conf.start == (StartEntry("a", ("x",), 1),)
    assert conf.daemons == (DaemonEntry("b", ("y",), True, 1),)


def test_repeated_section_adds_entries() -> None:
    conf = parse_cyrus_conf("EVENTS {\na cmd=x period=1\n}\nEVENTS {\nb cmd=y period=2\n}\n", "x")
    assert [(e.name, e.lineno) for e in conf.events] == [("a", 2), ("b", 5)]


# ------------------------------------------------------------ comments and quoting

@pytest.mark.parametrize("line, cmd", [
    ('x cmd="imapd -U 30"', ("imapd", "-U", "30")),
    ("x cmd='imapd -U 30'", ("imapd", "-U", "30")),
    ("x cmd=imapd", ("imapd",)),
    ('x cmd="imapd" # a comment', ("imapd",)),
    ("x cmd=imapd# a comment", ("imapd",)),
    ('x cmd="imapd -C /etc/a#b.conf"', ("imapd", "-C", "/etc/a#b.conf")),
    ('''x cmd="imapd -C '/etc/my conf'"''', ("imapd", "-C", "/etc/my conf")),
    ('x    cmd="x"', ("x",)),
    ('\tx\tcmd="a  b"\t', ("a", "b")),
    ('x CMD="a"', ("a",)),
])
def test_cmd_quoting_and_comments(line: str, cmd: tuple[str, ...]) -> None:
    assert one("START", line).cmd == cmd


def test_comment_lines_and_hash_in_quotes() -> None:
    text = '# top\nSTART {\n  # inside\n\n  a cmd="echo #1"  # trailing\n} # end\n'
    assert parse_cyrus_conf(text, "x").start == (StartEntry("a", ("echo", "#1"), 5),)


# ------------------------------------------------------------ SERVICES arguments

@pytest.mark.parametrize("args, attr, value", [
    ("prefork=0", "prefork", 0),
    ("prefork=5", "prefork", 5),
    ("maxchild=-1", "maxchild", -1),
    ("maxchild=1", "maxchild", 1),
    ("maxchild=500", "maxchild", 500),
    ("maxfds=0", "maxfds", 0),
    ("maxfds=1024", "maxfds", 1024),
    ("maxforkrate=0", "maxforkrate", 0),
    ("maxforkrate=20", "maxforkrate", 20),
    ("proto=tcp", "proto", "tcp"),
    ("proto=tcp4", "proto", "tcp4"),
    ("proto=tcp6", "proto", "tcp6"),
    ("proto=TCP", "proto", "tcp"),
    ("babysit=y", "babysit", True),
    ("babysit=yes", "babysit", True),
    ("babysit=1", "babysit", True),
    ("babysit=true", "babysit", True),
    ("babysit=n", "babysit", False),
    ("babysit=no", "babysit", False),
    ("babysit=0", "babysit", False),
    ("babysit=false", "babysit", False),
    ("babysit=y maxforkrate=3", "maxforkrate", 3),
])
def test_service_arguments(args: str, attr: str, value: object) -> None:
    entry = one("SERVICES", f"imap cmd=imapd listen=143 {args}")
    assert getattr(entry, attr) == value


@pytest.mark.parametrize("args, prefork, maxforkrate", [
    ("babysit=y", 1, 10),                   # Cyrus: at least one preforked, rate 10
    ("babysit=y prefork=3", 3, 10),
    ("babysit=y maxforkrate=4", 1, 4),
    ("babysit=n", 0, 0),
])
def test_babysit_effect(args: str, prefork: int, maxforkrate: int) -> None:
    entry = one("SERVICES", f"imap cmd=imapd listen=143 {args}")
    assert (entry.prefork, entry.maxforkrate) == (prefork, maxforkrate)


@pytest.mark.parametrize("args, message", [
    ("prefork=x", "prefork='x' is not a number"),
    ("prefork=", "prefork='' is not a number"),
    ("prefork=1.5", "prefork='1.5' is not a number"),
    ("prefork=-1", "prefork=-1 must be at least 0"),
    ("maxchild=-2", "maxchild=-2 must be at least -1"),
    ("maxchild=lots", "maxchild='lots' is not a number"),
    ("maxchild=0", "maxchild=0 would never start a process; use -1 for unlimited"),
    ("maxchild=2 prefork=3", "prefork=3 is more than maxchild=2"),
    ("maxfds=-5", "maxfds=-5 must be at least 0"),
    ("maxforkrate=fast", "maxforkrate='fast' is not a number"),
    ("babysit=maybe", "babysit='maybe' is not a switch (use y or n)"),
    ("proto=udp", "proto=udp: udp services are not supported "
                  "(pillarbox serves TCP and UNIX stream sockets only)"),
    ("proto=udp6", "proto=udp6: udp services are not supported "
                   "(pillarbox serves TCP and UNIX stream sockets only)"),
    ("proto=sctp", "proto='sctp' is not one of tcp, tcp4, tcp6"),
    ('cmd=""', "cmd is empty"),
    ("cmd=\"imapd 'oops\"", "cmd=\"imapd 'oops\": No closing quotation"),
])
def test_service_bad_values(args: str, message: str) -> None:
    line = f"imap listen=143 {args}" if args.startswith("cmd=") else f"imap cmd=imapd listen=143 {args}"
    assert entry_error("SERVICES", line) == f"cyrus.conf:2: service 'imap': {message}"


@pytest.mark.parametrize("line, message", [
    ("imap listen=143", "service 'imap': missing cmd="),
    ("imap cmd=imapd", "service 'imap': missing listen="),
    ("imap", "service 'imap': missing cmd= and listen="),
    ("imap cmd=imapd listen=143 wait=y",
     "service 'imap': unknown argument 'wait' in SERVICES "
     "(known: cmd, listen, proto, prefork, maxchild, maxfds, maxforkrate, babysit)"),
    ("imap cmd=imapd listen=143 prefork=1 prefork=2", "service 'imap': prefork= is given twice"),
    ("imap cmd=imapd listen=143 prefork", "service 'imap': expected name=value, found 'prefork'"),
    ('imap cmd="imapd listen=143', "service 'imap': cmd= is missing its closing \""),
    ('imap cmd="imapd"listen=143', "service 'imap': cmd=: unexpected 'l' after closing \""),
    ('cmd="imapd" listen=143', "entry in SERVICES has no name: the line starts with cmd="),
    ("imap cmd=imapd listen=\u00b2", "service 'imap': '\u00b2' is not a port number or service name"),
    ("imap cmd=imapd listen=143 prefork=\u0663", "service 'imap': prefork='\u0663' is not a number"),
    ("imap-ssl cmd=imapd listen=993",
     "bad service name 'imap-ssl': names may contain only letters and digits (no '-' or '_')"),
    ("imap_ssl cmd=imapd listen=993",
     "bad service name 'imap_ssl': names may contain only letters and digits (no '-' or '_')"),
])
def test_service_entry_errors(line: str, message: str) -> None:
    assert entry_error("SERVICES", line) == f"cyrus.conf:2: {message}"


# ------------------------------------------------------------ listen=

@pytest.mark.parametrize("listen, proto, host, port, shown", [
    ("143", "tcp", None, 143, "*:143"),
    ("imap", "tcp", None, 143, "*:143"),
    ("*:143", "tcp", None, 143, "*:143"),
    (":143", "tcp", None, 143, "*:143"),
    ("*:imap", "tcp", None, 143, "*:143"),
    ("127.0.0.1:143", "tcp", "127.0.0.1", 143, "127.0.0.1:143"),
    ("127.0.0.1:143", "tcp4", "127.0.0.1", 143, "127.0.0.1:143"),
    ("0.0.0.0:993", "tcp", "0.0.0.0", 993, "0.0.0.0:993"),
    ("localhost:imap", "tcp", "localhost", 143, "localhost:143"),
    ("localhost:imap", "tcp6", "localhost", 143, "localhost:143"),
    ("mail.example.org:143", "tcp", "mail.example.org", 143, "mail.example.org:143"),
    ("[::1]:143", "tcp", "::1", 143, "[::1]:143"),
    ("[::1]:143", "tcp6", "::1", 143, "[::1]:143"),
    ("[::]:143", "tcp", "::", 143, "[::]:143"),
    ("[2001:db8::25]:imap", "tcp", "2001:db8::25", 143, "[2001:db8::25]:143"),
    ("[127.0.0.1]:143", "tcp", "127.0.0.1", 143, "127.0.0.1:143"),
    ("65535", "tcp", None, 65535, "*:65535"),
])
def test_listen_inet(listen: str, proto: str, host: str | None, port: int, shown: str) -> None:
    entry = one("SERVICES", f'imap cmd=imapd listen="{listen}" proto={proto}')
    assert entry.listen == ListenAddress("inet", host, port, None, listen)
    assert str(entry.listen) == shown


def test_listen_unquoted_bracketed() -> None:
    assert one("SERVICES", "imap cmd=imapd listen=[::1]:143").listen.host == "::1"


@pytest.mark.parametrize("listen, relative", [
    ("/var/run/pillarbox/lmtp", False),
    ("run/lmtp", True),
    ("./lmtp/../lmtp.sock", True),
])
def test_listen_unix(listen: str, relative: bool, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    entry = one("SERVICES", f'lmtpunix cmd=lmtpd listen="{listen}"')
    expected = os.path.normpath(os.path.join(str(tmp_path), listen)) if relative else listen
    assert entry.listen == ListenAddress("unix", None, None, expected, listen)
    assert str(entry.listen) == expected
    assert entry.proto == "tcp"


def test_listen_unix_resolved_at_parse_time(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    entry = one("SERVICES", 'lmtpunix cmd=lmtpd listen="sock/lmtp"')
    monkeypatch.chdir("/")
    assert entry.listen.path == str(tmp_path / "sock" / "lmtp")


@pytest.mark.parametrize("listen, proto, message", [
    ("nosuchservicename", "tcp",
     "unknown service name 'nosuchservicename' (not in /etc/services); give a port number"),
    ("localhost:nosuchservicename", "tcp",
     "unknown service name 'nosuchservicename' (not in /etc/services); give a port number"),
    ("0", "tcp", "port 0 is out of range 1-65535"),
    ("65536", "tcp", "port 65536 is out of range 1-65535"),
    ("localhost:", "tcp", "listen='localhost:' has no port"),
    ("[::1]", "tcp", "listen='[::1]': a port must follow ']:'"),
    ("[::1:143", "tcp", "listen='[::1:143': missing ']'"),
    ("[mail.example.org]:143", "tcp",
     "listen='[mail.example.org]:143': 'mail.example.org' in brackets is not an IP address"),
    ("::1:143", "tcp", "listen='::1:143': write an IPv6 address in brackets, e.g. [::1]:143"),
    ("bad host!:143", "tcp", "listen='bad host!:143': 'bad host!' is not a host name or IP address"),
    ("[::1]:143", "tcp4", "proto=tcp4 but listen='[::1]:143' is an IPv6 address"),
    ("[::]:143", "tcp4", "proto=tcp4 but listen='[::]:143' is an IPv6 address"),
    ("127.0.0.1:143", "tcp6", "proto=tcp6 but listen='127.0.0.1:143' is an IPv4 address"),
    ("/run/lmtp", "tcp4", "proto=tcp4 does not apply to UNIX socket '/run/lmtp'; leave proto out"),
    ("/" + "x" * 107, "tcp", f"listen='/{'x' * 107}': UNIX socket path '/{'x' * 107}' is "
                            "108 bytes long; the limit is 107"),
    ("", "tcp", "listen is empty"),
    ("1x3", "tcp", "'1x3' is not a port number or service name"),
    ("a b:1", "tcp", "listen='a b:1': 'a b' is not a host name or IP address"),
])
def test_listen_errors(listen: str, proto: str, message: str) -> None:
    line = f'imap cmd=imapd listen="{listen}" proto={proto}'
    assert entry_error("SERVICES", line) == f"cyrus.conf:2: service 'imap': {message}"


# ------------------------------------------------------------ EVENTS

@pytest.mark.parametrize("args, period, at, cron", [
    ("period=30", 30, None, None),
    ("period=1", 1, None, None),
    ("at=0400", 0, (4, 0), None),
    ("at=400", 0, (4, 0), None),
    ("at=2330", 0, (23, 30), None),
    ("at=0", 0, (0, 0), None),
    ("at=2359", 0, (23, 59), None),
    ("at=5", 0, (0, 5), None),
    ('cron="0 4 * * 1-5"', 0, None, "0 4 * * 1-5"),
    ('cron="@daily"', 0, None, "@daily"),
    ('period=60 at=0400 cron="*/15 * * * *"', 60, (4, 0), "*/15 * * * *"),
    ("period=0 at=0100", 0, (1, 0), None),
])
def test_event_arguments(args: str, period: int, at: tuple | None, cron: str | None) -> None:
    entry = one("EVENTS", f"ev cmd=x {args}")
    assert (entry.period, entry.at) == (period, at)
    assert (entry.cron.expr if entry.cron else None) == cron


@pytest.mark.parametrize("args, message", [
    ("", "event 'ev': needs period= (minutes, at least 1), at=hhmm or cron=\"m h dom mon dow\""),
    ("period=0", "event 'ev': needs period= (minutes, at least 1), at=hhmm or "
                 "cron=\"m h dom mon dow\""),
    ("period=often", "event 'ev': period='often' is not a number"),
    ("period=-5", "event 'ev': period=-5 must be at least 0"),
    ("at=2400", "event 'ev': at='2400' is not a time of day (hhmm, 0000 to 2359)"),
    ("at=0460", "event 'ev': at='0460' is not a time of day (hhmm, 0000 to 2359)"),
    ("at=04:00", "event 'ev': at='04:00' is not a time of day (hhmm, e.g. 0400)"),
    ("at=12345", "event 'ev': at='12345' is not a time of day (hhmm, e.g. 0400)"),
    ("at=", "event 'ev': at='' is not a time of day (hhmm, e.g. 0400)"),
    ('cron="61 * * * *"',
     "event 'ev': bad cron expression '61 * * * *': minute field: 61 is out of range 0-59"),
    ('cron="* * * *"', "event 'ev': bad cron expression '* * * *': 4 field(s) where 5 are "
                       "expected (minute hour day-of-month month day-of-week)"),
    ("listen=143", "event 'ev': unknown argument 'listen' in EVENTS (known: cmd, period, at, cron)"),
])
def test_event_errors(args: str, message: str) -> None:
    assert entry_error("EVENTS", f"ev cmd=x {args}") == f"cyrus.conf:2: {message}"


# ------------------------------------------------------------ START and DAEMON

@pytest.mark.parametrize("args, wait", [
    ("", False), ("wait=y", True), ("wait=yes", True), ("wait=1", True), ("wait=true", True),
    ("wait=n", False), ("wait=no", False), ("wait=0", False), ("wait=false", False),
])
def test_daemon_wait(args: str, wait: bool) -> None:
    assert one("DAEMON", f"idled cmd=idled {args}") == DaemonEntry("idled", ("idled",), wait, 2)


@pytest.mark.parametrize("section, line, message", [
    ("DAEMON", "idled cmd=idled wait=sometimes",
     "daemon 'idled': wait='sometimes' is not a switch (use y or n)"),
    ("DAEMON", "idled", "daemon 'idled': missing cmd="),
    ("DAEMON", "idled cmd=idled period=5",
     "daemon 'idled': unknown argument 'period' in DAEMON (known: cmd, wait)"),
    ("START", "recover", "start 'recover': missing cmd="),
    ("START", 'recover cmd="  "', "start 'recover': cmd is empty"),
    ("START", "recover cmd=x listen=143",
     "start 'recover': unknown argument 'listen' in START (known: cmd)"),
    ("START", "re.cover cmd=x",
     "bad start name 're.cover': names may contain only letters and digits (no '-' or '_')"),
])
def test_start_daemon_errors(section: str, line: str, message: str) -> None:
    assert entry_error(section, line) == f"cyrus.conf:2: {message}"


# ------------------------------------------------------------ duplicates

@pytest.mark.parametrize("text, message", [
    ("SERVICES {\nimap cmd=a listen=1\nimap cmd=b listen=2\n}\n",
     "cyrus.conf:3: service 'imap' is defined twice (first on line 2)"),
    ("SERVICES {\nimap cmd=a listen=1\n}\nSERVICES {\n\nimap cmd=b listen=2\n}\n",
     "cyrus.conf:6: service 'imap' is defined twice (first on line 2)"),
    ("EVENTS {\nx cmd=a period=1\nx cmd=b period=2\n}\n",
     "cyrus.conf:3: event 'x' is defined twice (first on line 2)"),
    ("DAEMON {\nx cmd=a\nx cmd=b\n}\n", "cyrus.conf:3: daemon 'x' is defined twice (first on line 2)"),
    ("START {\nx cmd=a\nx cmd=b\n}\n", "cyrus.conf:3: start 'x' is defined twice (first on line 2)"),
    ("SERVICES {\nx cmd=a listen=1\n}\nDAEMON {\nx cmd=b\n}\n",
     "cyrus.conf:5: daemon 'x': the name is already used by service 'x' on line 2 "
     "(SERVICES and DAEMON share names)"),
    ("DAEMON { x cmd=b }\nSERVICES {\n\nx cmd=a listen=1\n}\n",
     "cyrus.conf:4: service 'x': the name is already used by daemon 'x' on line 1 "
     "(SERVICES and DAEMON share names)"),
])
def test_duplicates(text: str, message: str) -> None:
    assert error(text) == message


def test_same_name_in_other_sections_is_fine() -> None:
    text = "START {\nx cmd=a\n}\nEVENTS {\nx cmd=b period=1\n}\nDAEMON {\nx cmd=c\n}\n"
    conf = parse_cyrus_conf(text, "x")
    assert [e.name for e in conf.start + conf.events + conf.daemons] == ["x", "x", "x"]


# ------------------------------------------------------------ file structure errors

@pytest.mark.parametrize("text, message", [
    ('imap cmd="imapd" listen=143\n',
     "cyrus.conf:1: 'imap cmd=\"imapd\" listen=143' is outside any section "
     "(START, SERVICES, EVENTS, DAEMON)"),
    ("# c\n\nconfigdirectory: /var/lib/pillarbox\n",
     "cyrus.conf:3: 'configdirectory: /var/lib/pillarbox' is outside any section; "
     "this looks like imapd.conf (key: value), not cyrus.conf"),
    ("FOO {\n}\n", "cyrus.conf:1: unknown section 'FOO' (expected START, SERVICES, EVENTS or DAEMON)"),
    ("SERVICE {\n}\n",
     "cyrus.conf:1: unknown section 'SERVICE' (expected START, SERVICES, EVENTS or DAEMON)"),
    ("START {\n}\n}\n", "cyrus.conf:3: '}' without a section to close"),
    ("# x\nSERVICES {\nimap cmd=a listen=1\n\n", "cyrus.conf:2: section SERVICES opened here "
                                               "is never closed with '}'"),
    ("EVENTS\n", "cyrus.conf:1: section EVENTS has no '{'"),
    ("EVENTS\nx cmd=a period=1\n", "cyrus.conf:2: expected '{' after section name EVENTS (line 1)"),
    ("SERVICES {\nimap cmd=a listen=1\nEVENTS {\n}\n}\n",
     "cyrus.conf:3: unexpected 'EVENTS {' inside section SERVICES (opened on line 1); "
     "is a '}' missing?"),
    ("SERVICES {\n{\n}\n",
     "cyrus.conf:2: unexpected '{' inside section SERVICES (opened on line 1); "
     "is a '}' missing?"),
    ("START {\nx cmd=a\n}\n\n\nDAEMON {\ny cmd=\"b\n}\n",
     "cyrus.conf:7: daemon 'y': cmd= is missing its closing \""),
])
def test_structure_errors(text: str, message: str) -> None:
    assert error(text) == message


def test_error_attributes() -> None:
    with pytest.raises(CyrusConfError) as info:
        parse_cyrus_conf("START {\nx cmd=\n}\n", "/etc/cyrus.conf")
    exc = info.value
    assert (exc.filename, exc.lineno, exc.message) == ("/etc/cyrus.conf", 2,
                                                       "start 'x': cmd is empty")
    assert str(exc) == "/etc/cyrus.conf:2: start 'x': cmd is empty"


def test_default_filename() -> None:
    with pytest.raises(CyrusConfError) as info:
        parse_cyrus_conf("junk\n")
    assert str(info.value).startswith("<string>:1: ")


# ------------------------------------------------------------ files

def test_load(tmp_path) -> None:
    path = tmp_path / "cyrus.conf"
    path.write_text(FULL)
    conf = load_cyrus_conf(str(path))
    assert conf.filename == str(path)
    assert [s.name for s in conf.services] == ["imap", "lmtp"]


def test_load_error_names_file(tmp_path) -> None:
    path = tmp_path / "cyrus.conf"
    path.write_text("START {\n")
    with pytest.raises(CyrusConfError) as info:
        load_cyrus_conf(str(path))
    assert str(info.value) == f"{path}:1: section START opened here is never closed with '}}'"


def test_load_missing(tmp_path) -> None:
    path = str(tmp_path / "nope.conf")
    with pytest.raises(CyrusConfError) as info:
        load_cyrus_conf(path)
    assert (info.value.filename, info.value.lineno) == (path, None)
    assert str(info.value) == f"{path}: cannot read {path}: No such file or directory"


def test_load_directory(tmp_path) -> None:
    with pytest.raises(CyrusConfError) as info:
        load_cyrus_conf(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: cannot read {tmp_path}: Is a directory"


def test_sample_config_parses() -> None:
    conf = load_cyrus_conf(os.path.join(REPO, "conf", "cyrus.conf"))
    assert [s.name for s in conf.services] == ["imap", "imaps", "pop3", "pop3s", "lmtp",
                                               "lmtpunix", "imapresume"]
    assert conf.services[5].listen.path == "/var/lib/pillarbox/socket/lmtp"
    # the resume service listens where imapd.conf's imapresumesocket default points
    assert conf.services[6].listen.path == "/var/lib/pillarbox/socket/imapresume"
    assert conf.services[6].cmd[:2] == ("imapd", "-R")
    assert [d.name for d in conf.daemons] == ["idled"]


def test_sample_imapd_conf_is_not_cyrus_conf() -> None:
    with open(os.path.join(REPO, "conf", "imapd.conf"), encoding="utf-8") as handle:
        assert not looks_like_cyrus_conf(handle.read())


# ------------------------------------------------------------ format detection

@pytest.mark.parametrize("text, expected", [
    (FULL, True),
    ("START { }\n", True),
    ("services{\n}\n", True),
    ("# comment\n  SERVICES {\n", True),
    ("EVENTS\n{\n}\n", True),
    ("# old\n\nDAEMON\n  {\n}\n", True),
    ("configdirectory: /var/lib/pillarbox\npartition-default: /var/spool\n", False),
    ("# SERVICES {\nadmins: root\n", False),
    ("", False),
    ("tls_server_cert: /etc/pillarbox/{cert}.pem\n", False),
])
def test_looks_like_cyrus_conf(text: str, expected: bool) -> None:
    assert looks_like_cyrus_conf(text) is expected


def test_man_page_example_parses() -> None:
    with open(os.path.join(REPO, "man", "cyrus.conf.5"), encoding="utf-8") as handle:
        roff = handle.read()
    example = roff.split(".SH EXAMPLES\n.EX\n", 1)[1].split("\n.EE\n", 1)[0]
    text = example.replace("\\-", "-").replace("\\e", "\\")
    conf = parse_cyrus_conf(text, "cyrus.conf.5")
    assert [s.name for s in conf.services] == ["imap", "imaps", "pop3", "pop3s", "lmtp",
                                               "lmtpunix", "imaplocal"]
    assert [(e.name, e.period, e.at, str(e.cron) if e.cron else None) for e in conf.events] == [
        ("stats", 30, None, None), ("report", 0, None, "0 7 * * mon-fri"),
        ("cleanup", 0, (4, 0), None)]
    assert conf.daemons == (DaemonEntry("policy", ("/usr/local/sbin/policyd", "--foreground"),
                                        True, 28),)
