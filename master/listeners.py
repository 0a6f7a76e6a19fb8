"""Listening sockets for SERVICES entries: TCP (v4/v6) and UNIX paths."""

from __future__ import annotations

import os
import socket
import stat

from master.cyrusconf import ListenAddress, ServiceEntry

DEFAULT_BACKLOG = 32


class ListenError(Exception):
    pass


def listener_key(entry: ServiceEntry) -> tuple:
    """Two entries with equal keys can share one open socket across a reload."""
    address = entry.listen
    return (address.kind, address.host, address.port, address.path, entry.proto)


def open_listener(entry: ServiceEntry, backlog: int = DEFAULT_BACKLOG) -> socket.socket:
    try:
        if entry.listen.kind == "unix":
            return _open_unix(entry.listen.path, backlog)
        return _open_inet(entry.listen, entry.proto, backlog)
    except OSError as exc:
        raise ListenError(f"service '{entry.name}': cannot listen on {entry.listen}: {exc.strerror or exc}") from exc


def _open_inet(address: ListenAddress, proto: str, backlog: int) -> socket.socket:
    family = {"tcp4": socket.AF_INET, "tcp6": socket.AF_INET6}.get(proto, socket.AF_UNSPEC)
    host = address.host
    if host is None:
        host = "0.0.0.0" if family == socket.AF_INET else "::"
        if family == socket.AF_UNSPEC and not socket.has_ipv6:
            host = "0.0.0.0"
    infos = socket.getaddrinfo(host, address.port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    if not infos:
        raise OSError(f"no address for {host}")
    family, socktype, protocol, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        # a wildcard with proto=tcp takes v4 too; tcp6 means v6 only
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if proto == "tcp6" else 0)
    return _bind_and_listen(sock, sockaddr, backlog)


def _open_unix(path: str, backlog: int) -> socket.socket:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _remove_stale_socket(path)
    # like Cyrus: anyone who can reach the directory may connect (an MTA to LMTP)
    return _bind_and_listen(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), path, backlog,
                            after_bind=lambda: os.chmod(path, 0o777))


def _bind_and_listen(sock: socket.socket, address, backlog: int, after_bind=None) -> socket.socket:
    try:
        sock.bind(address)
        if after_bind is not None:
            after_bind()
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)          # nobody listens: left over from a crash
        return
    finally:
        probe.close()
    raise OSError(f"another process is already listening on {path}")


def close_listener(sock: socket.socket, entry: ServiceEntry) -> None:
    sock.close()
    if entry.listen.kind == "unix":
        try:
            os.unlink(entry.listen.path)
        except OSError:
            pass
