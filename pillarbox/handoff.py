"""Passing a live client connection between processes (IDLE hibernation).

A sender connects to a UNIX socket and sends one frame: the client's socket
as SCM_RIGHTS plus a JSON description of the session. The receiver answers
ACK once it owns the connection; only then may the sender close its copy.
The frame is `PBX1 <length>\\n<json>`; the descriptor rides on its first byte.
"""

from __future__ import annotations

import json
import os
import socket
import struct

MAGIC = b"PBX1"
ACK = b"ok\n"
MAX_STATE = 64 * 1024 * 1024       # a 1M-message mailbox's UID list fits many times over
HEADER_LIMIT = 32


class HandoffError(Exception):
    """The connection could not be passed on; the sender still owns it."""


def encode_frame(state: dict) -> bytes:
    body = json.dumps(state, separators=(",", ":")).encode()
    return MAGIC + b" %d\n" % len(body) + body


def parse_header(data: bytes) -> tuple[int, int] | None:
    """(body length, header length) once the header line is complete, else None."""
    newline = data.find(b"\n", 0, HEADER_LIMIT)
    if newline < 0:
        if len(data) >= HEADER_LIMIT:
            raise HandoffError("malformed handoff header")
        return None
    magic, _, size = data[:newline].partition(b" ")
    if magic != MAGIC or not size.isdigit() or int(size) > MAX_STATE:
        raise HandoffError(f"malformed handoff header {data[:newline][:HEADER_LIMIT]!r}")
    return int(size), newline + 1


def decode_body(body: bytes) -> dict:
    try:
        state = json.loads(body)
    except ValueError as exc:
        raise HandoffError(f"handoff state is not JSON: {exc}") from None
    if not isinstance(state, dict):
        raise HandoffError("handoff state is not an object")
    return state


def send_connection(channel: socket.socket, client: socket.socket, state: dict) -> None:
    """Send the frame and the client's descriptor on a connected UNIX socket."""
    frame = encode_frame(state)
    try:
        sent = socket.send_fds(channel, [frame], [client.fileno()])
        if sent < len(frame):
            channel.sendall(frame[sent:])
    except OSError as exc:
        raise HandoffError(f"cannot send the connection: {exc}") from exc


def wait_ack(channel: socket.socket) -> None:
    try:
        reply = channel.recv(len(ACK))
    except OSError as exc:
        raise HandoffError(f"no acknowledgement: {exc}") from exc
    if reply != ACK:
        raise HandoffError(f"receiver refused the connection ({reply!r})")


def hand_over(path: str, client: socket.socket, state: dict, timeout: float = 5.0) -> None:
    """Give `client` and its session state to whoever listens on `path`;
    returns once the receiver has it (the caller then closes its copy)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.settimeout(timeout)
        try:
            channel.connect(path)
        except OSError as exc:
            raise HandoffError(f"cannot connect to {path}: {exc}") from exc
        send_connection(channel, client, state)
        wait_ack(channel)


def check_peer(channel: socket.socket) -> None:
    """Only our own user (or root) may hand us a session: the description is trusted
    as a logged-in user, so a socket reachable by others must not be enough."""
    pid, uid, _ = struct.unpack("3i", channel.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                         struct.calcsize("3i")))
    if uid not in (os.geteuid(), 0):
        raise HandoffError(f"refused a session from pid {pid} uid {uid}: not uid {os.geteuid()} or root")


def receive_connection(channel: socket.socket, timeout: float = 5.0) -> tuple[socket.socket, dict]:
    """Read one frame from a connected UNIX socket and acknowledge it."""
    check_peer(channel)
    channel.settimeout(timeout)
    data = b""
    fds: list[int] = []
    try:
        while (header := parse_header(data)) is None or len(data) < sum(header):
            chunk, more_fds, _, _ = socket.recv_fds(channel, 1 << 16, 4)
            fds += more_fds
            if not chunk:
                raise HandoffError("sender closed the channel mid-frame")
            data += chunk
        size, start = header
        state = decode_body(data[start:start + size])
        if len(fds) != 1:
            raise HandoffError(f"expected one descriptor, got {len(fds)}")
        channel.sendall(ACK)
        return socket.socket(fileno=fds.pop()), state
    except OSError as exc:
        raise HandoffError(f"receiving a connection failed: {exc}") from exc
    finally:
        for fd in fds:
            socket.close(fd)
