"""What the servers cost: their process trees, CPU time and PSS, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (field 3, state, is index 0)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()


def parent_map() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat_fields(int(entry))[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def tree(root: int) -> list[int]:
    """root and all its descendants that exist now."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_map().items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier.extend(children.get(pid, ()))
    return found


def cpu_seconds(root: int) -> float:
    """CPU (user + system) used so far by root's whole tree, exited children included.

    Each live process counts its own time plus that of the children it has
    reaped (cutime, cstime), so every process that ever ran is counted once."""
    ticks = 0
    for pid in tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])      # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(root: int) -> tuple[int, int]:
    """(total PSS in KiB, number of processes) of root's tree."""
    pids = tree(root)
    return sum(pss_kib(pid) for pid in pids), len(pids)


def alive(pid: int) -> bool:
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def processes_in(directory: str) -> list[int]:
    """Live processes whose working directory is inside directory (a server's
    processes all start there or below: a sweep for any that escaped their tree)."""
    found = []
    prefix = directory.rstrip("/") + "/"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (cwd + "/").startswith(prefix) and alive(int(entry)):
            found.append(int(entry))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine, kernel threads included, has run
    (user, nice and system time of /proc/stat: not interrupts, not the hypervisor's steal)."""
    user, nice, system = (int(value) for value in Path("/proc/stat").read_text().split()[1:4])
    return (user + nice + system) / CLOCK_TICKS
