"""Server TLS contexts from imapd.conf (tls_server_cert, tls_server_key, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl
    from pillarbox.config import Config


class TLSConfigError(Exception):
    pass


_VERSIONS = {"tls1_0": "TLSv1", "tls1_1": "TLSv1_1", "tls1_2": "TLSv1_2", "tls1_3": "TLSv1_3"}


def tls_available(config: "Config") -> bool:
    return bool(config.getpath("tls_server_cert") and config.getpath("tls_server_key"))


def server_context(config: "Config") -> "ssl.SSLContext":
    """A server context; raises TLSConfigError naming what is missing or broken."""
    import ssl

    cert = config.getpath("tls_server_cert")
    key = config.getpath("tls_server_key")
    if not cert or not key:
        raise TLSConfigError("TLS is not configured: set tls_server_cert and tls_server_key in imapd.conf")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"cannot load tls_server_cert {cert} / tls_server_key {key}: {exc}") from exc
    _apply_versions(context, config.getlist("tls_versions"))
    ciphers = config.getstr("tls_ciphers")
    if ciphers:
        try:
            context.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise TLSConfigError(f"tls_ciphers {ciphers!r}: {exc}") from exc
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def _apply_versions(context: "ssl.SSLContext", versions: list[str]) -> None:
    import ssl

    wanted = [getattr(ssl.TLSVersion, _VERSIONS[v]) for v in versions if v in _VERSIONS]
    if wanted:
        context.minimum_version = min(wanted)
        context.maximum_version = max(wanted)
