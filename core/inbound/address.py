"""The `[http] listen` address: `host:port`, IPv6 hosts in brackets."""

from __future__ import annotations

LISTEN_FORMAT = 'host:port, e.g. "127.0.0.1:8787" (IPv6 in brackets: "[::1]:8787")'


def parse_listen(text: str, *, any_port: bool = False) -> tuple[str, int]:
    """(host, port) of a listen address; ValueError when it is not `host:port`.

    The host is required: an API that listens on every interface by accident
    is a worse surprise than a config error. Port 0 (any free port) only
    with `any_port`: tests use it, a config file has no use for it.
    """
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"not {LISTEN_FORMAT}: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"an IPv6 host needs brackets: {text!r}")
    port = int(port_text)
    if not host or "/" in host or not (0 if any_port else 1) <= port < 65536:
        raise ValueError(f"not {LISTEN_FORMAT}: {text!r}")
    return host, port
