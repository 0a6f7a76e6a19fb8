"""Passing a client connection and its session state over a UNIX socket."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from pillarbox.handoff import (ACK, HEADER_LIMIT, MAGIC, MAX_STATE, HandoffError, decode_body, encode_frame,
                               hand_over, parse_header, receive_connection, send_connection, wait_ack)

STATE = {"version": 1, "session": {"id": "abc", "user": "alice"}, "uids": "1:3,5"}


@pytest.fixture
def channel():
    """(sender's end, receiver's end) of the UNIX channel."""
    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with sender, receiver:
        yield sender, receiver


@pytest.fixture
def client():
    """(server's end, the remote client's end) of the connection being handed over."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        theirs.settimeout(5)
        yield ours, theirs


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_round_trip_delivers_state_and_a_working_descriptor(channel, client):
    sender, receiver = channel
    ours, theirs = client
    send_connection(sender, ours, STATE)
    received, state = receive_connection(receiver)
    wait_ack(sender)
    ours.close()                         # the sender lets go of its copy once acknowledged
    with received:
        assert state == STATE
        received.sendall(b"* OK from the new owner\r\n")
        assert theirs.recv(100) == b"* OK from the new owner\r\n"
        theirs.sendall(b"a DONE\r\n")
        assert received.recv(100) == b"a DONE\r\n"


def test_receiver_acknowledges(channel, client):
    sender, receiver = channel
    send_connection(sender, client[0], STATE)
    received, _ = receive_connection(receiver)
    received.close()
    assert sender.recv(16) == ACK


def test_large_state_arrives_in_many_chunks(channel, client):
    sender, receiver = channel
    state = {"uids": "x" * (4 << 20)}
    result = {}

    def receive():
        result["socket"], result["state"] = receive_connection(receiver)

    thread = threading.Thread(target=receive)
    thread.start()
    send_connection(sender, client[0], state)
    wait_ack(sender)
    thread.join(5)
    result["socket"].close()
    assert result["state"] == state


def test_hand_over_through_a_listening_path(tmp_path, client):
    path = str(tmp_path / "idle")
    result = {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)

        def serve():
            channel, _ = listener.accept()
            with channel:
                result["socket"], result["state"] = receive_connection(channel)

        thread = threading.Thread(target=serve)
        thread.start()
        hand_over(path, client[0], STATE, timeout=5)
        thread.join(5)
    with result["socket"] as received:
        assert result["state"] == STATE
        received.sendall(b"hello")
        assert client[1].recv(10) == b"hello"


def test_hand_over_to_a_path_nobody_listens_on(tmp_path, client):
    path = str(tmp_path / "nobody")
    with pytest.raises(HandoffError, match="nobody"):
        hand_over(path, client[0], STATE, timeout=1)


@pytest.mark.parametrize("reply", [b"", b"no\n", b"NO!"])
def test_wait_ack_refuses_anything_but_ok(channel, reply):
    sender, receiver = channel
    if reply:
        receiver.sendall(reply)
    else:
        receiver.shutdown(socket.SHUT_WR)
    with pytest.raises(HandoffError):
        wait_ack(sender)


def test_wait_ack_times_out(channel):
    sender, _ = channel
    sender.settimeout(0.05)
    with pytest.raises(HandoffError):
        wait_ack(sender)


def test_encode_frame_header_then_compact_json():
    assert encode_frame({"a": [1, 2]}) == MAGIC + b' 11\n{"a":[1,2]}'


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", None),
        (b"PBX1", None),
        (b"PBX1 12", None),
        (b"PBX1 0\n", (0, 7)),
        (b'PBX1 2\n{}', (2, 7)),
        (b"PBX1 5\n{\"a\"", (5, 7)),
        (b"PBX1 %d\n" % MAX_STATE, (MAX_STATE, len(b"PBX1 %d\n" % MAX_STATE))),
    ],
)
def test_parse_header(data, expected):
    assert parse_header(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"PBX2 5\n{}",
        b"GET / HTTP/1.1\r\n",
        b"PBX1 x\n",
        b"PBX1 -1\n",
        b"PBX1 \n",
        b"PBX1 5 \n",
        b"PBX15\n",
        b"PBX1 %d\n" % (MAX_STATE + 1),
        b"PBX1 " + b"1" * HEADER_LIMIT,                 # no newline within the limit
        b"PBX1 " + b"0" * HEADER_LIMIT + b"5\n",        # newline too late
    ],
)
def test_parse_header_refuses(data):
    with pytest.raises(HandoffError):
        parse_header(data)


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"42", b"null"])
def test_decode_body_refuses(body):
    with pytest.raises(HandoffError):
        decode_body(body)


def test_decode_body_object():
    assert decode_body(b'{"a": 1}') == {"a": 1}


def test_frame_without_descriptor_is_refused(channel):
    sender, receiver = channel
    sender.sendall(encode_frame(STATE))
    with pytest.raises(HandoffError, match="descriptor"):
        receive_connection(receiver, timeout=1)
    sender.settimeout(0.05)
    with pytest.raises(TimeoutError):
        sender.recv(16)                   # no ACK


@pytest.mark.parametrize("frame, descriptors, then_close, error", [
    (encode_frame(STATE), 2, False, "descriptor"),                 # one too many: both closed
    (encode_frame(STATE)[:10], 1, True, "mid-frame"),             # the sender went away
    (MAGIC + b" 3\n[1]", 1, False, "not an object"),
    (b"HELLO 3\n{}\n", 1, False, "header"),
])
def test_a_refused_frame_leaks_no_descriptor(channel, client, frame, descriptors, then_close, error):
    sender, receiver = channel
    socket.send_fds(sender, [frame], [end.fileno() for end in client[:descriptors]])
    if then_close:
        sender.shutdown(socket.SHUT_WR)
    before = open_fds()
    with pytest.raises(HandoffError, match=error):
        receive_connection(receiver, timeout=1)
    assert open_fds() == before


def test_silent_sender_times_out(channel):
    _, receiver = channel
    with pytest.raises(HandoffError):
        receive_connection(receiver, timeout=0.05)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_a_session_from_another_user_is_refused(client):
    """The resume socket may be reachable by anyone: only our own uid (or root) may hand us a session."""
    import shutil
    import tempfile
    directory = tempfile.mkdtemp(prefix="pillarbox-handoff-")     # pytest's tmp_path is root-only
    os.chmod(directory, 0o777)
    path = os.path.join(directory, "resume")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        os.chmod(path, 0o777)
        listener.listen(1)
        child = os.fork()
        if child == 0:                      # a local user forging a session
            try:
                os.setgid(65534)
                os.setuid(65534)
                hand_over(path, client[0], STATE, timeout=5)
            finally:
                os._exit(0)
        try:
            channel, _ = listener.accept()
            with channel, pytest.raises(HandoffError, match="uid 65534"):
                receive_connection(channel)
        finally:
            os.waitpid(child, 0)
            shutil.rmtree(directory)
