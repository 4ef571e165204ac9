"""The studio's front door: trusted hosts, same-origin writes and security headers.

The studio listens on localhost and trusts whoever can reach it, so two browser attacks
matter: a DNS-rebinding page (its own name resolving to 127.0.0.1) that reads photos and
results, and a cross-site page that posts forms or ``text/plain`` bodies to start and
delete jobs. One ASGI middleware, in front of everything else, refuses both:

* every request must name a trusted host in ``Host``: localhost, 127.0.0.1 or [::1]
  (on the server's port when it is known), plus what ``--allow-host`` adds;
* every state-changing request (POST, PUT, PATCH, DELETE) must come from the page itself:
  ``Sec-Fetch-Site`` same-origin (or none), and ``Origin`` (else ``Referer``) naming the
  host the request was sent to. Requests with none of these headers come from scripts,
  not browsers, and pass (the JSON endpoints also insist on ``application/json``, which a
  cross-site page cannot send without a preflight);
* every response carries a Content-Security-Policy without inline script or style,
  ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and a Referrer-Policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

#: Names that reach this machine only from itself.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def split_host(value: str) -> tuple[str, int | None]:
    """``"Example.org:8000"`` → ``("example.org", 8000)``; ``"[::1]:80"`` → ``("[::1]", 80)``.
    A malformed value gives ``("", None)``, which nothing trusts."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/@ \\?#"):
        return "", None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return "", None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, _, port_text = value.partition(":")
        rest = ":" + port_text if port_text or value.endswith(":") else ""
    if not rest:
        return name, None
    if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
        return "", None
    return name, int(rest[1:])


class TrustedHosts:
    """Which ``Host`` values the studio answers. Entries are names (any port when the
    server's port is unknown, else that port) or ``name:port``; ``*`` trusts every host."""

    def __init__(self, allowed: Iterable[str] = (), port: int | None = None) -> None:
        self.port = port
        self.any = False
        self.names: set[str] = set(LOOPBACK_NAMES)
        self.pairs: set[tuple[str, int]] = set()
        for entry in allowed:
            entry = entry.strip().lower()
            if entry == "*":
                self.any = True
                continue
            name, entry_port = split_host(entry)
            if not name:
                raise ValueError(f"--allow-host {entry!r}: expected a host name or address, e.g. 192.168.1.5")
            if entry_port is None:
                self.names.add(name)
            else:
                self.pairs.add((name, entry_port))

    def trusts(self, host_header: str) -> bool:
        if self.any:
            return True
        name, port = split_host(host_header)
        if not name:
            return False
        if (name, port if port is not None else 80) in self.pairs:
            return True
        if name not in self.names:
            return False
        return self.port is None or (port if port is not None else 80) == self.port


class Guard:
    """ASGI middleware: trusted Host on every request, same-origin checks on writes,
    security headers on every response (errors included)."""

    def __init__(self, app: Any, hosts: TrustedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        headers = _headers(scope)
        host = headers.get("host", "")
        if not self.hosts.trusts(host):
            await send_json(
                send_with_headers,
                421 if host else 400,
                f"untrusted Host header {host[:80]!r}: open the studio as http://localhost:<port>/ "
                "(or start it with --allow-host NAME to serve it under another name)",
            )
            return
        if scope.get("method", "GET").upper() in UNSAFE_METHODS:
            problem = cross_site_problem(headers, host)
            if problem:
                await send_json(send_with_headers, 403, f"cross-site request refused: {problem}")
                return
        await self.app(scope, receive, send_with_headers)


def cross_site_problem(headers: dict[str, str], host: str) -> str:
    """Why a state-changing request is not from the studio's own page ('' if it is)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site[:40]!r}"
    origin = headers.get("origin")
    if origin is not None:
        if origin == "null" or _netloc(origin) != host.lower():
            return f"Origin {origin[:80]!r} is not this studio"
        return ""
    referer = headers.get("referer")
    if referer is not None and _netloc(referer) != host.lower():
        return "Referer is not this studio"
    return ""


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return parts.netloc.lower()


def _headers(scope: dict) -> dict[str, str]:
    """Request headers by lower-case name (the first of repeated ones)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or []:
        name = raw_name.decode("latin-1").lower()
        out.setdefault(name, raw_value.decode("latin-1"))
    return out


async def send_json(send: Callable, status: int, message: str) -> None:
    data = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
