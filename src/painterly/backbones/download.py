"""`painterly models download NAME`: fetch a registry file over HTTP(S), resumably.

The bytes go to ``<models>/<file>.part``. An interrupted download keeps the part and the
next call asks the server for the rest (``Range: bytes=N-``); a server that answers the
whole file instead (200) starts it again. The finished file's SHA-256 is checked against
the registry before anything uses it: a mismatch deletes the part and is refused. Only then
are its keys and shapes checked and the file installed like ``models add``.

Runs only when a user asks for it: no run, test or import downloads anything by itself.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from painterly.backbones.registry import entries
from painterly.backbones.store import (
    ChecksumError,
    InstalledModel,
    Registry,
    _install,
    default_models_dir,
    find_installed,
    sha256_file,
)
from painterly.errors import InputError, OutputError, PainterlyError

CHUNK = 1 << 16


class DownloadError(PainterlyError):
    """The download stopped (network, server); what arrived is kept for the next try."""


@dataclass(frozen=True)
class DownloadProgress:
    """Bytes so far (``done``) of ``total`` (None when the server does not say), and where
    this attempt started (``resumed_from`` > 0 when it carried on a part)."""

    name: str
    done: int
    total: int | None
    resumed_from: int = 0


DownloadCallback = Callable[[DownloadProgress], None]


def download_model(
    name: str,
    callback: DownloadCallback | None = None,
    *,
    models_dir: Path | None = None,
    registry: Registry | None = None,
    timeout: float = 30.0,
) -> InstalledModel:
    """Download the registry file ``name`` (resuming a part), verify it, install it."""
    entry = next((k for k in entries(registry) if k.name == name), None)
    if entry is None:
        raise InputError(f"unknown model {name!r}; known: {', '.join(k.name for k in entries(registry))}")
    models_dir = models_dir or default_models_dir()
    have = find_installed(entry.name, models_dir)
    if have is not None and have.known == entry.name and have.path(models_dir).is_file():
        return have
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{models_dir}: cannot create the models folder ({exc.strerror})") from None
    part = models_dir / f"{entry.filename}.part"
    _fetch(entry.url, part, name, callback, timeout)
    digest = sha256_file(part)
    if not entry.matches(digest):
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{entry.url}: downloaded file has SHA-256 {digest[:16]}…, not the registry's {entry.sha256}…; "
            "deleted and refused (try again; if it persists the server is not serving the official file)"
        )
    try:
        return _install(
            part, digest, entry.backbone, entry.format, entry.name, entry.url, models_dir, registry,
            move=True, official_name=entry.filename,
        )  # fmt: skip
    except InputError:
        part.unlink(missing_ok=True)  # right checksum but unusable: keeping it would only repeat this
        raise


def _fetch(url: str, part: Path, name: str, callback: DownloadCallback | None, timeout: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url}: only http and https downloads are supported")
    start = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "painterly"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the part is already whole
            return
        raise DownloadError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"{url}: cannot connect ({reason}); check the address and your connection"
        ) from None
    with response:
        if start and response.status != 206:
            start = 0  # the server ignored the range: take the whole file again
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        done = start
        try:
            with open(part, "ab" if start else "wb") as handle:
                if callback:
                    callback(DownloadProgress(name, done, total, start))
                while block := response.read(CHUNK):
                    handle.write(block)
                    done += len(block)
                    if callback:
                        callback(DownloadProgress(name, done, total, start))
        except (OSError, http.client.HTTPException) as exc:  # a reset, a timeout, IncompleteRead
            raise _interrupted(url, done, total, exc) from None
    if total is not None and done < total:
        raise _interrupted(url, done, total, None)


def _interrupted(url: str, done: int, total: int | None, exc: BaseException | None) -> DownloadError:
    of = f" of {total}" if total else ""
    why = f" ({type(exc).__name__})" if exc else ""
    return DownloadError(
        f"{url}: download interrupted at {done}{of} bytes{why}; run the same command again to resume"
    )
