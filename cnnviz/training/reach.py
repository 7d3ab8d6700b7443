"""Reaching the training service's Ray: a knock on its address, and the errors that say why not.

ray.init waits a minute or more for an address where nothing answers, so the service knocks on
the address's port first (PROBE_SECONDS at most): a live head answers at once.
"""

import socket

PROBE_SECONDS = 2.0  # a TCP connect to the cluster's address: a live head answers at once


class ServiceUnavailable(RuntimeError):
    """Ray could not be started or joined; the message says where and why."""


class HeadGone(ServiceUnavailable):
    """The head of the Ray this process joined no longer answers."""


def probe(address: str, timeout: float = PROBE_SECONDS) -> None:
    """ServiceUnavailable unless something accepts a TCP connection at address ("host:port"),
    within timeout seconds; other forms of address ("local", "auto", "ray://...") pass."""
    host, _, port = address.rpartition(":")
    if not host or "/" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or error
        raise ServiceUnavailable(f"nothing answers at {address} ({reason})") from error
