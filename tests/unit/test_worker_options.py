import pytest

from pillarbox.service import (DEFAULT_IDLE_TIMEOUT, DEFAULT_USES, ServiceSpec, UsageError, parse_options)

SPEC = ServiceSpec("imapd", serve=lambda session: None, usage="[MAILDIR]")
LMTP = ServiceSpec("lmtpd", serve=lambda session: None, has_password=False, extra_options="a")


@pytest.mark.parametrize("argv, expected", [
    ([], dict(config_path=None, uses=DEFAULT_USES, idle_timeout=DEFAULT_IDLE_TIMEOUT, tls_on_connect=False,
              ssf=None, debug=False, no_password=False, args=[])),
    (["-C", "/etc/x.conf", "-U", "30", "-T", "5"], dict(config_path="/etc/x.conf", uses=30, idle_timeout=5)),
    (["-s", "-p", "256", "-D", "-N"], dict(tls_on_connect=True, ssf=256, debug=True, no_password=True)),
    (["-U", "0"], dict(uses=0)),
    (["./Maildir"], dict(args=["./Maildir"])),
])
def test_worker_options(argv, expected):
    options = parse_options(SPEC, argv)
    for name, value in expected.items():
        assert getattr(options, name) == value, name


@pytest.mark.parametrize("spec, argv, message", [
    (SPEC, ["-U", "x"], "-U requires a number"),
    (SPEC, ["-T", "-5"], "must not be negative"),
    (SPEC, ["-Q"], "not recognized"),
    (LMTP, ["-N"], "not recognized"),          # lmtpd has no password to bypass
    (SPEC, ["-C"], "requires argument"),
])
def test_worker_option_errors(spec, argv, message):
    with pytest.raises(UsageError, match=message):
        parse_options(spec, argv)


def test_daemon_specific_flags_are_kept():
    assert parse_options(LMTP, ["-a"]).extra == {"-a": ""}


@pytest.mark.parametrize("name, service", [("imapd", "imap"), ("pop3d", "pop3"), ("lmtpd", "lmtp"),
                                           ("echo", "echo")])
def test_default_service_name_for_overrides(name, service):
    assert ServiceSpec(name, serve=lambda s: None).default_service_name == service
