"""`painterly serve`: the web studio on a local port (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from pathlib import Path

from painterly.errors import ConfigError, MissingDependencyError

DEFAULT_DATA_DIR = Path.home() / ".painterly" / "studio"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="the web studio: upload, tune, watch it paint, download",
        description=(
            "Serve the web studio. Jobs, uploads and results live in --data-dir (SQLite + files) "
            "and survive restarts. Listens on localhost only unless --host says otherwise."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on [default: 127.0.0.1]")
    parser.add_argument("--port", type=int, default=8000, help="port [default: 8000]")
    parser.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA_DIR),
        help=f"studio records and images [default: {DEFAULT_DATA_DIR}]",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=20.0, help="largest accepted upload in MiB [default: 20]"
    )
    # --- issue #15: trusted hosts ---
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to this host name or address (repeatable), for "
        "serving on a LAN on purpose; localhost, 127.0.0.1 and [::1] are always trusted",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    if not args.max_upload_mb > 0:
        raise ConfigError("--max-upload-mb must be > 0")
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("the web studio needs uvicorn: pip install 'painterly[web]'") from None
    from painterly.web.app import create_app
    from painterly.web.guard import TrustedHosts

    try:
        TrustedHosts(args.allow_host)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    _check_can_listen(args.host, args.port)
    allowed = list(args.allow_host)
    if not _is_loopback(args.host) and args.host not in ("0.0.0.0", "::"):
        allowed.append(args.host)  # the address it was told to listen on is its own name
    from painterly.web.store import StoreError

    try:
        app = create_app(
            args.data_dir,
            max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
            allowed_hosts=allowed,
            port=args.port,
        )
    except StoreError as exc:
        raise ConfigError(f"--data-dir: {exc}") from None
    if args.host in ("0.0.0.0", "::") and not args.allow_host:
        print("painterly: note: only http://localhost:PORT/ is answered; add --allow-host NAME for others")
    if not _is_loopback(args.host):
        print(f"painterly: warning: listening on {args.host}: anyone who can reach it can run jobs")
    print(f"painterly studio: http://{args.host}:{args.port}/  (data in {Path(args.data_dir).expanduser()})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=3)
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """Fail with one line (not a server log) when the address is taken or not ours."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
