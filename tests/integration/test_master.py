"""master against real worker processes on loopback (the tiny echo service)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import (BIN, ECHO, alive, connect, echo_cmd, free_port, proc_children, read_line,
                                        wait_for)


def run_master_expecting_failure(master) -> subprocess.CompletedProcess:
    result = subprocess.run(master.command(), capture_output=True, text=True, timeout=20, cwd=master.root)
    assert result.returncode != 0, master.log()
    return result


def hello_pid(sock: socket.socket) -> int:
    line = read_line(sock)
    assert line.startswith("HELLO "), line
    return int(line.split()[1])


def session_pid(port: int) -> int:
    """Connect, read the worker's pid, QUIT."""
    with connect(port) as sock:
        pid = hello_pid(sock)
        sock.sendall(b"QUIT\r\n")
        assert read_line(sock) == "BYE\r\n"
    return pid


def test_prefork_workers_are_visible_by_title(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=3")
    master.start()
    workers = wait_for(lambda: len(master.workers(state="ready")) == 3 and master.workers(state="ready"),
                       what="3 ready workers")
    assert all(title == "echo: ready" for title in workers.values())
    assert len(master.workers()) == 3
    assert "master: running" in proc_title(master.pid)


def proc_title(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read().replace(b"\0", b" ").decode()


def test_worker_title_shows_peer_user_and_command(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    master.start()
    with connect(port) as sock:
        pid = hello_pid(sock)
        sock.sendall(b"LOGIN alice\r\n")
        assert read_line(sock) == "OK\r\n"
        sock.sendall(b"SOMETHING\r\n")
        read_line(sock)
        assert proc_title(pid).strip() == "echo: alice@127.0.0.1 SOMETHING"


def test_worker_recycled_after_uses(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd('-U', '2')} listen=127.0.0.1:{port} prefork=1")
    master.start()
    first, second, third = (session_pid(port) for _ in range(3))
    assert first == second
    assert third != first
    wait_for(lambda: not alive(first), what="recycled worker to exit")


def test_idle_worker_exits_after_timeout_and_is_replaced(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd('-T', '1')} listen=127.0.0.1:{port} prefork=1")
    master.start()
    original = set(wait_for(lambda: master.workers(state="ready"), what="a ready worker"))
    # -T 1 is randomised to 1..2 seconds, as Cyrus does
    wait_for(lambda: not any(alive(pid) for pid in original), timeout=8, what="idle worker to exit")
    replacement = wait_for(lambda: master.workers(state="ready"), what="replacement worker")
    assert not set(replacement) & original
    assert "terminated abnormally" not in master.log()


def test_maxchild_makes_the_next_client_wait_not_fail(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=0 maxchild=2")
    master.start()
    first, second = connect(port), connect(port)
    hello_pid(first), hello_pid(second)
    third = connect(port, timeout=1.0)          # queued in the listen backlog: connects fine
    with pytest.raises(socket.timeout):
        third.recv(64)
    assert len(master.workers()) == 2
    first.sendall(b"QUIT\r\n")
    read_line(first)
    third.settimeout(5)
    assert hello_pid(third)
    assert len(master.workers()) <= 2
    for sock in (first, second, third):
        sock.close()


def test_crashed_worker_is_replaced_and_other_sessions_survive(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=2")
    master.start()
    survivor, victim = connect(port), connect(port)
    survivor_pid, victim_pid = hello_pid(survivor), hello_pid(victim)
    victim.sendall(b"CRASH\r\n")
    assert victim.recv(64) == b""
    wait_for(lambda: not alive(victim_pid), what="crashed worker to be reaped")
    survivor.sendall(b"still there\r\n")
    assert read_line(survivor) == "ECHO still there\r\n"
    wait_for(lambda: len(master.workers(state="ready")) >= 2, what="pool refilled to prefork=2")
    wait_for(lambda: f"pid {victim_pid} in BUSY state: terminated abnormally" in master.log(),
             what="abnormal exit logged")
    assert survivor_pid in master.workers()
    survivor.close()


def test_idle_worker_killed_is_replaced(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    master.start()
    (victim,) = wait_for(lambda: master.workers(state="ready"), what="ready worker")
    os.kill(victim, signal.SIGKILL)
    replacement = wait_for(lambda: set(master.workers(state="ready")) - {victim}, what="replacement")
    assert session_pid(port) in replacement


def test_sighup_adds_and_removes_services_and_busy_sessions_finish(master):
    old_port, new_port = free_port(), free_port()
    master.write_services(f"old cmd={echo_cmd()} listen=127.0.0.1:{old_port} prefork=2")
    master.start()
    busy = connect(old_port)
    busy_pid = hello_pid(busy)
    idle = set(master.workers(state="ready"))
    master.write_services(f"new cmd={echo_cmd()} listen=127.0.0.1:{new_port} prefork=1")
    master.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in master.log(), what="reload logged")
    assert session_pid(new_port)
    with pytest.raises(ConnectionRefusedError):
        connect(old_port)
    wait_for(lambda: not any(alive(pid) for pid in idle), what="idle workers recycled")
    busy.sendall(b"after reload\r\n")
    assert read_line(busy) == "ECHO after reload\r\n"
    assert alive(busy_pid)
    busy.sendall(b"QUIT\r\n")
    read_line(busy)
    wait_for(lambda: not alive(busy_pid), what="busy worker to leave after its session")
    assert "service old removed" in master.log()
    assert "service new added" in master.log()


def test_sighup_keeps_an_unchanged_listener_open(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    master.start()
    before = session_pid(port)
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1 maxchild=5")
    master.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in master.log(), what="reload")
    wait_for(lambda: not alive(before), what="old generation recycled")
    assert session_pid(port) != before


def test_sighup_with_a_broken_file_keeps_running(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    master.start()
    master.cyrus_conf.write_text("SERVICES {\n  echo cmd=\n")
    master.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in master.log(), what="reload refused")
    assert session_pid(port)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_leaves_no_process_behind(master, signum):
    port = free_port()
    helper = master.root / "daemon.py"
    helper.write_text("import time\nwhile True: time.sleep(1)\n")
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=3",
                          daemon=f'sleeper cmd="{BIN / "python"} {helper}"')
    master.start()
    busy = connect(port)
    hello_pid(busy)
    family = master.descendants()
    assert len(family) >= 4
    master.signal(signum)
    assert master.process.wait(timeout=20) == 0
    wait_for(lambda: not any(alive(pid) for pid in family), timeout=5, what="every child gone")
    assert busy.recv(64) == b""
    with pytest.raises(ConnectionRefusedError):
        connect(port)


def test_workers_leave_when_master_is_killed(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=2")
    master.start()
    workers = set(wait_for(lambda: len(master.workers(state="ready")) == 2 and master.workers(), what="workers"))
    master.process.kill()
    master.process.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5, what="orphaned workers to exit")


CONFIG_ERRORS = [
    ("SERVICES {\n  imap cmd=\"imapd\" listen=PORT prefork=x\n}\n", "cyrus.conf:2:", "prefork"),
    ("SERVICES {\n  imap cmd=\"imapd\" listen=PORT\n", "cyrus.conf:1:", "SERVICES"),
    ("SERVICES {\n  imap cmd=\"imapd\" listen=PORT proto=udp\n}\n", "cyrus.conf:2:", "udp"),
    ("SERVICES {\n\n  imap listen=PORT\n}\n", "cyrus.conf:3:", "cmd"),
    ("BOGUS {\n}\n", "cyrus.conf:1:", "BOGUS"),
]


@pytest.mark.parametrize("text, where, mentions", CONFIG_ERRORS)
def test_cyrus_conf_errors_name_file_and_line_and_bind_nothing(master, text, where, mentions):
    port = free_port()
    master.cyrus_conf.write_text(text.replace("PORT", f"127.0.0.1:{port}"))
    result = run_master_expecting_failure(master)
    output = master.log() + result.stderr
    assert where in output and mentions in output, output
    with pytest.raises(ConnectionRefusedError):
        connect(port)


def test_imapd_conf_errors_name_file_and_line(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port}")
    master.add_imapd_conf("allowplaintext: perhaps\n")
    result = run_master_expecting_failure(master)
    assert "imapd.conf:4:" in master.log() and "allowplaintext" in master.log()


def test_a_second_service_on_a_taken_port_fails_before_serving(master):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    other = free_port()
    master.write_services(f"a cmd={echo_cmd()} listen=127.0.0.1:{other}\n"
                          f"b cmd={echo_cmd()} listen=127.0.0.1:{port}")
    result = run_master_expecting_failure(master)
    assert f"service 'b': cannot listen on 127.0.0.1:{port}" in master.log()
    with pytest.raises(ConnectionRefusedError):
        connect(other)
    taken.close()


def test_master_dash_C_accepts_the_service_table(master, monkeypatch):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    monkeypatch.setenv("PILLARBOX_CONFIG", str(master.imapd_conf))
    process = subprocess.Popen([str(BIN / "master"), "-C", str(master.cyrus_conf), "-L", str(master.logfile),
                                "-r", str(master.ready_file)], cwd=master.root)
    master.process = process
    wait_for(master.ready_file.exists, what="ready")
    assert session_pid(port)
    assert master.stop() == 0


def test_start_entries_run_to_completion_first(master):
    port = free_port()
    marker = master.root / "started"
    script = master.root / "init.py"
    script.write_text(f"import time\ntime.sleep(0.5)\nopen({str(marker)!r}, 'w').close()\n")
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1",
                          start=f'init cmd="{BIN / "python"} {script}"')
    master.start()
    assert marker.exists()
    log = master.log()
    assert log.index("START init") < log.index("master ready")


def test_failing_start_entry_stops_master(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port}", start='init cmd="false"')
    result = run_master_expecting_failure(master)
    assert "START entry 'init'" in master.log() and "exit status 1" in master.log()


def test_daemon_with_wait_is_ready_first_and_restarted_when_it_dies(master):
    port = free_port()
    script = master.root / "daemon.py"
    script.write_text("import os, time\ntime.sleep(0.3)\nos.write(3, b'ok\\r\\n')\nwhile True: time.sleep(1)\n")
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1",
                          daemon=f'helper cmd="{BIN / "python"} {script}" wait=y')
    master.start()
    log = master.log()
    assert log.index("DAEMON helper: ready") < log.index("master ready")
    (daemon_pid,) = [pid for pid, title in master.children().items() if str(script) in title]
    os.kill(daemon_pid, signal.SIGKILL)
    wait_for(lambda: [pid for pid, title in master.children().items()
                      if str(script) in title and pid != daemon_pid], what="daemon restarted")
    assert f"DAEMON helper pid {daemon_pid} exited" in master.log()


def test_periodic_event_runs_at_start(master):
    port = free_port()
    marker = master.root / "event-ran"
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port}",
                          events=f'touch cmd="touch {marker}" period=60')
    master.start()
    wait_for(marker.exists, what="event to run")
    assert "event touch: started" in master.log()


