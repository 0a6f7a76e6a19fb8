"""The wire between master and its workers (Cyrus's service protocol).

master execs every worker with two inherited descriptors:

* fd 3 (STATUS_FD): the write end of master's status pipe. A worker writes
  fixed-size records: (status, pid). Records are 8 bytes, far below PIPE_BUF,
  so writes from many workers never interleave.
* fd 4 (LISTEN_FD): the service's listening socket.

and a few environment variables naming the service and its accept lock.
A DAEMON entry started with wait=y instead gets a pipe on fd 3 and writes
READY_LINE when it is ready.
"""

from __future__ import annotations

import enum
import struct

STATUS_FD = 3
LISTEN_FD = 4

ENV_SERVICE = "CYRUS_SERVICE"          # the SERVICES entry name, as Cyrus's master sets it
ENV_ACCEPT_LOCK = "PILLARBOX_ACCEPT_LOCK"
ENV_CONFIG = "PILLARBOX_CONFIG"        # imapd.conf master was given, for workers without -C
ENV_LOG = "PILLARBOX_LOG"              # "syslog" or "stderr": where every process logs
ENV_TEMPLATE = "PILLARBOX_TEMPLATE"    # set: be a template that forks workers on request (fd 5)
ENV_MASTER_PID = "PILLARBOX_MASTER_PID"

TEMPLATE_FD = 5
TEMPLATE_READY = b"R"                  # template -> master: imported and ready to fork
FORK_REQUEST = b"F"                    # master -> template: fork one worker; reply: its pid (=i)
PID_RECORD = struct.Struct("=i")

READY_LINE = b"ok\r\n"

_RECORD = struct.Struct("=ii")
RECORD_SIZE = _RECORD.size


class Status(enum.IntEnum):
    AVAILABLE = 1      # idle, waiting for a connection
    UNAVAILABLE = 2    # busy with a connection, or about to exit
    CONNECTION = 3     # accepted one more connection


def encode_status(status: Status, pid: int) -> bytes:
    return _RECORD.pack(int(status), pid)


def decode_statuses(buffer: bytes) -> tuple[list[tuple[Status | int, int]], bytes]:
    """Split a read from the status pipe into records and the incomplete rest."""
    records = []
    usable = len(buffer) - len(buffer) % RECORD_SIZE
    for offset in range(0, usable, RECORD_SIZE):
        code, pid = _RECORD.unpack_from(buffer, offset)
        try:
            records.append((Status(code), pid))
        except ValueError:
            records.append((code, pid))
    return records, buffer[usable:]
