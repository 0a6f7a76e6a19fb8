"""`make run` as a new user meets it: the demo server on its fixed ports, Ctrl-C stops it all."""

from __future__ import annotations

import imaplib
import os
import poplib
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import alive, read_line, wait_for

REPO = Path(__file__).resolve().parents[2]
PORTS = {"imap": 1143, "imaps": 1993, "pop3": 1110, "pop3s": 1995, "lmtp": 2424}


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def group_members(pgid: int) -> set[int]:
    members = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.add(int(entry))
    return members


@pytest.fixture
def make_run():
    busy = [name for name, port in PORTS.items() if port_in_use(port)]
    if busy:
        pytest.skip(f"make run's ports are taken ({', '.join(busy)}): is a `make run` already going?")
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        wait_for(lambda: port_in_use(PORTS["imap"]) or process.poll() is not None, timeout=120,
                 what="make run to listen on 1143")
        assert process.poll() is None, process.stdout.read()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_serves_demo_and_ctrl_c_stops_everything(make_run):
    client = imaplib.IMAP4("127.0.0.1", PORTS["imap"])
    client.login("demo", "demo")
    client.logout()
    pop = poplib.POP3("127.0.0.1", PORTS["pop3"])
    pop.user("demo")
    pop.pass_("demo")
    pop.quit()
    with socket.create_connection(("127.0.0.1", PORTS["lmtp"]), timeout=5) as sock:
        assert read_line(sock).startswith("220 ")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(REPO / "var" / "socket" / "lmtp"))
        assert read_line(sock).startswith("220 ")
    for port in (PORTS["imaps"], PORTS["pop3s"]):
        assert port_in_use(port)
    members = group_members(make_run.pid)
    assert len(members) >= 5           # make, master and its preforked workers
    os.killpg(make_run.pid, signal.SIGINT)      # what Ctrl-C in a terminal does
    make_run.wait(timeout=30)
    wait_for(lambda: not group_members(make_run.pid) and not any(alive(p) for p in members), timeout=15,
             what="every process of make run to exit")
    output = make_run.stdout.read()
    assert "user: demo" in output and "password: demo" in output
    assert "Traceback" not in output
    for port in PORTS.values():
        assert not port_in_use(port)