def test_maxfds_limits_the_worker(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1 maxfds=123")
    master.start()
    (pid,) = wait_for(lambda: master.workers(state="ready"), what="worker")
    limits = open(f"/proc/{pid}/limits").read()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert line.split()[3] == "123"


def test_maxforkrate_spreads_forks_out(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=8 maxforkrate=2")
    master.start(wait=False)
    time.sleep(0.8)
    assert len(master.workers()) <= 2
    wait_for(lambda: len(master.workers()) == 8, timeout=10, what="8 workers at 2 per second")


def test_a_service_that_cannot_start_is_disabled_not_respun(master):
    port = free_port()
    master.write_services(f'broken cmd="/nonexistent/worker" listen=127.0.0.1:{port} prefork=1')
    master.start()
    wait_for(lambda: "disabling until next SIGHUP" in master.log(), what="service disabled")
    count = master.log().count("terminated abnormally")
    time.sleep(1)
    assert master.log().count("terminated abnormally") == count


def test_unix_socket_service(master):
    path = master.root / "sock" / "echo"
    master.write_services(f'echo cmd={echo_cmd()} listen="{path}" prefork=1')
    master.start()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        assert hello_pid(sock)
    master.stop()
    assert not path.exists()


def test_ipv6_listener(master):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_port()
    master.write_services(f'echo cmd={echo_cmd()} listen="[::1]:{port}" prefork=1')
    try:
        master.start()
    except AssertionError:
        pytest.skip("::1 not available here")
    with socket.create_connection(("::1", port), timeout=5) as sock:
        assert hello_pid(sock)


def test_accepts_are_serialised_under_load(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=4")
    master.start()
    wait_for(lambda: len(master.workers(state="ready")) == 4, what="4 workers")
    assert (master.configdir / "socket" / "echo.lock").exists()
    sockets = [connect(port) for _ in range(12)]
    pids = {hello_pid(sock) for sock in sockets}
    assert len(pids) == 12
    for sock in sockets:
        sock.close()


def test_daemon_mode_writes_pidfile_and_stops_on_sigterm(master):
    port = free_port()
    pidfile = master.root / "master.pid"
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    result = subprocess.run(master.command("-d", "-p", str(pidfile)), timeout=20, cwd=master.root)
    assert result.returncode == 0
    wait_for(master.ready_file.exists, what="ready")
    daemon_pid = int(pidfile.read_text())
    assert alive(daemon_pid)
    assert session_pid(port)
    family = set(proc_children(daemon_pid))
    os.kill(daemon_pid, signal.SIGTERM)
    wait_for(lambda: not alive(daemon_pid) and not any(alive(p) for p in family), what="daemon to stop")
    assert not pidfile.exists()


def test_second_master_on_the_same_pidfile_refuses(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd()} listen=127.0.0.1:{port} prefork=1")
    master.start()
    other = master.root / "other.conf"
    other.write_text(f"SERVICES {{\n  echo cmd={echo_cmd()} listen=127.0.0.1:{free_port()}\n}}\n")
    result = subprocess.run([str(BIN / "master"), "-C", str(master.imapd_conf), "-M", str(other)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "another master is running" in result.stderr


def interpreter_usable_by(user: str) -> str | None:
    """A Python >= 3.11 that `user` can run with this checkout on PYTHONPATH."""
    from pathlib import Path
    repo = str(Path(__file__).parents[2])
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            probe = subprocess.run([candidate, "-c", "import sys, pillarbox; assert sys.version_info >= (3, 11)"],
                                   user=user, capture_output=True, cwd="/", env={"PYTHONPATH": repo})
        except OSError:
            continue
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_root_master_drops_to_cyrus_user():
    import pwd
    import shutil
    import tempfile
    from pathlib import Path
    from tests.integration.conftest import ECHO, Master
    python = interpreter_usable_by("nobody")
    if python is None:
        pytest.skip("no Python >= 3.11 on this machine that user nobody may run")
    nobody = pwd.getpwnam("nobody")
    root = Path(tempfile.mkdtemp(prefix="pillarbox-priv-"))
    os.chmod(root, 0o777)              # the ready file is written after the drop
    instance = Master(root)
    try:
        port = free_port()
        instance.add_imapd_conf("cyrus_user: nobody\n")
        instance.write_services(f'echo cmd="{python} {ECHO}" listen=127.0.0.1:{port} prefork=1')
        instance.configdir.mkdir()
        instance.process = subprocess.Popen([python, "-m", "master.main"] + instance.command()[1:], cwd=root,
                                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
        wait_for(instance.ready_file.exists, what="ready file")
        # this interpreter may lack setproctitle: find the worker (and template) by command line
        processes = wait_for(lambda: [pid for pid, title in instance.children().items() if str(ECHO) in title
                                      or title.startswith("echo:")], what="worker")
        assert all(os.stat(f"/proc/{pid}").st_uid == nobody.pw_uid for pid in processes)
        assert os.stat(f"/proc/{instance.pid}").st_uid == nobody.pw_uid
        assert session_pid(port)
        assert "dropped privileges to nobody" in instance.log()
        assert instance.stop() == 0
    finally:
        if instance.process and instance.process.poll() is None:
            instance.process.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_workers_are_forked_from_a_template_and_reaped_by_master(master):
    port = free_port()
    master.write_services(f"echo cmd={echo_cmd('-U', '1')} listen=127.0.0.1:{port} prefork=1")
    master.start()
    (template,) = wait_for(lambda: master.templates(), what="a template process")
    first = session_pid(port)                   # -U 1: every session needs a new worker
    second = wait_for(lambda: session_pid(port), what="a second worker")
    assert first != second
    for pid in (second,):
        status = open(f"/proc/{pid}/status").read() if alive(pid) else ""
        assert not status or f"PPid:\t{master.pid}" in status        # adopted by master
    wait_for(lambda: not alive(first), what="the recycled worker to be reaped")
    assert "forked worker failed" not in master.log()
    assert alive(template)


def test_a_cmd_without_template_support_is_execd(master):
    port = free_port()
    script = master.root / "plain.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(ECHO.parent.parent.parent)!r})
import os
os.environ.pop("PILLARBOX_TEMPLATE", None)      # a program that knows nothing of templates
sys.argv = [{str(ECHO)!r}]
exec(open({str(ECHO)!r}).read())
""")
    master.write_services(f'echo cmd="{sys.executable} {script}" listen=127.0.0.1:{port} prefork=2')
    master.start()
    wait_for(lambda: "does not fork from a template; using exec" in master.log(), what="fallback noticed")
    assert session_pid(port) and session_pid(port)
    assert not master.templates()
