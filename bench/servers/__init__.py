"""The two servers under test, each started privately on loopback ports."""

from bench.servers.base import Ports, Server, ServerError
from bench.servers.dovecot_server import DovecotServer
from bench.servers.pillarbox_server import PillarboxServer

__all__ = ["DovecotServer", "PillarboxServer", "Ports", "Server", "ServerError"]
