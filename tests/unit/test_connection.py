import socket
import threading

import pytest

from pillarbox.connection import Connection, ConnectionClosed, ConnectionTimeout, LineTooLong, describe_socket


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, Connection.from_socket(theirs)
    ours.close()


@pytest.mark.parametrize("sent, lines", [
    (b"a\r\nb\r\n", [b"a\r\n", b"b\r\n"]),
    (b"bare lf\nnext\r\n", [b"bare lf\n", b"next\r\n"]),
    (b"x" * 100 + b"\r\n", [b"x" * 100 + b"\r\n"]),
])
def test_readline(pair, sent, lines):
    ours, conn = pair
    ours.sendall(sent)
    assert [conn.readline(1000) for _ in lines] == lines
    assert conn.bytes_in == len(sent)


@pytest.mark.parametrize("size", [11, 100, 300_000])
def test_overlong_line_is_discarded_through_its_end(pair, size):
    ours, conn = pair
    sender = threading.Thread(target=ours.sendall, args=(b"y" * size + b"\r\nnext\r\n",))
    sender.start()
    with pytest.raises(LineTooLong):
        conn.readline(10)
    assert conn.readline(10) == b"next\r\n"
    sender.join()


def test_read_exact_and_write(pair):
    ours, conn = pair
    ours.sendall(b"12345")
    assert conn.read_exact(3) == b"123" and conn.read_exact(2) == b"45"
    conn.write(b"reply\r\n")
    assert ours.recv(100) == b"reply\r\n" and conn.bytes_out == 7


def test_eof_and_timeout(pair):
    ours, conn = pair
    conn.set_timeout(0.05)
    with pytest.raises(ConnectionTimeout):
        conn.readline(100)
    ours.close()
    with pytest.raises(ConnectionClosed):
        conn.readline(100)


def test_tap_sees_both_directions(pair):
    ours, conn = pair
    seen = []

    class Tap:
        def incoming(self, data): seen.append(("<", data))
        def outgoing(self, data): seen.append((">", data))

    conn.tap = Tap()
    ours.sendall(b"in\r\n")
    conn.readline(100)
    conn.write(b"out\r\n")
    assert seen == [("<", b"in\r\n"), (">", b"out\r\n")]


def test_tcp_peer_description_and_nodelay():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    conn = Connection.from_socket(accepted)
    assert conn.peer == "127.0.0.1:%d" % client.getsockname()[1]
    assert conn.local == "127.0.0.1:%d" % server.getsockname()[1]
    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    for sock in (client, accepted, server):
        sock.close()


def test_unix_peer_description():
    ours, theirs = socket.socketpair()
    assert describe_socket(theirs)[0] == "unix"
    ours.close(), theirs.close()
