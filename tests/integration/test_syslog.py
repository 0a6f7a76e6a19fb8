"""Workers log to syslog when /dev/log exists, under syslog_prefix and syslog_facility."""

from __future__ import annotations

import os
import socket
import subprocess
import syslog

import pytest

from pillarbox.auth.passwd import PasswdFile
from tests.integration.conftest import BIN, read_line

DEV_LOG = "/dev/log"


@pytest.fixture
def fake_syslog():
    if os.path.exists(DEV_LOG):
        pytest.skip("a real syslog owns /dev/log here")
    if os.geteuid() != 0:
        pytest.skip("binding /dev/log needs root")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(DEV_LOG)
    sink.settimeout(5)
    try:
        yield sink
    finally:
        sink.close()
        os.unlink(DEV_LOG)


def test_imapd_logs_to_syslog_with_prefix_and_facility(fake_syslog, tmp_path):
    conf = tmp_path / "imapd.conf"
    conf.write_text(f"configdirectory: {tmp_path}\npartition-default: {tmp_path}/spool\nallowplaintext: yes\n"
                    "syslog_prefix: pillarbox\nsyslog_facility: mail\n")
    PasswdFile(str(tmp_path / "passwd")).set_password("demo", "demo", create=True, replace=False)
    env = {k: v for k, v in os.environ.items() if k != "PILLARBOX_LOG"}
    ours, theirs = socket.socketpair()
    process = subprocess.Popen([str(BIN / "imapd"), "-C", str(conf)], stdin=theirs, stdout=theirs, env=env)
    theirs.close()
    read_line(ours)
    ours.sendall(b"a LOGIN demo demo\r\nb LOGOUT\r\n")
    assert process.wait(timeout=10) == 0
    datagrams = []
    while True:
        try:
            datagrams.append(fake_syslog.recv(4096).decode())
        except socket.timeout:
            break
        if any("logout:" in d for d in datagrams):
            break
    login = next(d for d in datagrams if "login:" in d)
    priority = int(login[1:login.index(">")])
    assert priority == syslog.LOG_MAIL | syslog.LOG_INFO
    assert f"pillarbox/imapd[{process.pid}]: login: unix demo LOGIN User logged in" in login or \
        f"pillarbox/imapd[{process.pid}]: login:" in login
