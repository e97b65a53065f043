"""The TLS context the app talks to its server with (httpx ``verify=``, websockets ``ssl=``).

With IT's CA bundle, those CAs are the *only* ones trusted: a company that runs its own
CA gets a pin for free, and a certificate from any other CA is refused. Without one,
the operating system's store plus certifi's (what httpx trusts by default), so a
server with a public certificate works on any machine, frozen app included.

Without a bundle, every client in the process shares one context (``default_client_context``),
built once: each one parses certifi's whole store, tens of milliseconds of CPU that every
engine start and every enrolment used to spend again.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import certifi

from desktop.config.errors import InvalidSetting

__all__ = ["client_ssl_context", "default_client_context"]

_default_lock = threading.Lock()
_default: ssl.SSLContext | None = None


def client_ssl_context(ca_bundle: Path | None = None, *, source: Path | None = None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name.

    Args:
        ca_bundle: PEM file of the CAs to trust instead of the usual ones.
        source: the config file that named ``ca_bundle``, for the error message.

    Raises:
        InvalidSetting: ``ca_bundle`` cannot be read or holds no certificate.
    """
    if ca_bundle is None:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=certifi.where())
        return context
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidSetting(
            source or ca_bundle, "ca_bundle", f"cannot use {ca_bundle} as a PEM CA bundle: {reason}"
        ) from exc


def default_client_context() -> ssl.SSLContext:
    """The process's one context without IT's bundle, built on first use; safe from any thread."""
    global _default
    with _default_lock:
        if _default is None:
            _default = client_ssl_context()
        return _default
