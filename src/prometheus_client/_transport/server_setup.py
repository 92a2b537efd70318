"""Setting up the built-in server: the address family to listen on and the TLS context (mutual TLS
when client certificates are required)."""

from __future__ import annotations

import socket
import ssl
from typing import Optional, Tuple


def _get_best_family(address: Optional[str], port: int) -> Tuple[socket.AddressFamily, str]:
    infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, sockaddr = next(iter(infos))
    return family, str(sockaddr[0])


def _get_ssl_ctx(
    certfile: str,
    keyfile: str,
    protocol: int,
    cafile: Optional[str] = None,
    capath: Optional[str] = None,
    client_auth_required: bool = False,
    tls_min_version: Optional[ssl.TLSVersion] = None,
    tls_max_version: Optional[ssl.TLSVersion] = None,
) -> ssl.SSLContext:
    """The server's TLS context (the reference module's name and signature)."""
    ctx = ssl.SSLContext(protocol)
    if cafile is not None or capath is not None:
        try:
            ctx.load_verify_locations(cafile, capath)
        except OSError as exc:
            raise exc.__class__(
                f"Cannot load CA certificate chain from file {cafile!r} or directory {capath!r}: {exc}"
            ) from exc
    else:
        try:
            ctx.load_default_certs(purpose=ssl.Purpose.CLIENT_AUTH)
        except OSError as exc:
            raise exc.__class__(f"Cannot load default CA certificate chain: {exc}") from exc
    if client_auth_required:
        ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_cert_chain(certfile=certfile, keyfile=keyfile)
    except OSError as exc:
        raise exc.__class__(
            f"Cannot load server certificate file {certfile!r} or its private key file {keyfile!r}: {exc}"
        ) from exc
    if tls_min_version is not None:
        ctx.minimum_version = tls_min_version
    if tls_max_version is not None:
        ctx.maximum_version = tls_max_version
    return ctx
