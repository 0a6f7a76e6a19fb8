"""A client connection as the protocol daemons see it: a buffered byte stream.

It sits on a socket (the usual case, also under inetd) or on a pair of pipes
(imapd run from a shell). It counts bytes, bounds line length, can switch to
TLS in place, and can tee traffic into a telemetry log.
"""

from __future__ import annotations

import os
import select
import socket
from typing import Protocol


class ConnectionClosed(Exception):
    """The peer went away (EOF or reset)."""


class ConnectionTimeout(Exception):
    """No input within the autologout timeout."""


class LineTooLong(Exception):
    """A line exceeded the bound; the rest of it up to CRLF was discarded."""

    def __init__(self, limit: int, prefix: bytes = b""):
        super().__init__(f"line longer than {limit} octets")
        self.limit = limit
        self.prefix = prefix          # the line's first bytes, e.g. to find an IMAP tag


class Tap(Protocol):
    def incoming(self, data: bytes) -> None: ...
    def outgoing(self, data: bytes) -> None: ...


_CHUNK = 65536


class Connection:
    def __init__(self, rfd: int, wfd: int | None = None, *, sock: socket.socket | None = None,
                 peer: str = "unknown", local: str = ""):
        self._sock = sock
        self._rfd = rfd
        self._wfd = rfd if wfd is None else wfd
        self._buffer = bytearray()
        self._timeout: float | None = None
        self.peer = peer
        self.local = local
        self.tls = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.tap: Tap | None = None

    @classmethod
    def from_socket(cls, sock: socket.socket) -> "Connection":
        peer, local = describe_socket(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock.fileno(), sock=sock, peer=peer, local=local)

    @classmethod
    def from_stdio(cls) -> "Connection":
        """stdin/stdout: a socket under master or inetd, pipes or a tty from a shell."""
        try:
            sock = socket.socket(fileno=os.dup(0))
        except OSError:
            return cls(0, 1, peer="stdin")
        return cls.from_socket(sock)

    @property
    def is_socket(self) -> bool:
        return self._sock is not None

    def raw_socket(self) -> socket.socket | None:
        """The socket underneath (for passing the connection to another process)."""
        return self._sock

    def set_timeout(self, seconds: float | None) -> None:
        self._timeout = seconds
        if self._sock is not None:
            self._sock.settimeout(seconds)

    def has_pending_input(self) -> bool:
        """Input already received: in our buffer, or decrypted inside the TLS layer."""
        if self._buffer:
            return True
        pending = getattr(self._sock, "pending", None)
        return bool(pending and pending() > 0)

    def fileno(self) -> int:
        return self._rfd

    def _fill(self) -> None:
        data = self._recv()
        if not data:
            raise ConnectionClosed("connection closed by peer")
        self.bytes_in += len(data)
        if self.tap is not None:
            self.tap.incoming(data)
        self._buffer += data

    def _recv(self) -> bytes:
        try:
            if self._sock is not None:
                return self._sock.recv(_CHUNK)
            if self._timeout is not None:
                ready, _, _ = select.select([self._rfd], [], [], self._timeout)
                if not ready:
                    raise ConnectionTimeout()
            return os.read(self._rfd, _CHUNK)
        except (socket.timeout, TimeoutError) as exc:
            raise ConnectionTimeout() from exc
        except OSError as exc:
            raise ConnectionClosed(str(exc)) from exc

    def readline(self, limit: int) -> bytes:
        """One line including its LF. Past `limit` octets, discard to LF and raise."""
        scanned = 0
        while True:
            newline = self._buffer.find(b"\n", scanned)
            if newline >= 0:
                if newline + 1 > limit:
                    prefix = bytes(self._buffer[:64])
                    del self._buffer[:newline + 1]
                    raise LineTooLong(limit, prefix)
                line = bytes(self._buffer[:newline + 1])
                del self._buffer[:newline + 1]
                return line
            scanned = len(self._buffer)
            if scanned > limit:
                prefix = bytes(self._buffer[:64])
                self._discard_to_newline()
                raise LineTooLong(limit, prefix)
            self._fill()

    def _discard_to_newline(self) -> None:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                del self._buffer[:newline + 1]
                return
            self._buffer.clear()
            self._fill()

    def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def write(self, data: bytes) -> None:
        """Send all of data in as few system calls as possible."""
        if self.tap is not None:
            self.tap.outgoing(data)
        try:
            if self._sock is not None:
                self._sock.sendall(data)
            else:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._wfd, view):]
        except (socket.timeout, TimeoutError) as exc:
            raise ConnectionTimeout() from exc
        except OSError as exc:
            raise ConnectionClosed(str(exc)) from exc
        self.bytes_out += len(data)

    def start_tls(self, context) -> None:
        """Switch to TLS in place. Plaintext the client pipelined after the
        STARTTLS command is discarded, as RFC 3207/2595/9051 require."""
        if self._sock is None:
            raise ConnectionClosed("TLS needs a socket, not a pipe")
        self._buffer.clear()
        timeout = self._sock.gettimeout()
        self._sock.settimeout(timeout if timeout is not None else 60)
        try:
            self._sock = context.wrap_socket(self._sock, server_side=True)
        except (OSError, ValueError) as exc:
            raise ConnectionClosed(f"TLS negotiation failed: {exc}") from exc
        self._sock.settimeout(timeout)
        self._rfd = self._wfd = self._sock.fileno()
        self.tls = True

    def tls_description(self) -> str:
        if not self.tls or self._sock is None:
            return "no"
        cipher = self._sock.cipher()
        return f"{self._sock.version()} {cipher[0] if cipher else ''}".strip()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


def host_of(peer: str) -> str:
    """The address part of a peer as describe_socket writes it ("[::1]:143" -> "::1")."""
    if peer.startswith("["):
        return peer[1:peer.index("]")]
    return peer.rsplit(":", 1)[0] if peer.count(":") == 1 else peer


def describe_socket(sock: socket.socket) -> tuple[str, str]:
    """(peer, local) as "host:port" strings; "unix" for UNIX sockets."""
    if sock.family == socket.AF_UNIX:
        try:
            return "unix", sock.getsockname() or "unix"
        except OSError:
            return "unix", "unix"
    try:
        peer = sock.getpeername()
        local = sock.getsockname()
    except OSError:
        return "unknown", ""
    return _format_address(peer), _format_address(local)


def _format_address(address) -> str:
    host, port = address[0], address[1]
    if ":" in host:
        if host.startswith("::ffff:"):
            return f"{host[7:]}:{port}"
        return f"[{host}]:{port}"
    return f"{host}:{port}"
