"""The studio's memory: SQLite records plus image files in one data folder.

Layout of ``data_dir``::

    studio.sqlite3          uploads and jobs (settings, status, losses, timings)
    uploads/<id>.png        every accepted upload, decoded and re-encoded by us
    jobs/<id>/latest.png    the newest intermediate image while a job runs
    jobs/<id>/result.png    the picture a job ended with (also for a cancelled job)
    jobs/<id>/thumb.jpg     the gallery thumbnail

Every file name is made here from a random hex id; nothing a client sends ever
becomes part of a path. The database is opened per call (SQLite is fast at that
and it keeps the worker thread and the request threads apart).

The data is private: folders 0700, files 0600 (photos are personal). A disk that is
full or a folder that cannot be written is a :class:`StoreError` (one line, no
half-made job folder left behind), never a stray OSError or sqlite3 error.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from painterly.errors import PainterlyError
from painterly.images import atomic_write_text, save_image

JobStatus = Literal["queued", "running", "finished", "stopped", "interrupted", "diverged", "failed"]
#: States a job never leaves.
TERMINAL = frozenset({"finished", "stopped", "interrupted", "diverged", "failed"})
ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
THUMB_SIZE = 256
#: Permissions of the studio's folders and files (issue #15: uploads were world-readable).
DIR_MODE, FILE_MODE = 0o700, 0o600


class StoreError(PainterlyError):
    """The data folder cannot be written (disk full, read-only, gone)."""


def describe_os_error(exc: BaseException, what: str) -> str:
    """One line for a failed write, saying 'disk full' when that is what it was."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{what}: the disk is full"
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
        return f"{what}: the disk is full"
    if isinstance(exc, OSError):
        return f"{what}: {exc.strerror or exc}"
    return f"{what}: {exc}"


def make_private_dir(folder: Path) -> None:
    """Create a folder (and parents) that only the owner can enter."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, DIR_MODE)


SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    content TEXT NOT NULL,
    styles TEXT NOT NULL,
    request TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    losses TEXT NOT NULL DEFAULT '{}',
    timings TEXT NOT NULL DEFAULT '{}',
    message TEXT NOT NULL DEFAULT '',
    has_result INTEGER NOT NULL DEFAULT 0
);
"""


def new_id() -> str:
    """A server-made id: 16 random hex digits (also the file name stem)."""
    return secrets.token_hex(8)


def valid_id(value: str) -> bool:
    """True for ids this store could have made (checked before any path is built)."""
    return bool(ID_PATTERN.match(value))


class Store:
    """SQLite records and files of one studio data folder."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir).expanduser().resolve()
        self.uploads_dir = self.root / "uploads"
        self.jobs_dir = self.root / "jobs"
        self.db_path = self.root / "studio.sqlite3"
        self._lock = threading.Lock()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"data folder {self.root}: is a file, not a folder")
        try:
            if not self.root.is_dir():
                make_private_dir(self.root)  # a folder the user already had keeps its mode
            for folder in (self.uploads_dir, self.jobs_dir):
                make_private_dir(folder)
            # Made 0600 before SQLite opens it (its journal files copy the database's mode).
            os.close(os.open(self.db_path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
            os.chmod(self.db_path, FILE_MODE)
            with self._db() as db:
                db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(describe_os_error(exc, f"data folder {self.root}")) from None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.db_path, timeout=10)
            db.row_factory = sqlite3.Row
            try:
                with db:
                    yield db
            finally:
                db.close()

    # uploads -----------------------------------------------------------------

    def add_upload(self, image: Image.Image, label: str) -> dict[str, Any]:
        """Keep a decoded image under a new id (PNG, whatever the client sent)."""
        upload_id = new_id()
        path = self.upload_path(upload_id)
        try:
            save_image(image, path, mode=FILE_MODE)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, "cannot keep the upload")) from None
        record = {
            "id": upload_id,
            "label": label[:80],
            "width": image.width,
            "height": image.height,
            "created": time.time(),
        }
        try:
            with self._db() as db:
                db.execute("INSERT INTO uploads VALUES (:id, :label, :width, :height, :created)", record)
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise StoreError(describe_os_error(exc, "cannot keep the upload")) from None
        return record

    def upload_path(self, upload_id: str) -> Path:
        if not valid_id(upload_id):
            raise KeyError(upload_id)
        return self.uploads_dir / f"{upload_id}.png"

    def get_upload(self, upload_id: str) -> dict[str, Any] | None:
        if not valid_id(upload_id):
            return None
        with self._db() as db:
            row = db.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return dict(row) if row and self.upload_path(upload_id).is_file() else None

    # jobs --------------------------------------------------------------------

    def add_job(
        self,
        mode: str,
        content: str,
        styles: list[str],
        request: dict[str, Any],
        config: dict[str, Any],
        total: int = 1,
    ) -> dict[str, Any]:
        job_id = new_id()
        folder = self.job_dir(job_id)
        try:
            folder.mkdir(mode=DIR_MODE)
            self._insert_job(job_id, mode, content, styles, request, config, total)
        except (OSError, sqlite3.Error) as exc:
            # No half-made job: neither an empty folder nor a record without one.
            if folder.is_dir():
                for path in folder.iterdir():
                    path.unlink(missing_ok=True)
                folder.rmdir()
            raise StoreError(describe_os_error(exc, "cannot create the job")) from None
        job = self.get_job(job_id)
        assert job is not None
        return job

    def _insert_job(
        self,
        job_id: str,
        mode: str,
        content: str,
        styles: list[str],
        request: dict[str, Any],
        config: dict[str, Any],
        total: int,
    ) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, mode, status, content, styles, request, config, created, total_steps)"
                " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    mode,
                    content,
                    json.dumps(styles),
                    json.dumps(request),
                    json.dumps(config),
                    time.time(),
                    total,
                ),
            )

    def update_job(self, job_id: str, **fields: Any) -> None:
        """Change some columns; dicts are stored as JSON."""
        if not fields:
            return
        values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
        columns = ", ".join(f"{name} = :{name}" for name in values)
        with self._db() as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE id = :id", {**values, "id": job_id})

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        if not valid_id(job_id):
            return None
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job_record(row) if row else None

    def list_jobs(self, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [_job_record(r) for r in rows]

    def delete_job(self, job_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        folder = self.job_dir(job_id)
        for path in folder.glob("*"):
            path.unlink(missing_ok=True)
        folder.rmdir() if folder.is_dir() else None

    def job_dir(self, job_id: str) -> Path:
        if not valid_id(job_id):
            raise KeyError(job_id)
        return self.jobs_dir / job_id

    def job_file(self, job_id: str, name: Literal["latest.png", "result.png", "thumb.jpg"]) -> Path:
        return self.job_dir(job_id) / name

    def save_result(self, job_id: str, image: Image.Image) -> None:
        """The job's picture and its gallery thumbnail."""
        save_image(image, self.job_file(job_id, "result.png"), mode=FILE_MODE)
        thumb = image.copy()
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
        save_image(thumb, self.job_file(job_id, "thumb.jpg"), quality=85, mode=FILE_MODE)
        self.update_job(job_id, has_result=1)

    def save_latest(self, job_id: str, image: Image.Image, step: int | None = None) -> None:
        """The newest intermediate image of a running job, and the step it shows (so a job
        the server lost mid-run can carry on from that very step, issue #18)."""
        save_image(image, self.job_file(job_id, "latest.png"), mode=FILE_MODE)
        if step is not None:
            atomic_write_text(
                self.job_dir(job_id) / "latest.json", json.dumps({"step": step}), mode=FILE_MODE
            )

    def latest_step(self, job_id: str) -> int | None:
        """The step ``latest.png`` shows, when it was recorded."""
        try:
            return int(json.loads((self.job_dir(job_id) / "latest.json").read_text())["step"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # issue #18: carrying on an interrupted job --------------------------------

    def save_resume_point(self, job_id: str, step: int) -> None:
        """Keep the job's picture as the start of its continuation, and the step it shows."""
        folder = self.job_dir(job_id)
        with Image.open(self.job_file(job_id, "result.png")) as img:
            save_image(img.convert("RGB"), folder / "resume.png", mode=FILE_MODE)
        atomic_write_text(folder / "resume.json", json.dumps({"step": step}), mode=FILE_MODE)

    def resume_point(self, job_id: str) -> int:
        """Steps done before a continuation (0: a fresh run)."""
        try:
            return int(json.loads((self.job_dir(job_id) / "resume.json").read_text())["step"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def clear_resume_point(self, job_id: str) -> None:
        for name in ("resume.json", "resume.png"):
            (self.job_dir(job_id) / name).unlink(missing_ok=True)

    def read_history_rows(self, job_id: str) -> list[dict[str, float]]:
        """The stored per-step losses of an ended job (every part), or none."""
        try:
            rows = json.loads((self.job_dir(job_id) / "history.json").read_text())
        except (OSError, ValueError):
            return []
        return rows if isinstance(rows, list) else []

    def save_history(self, job_id: str, text: str) -> None:
        atomic_write_text(self.job_dir(job_id) / "history.json", text, mode=FILE_MODE)

    def recover(self) -> tuple[list[str], list[str]]:
        """After a restart: jobs that were running become interrupted (keeping their latest
        image as the result); queued jobs are returned so the queue can take them up again."""
        interrupted: list[str] = []
        with self._db() as db:
            running = [r["id"] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'")]
            queued = [
                r["id"] for r in db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created")
            ]
        for job_id in running:
            latest = self.job_file(job_id, "latest.png")
            kept = False
            if latest.is_file():
                try:
                    with Image.open(latest) as img:
                        self.save_result(job_id, img.convert("RGB"))
                    kept = True
                except OSError:
                    pass  # a half-written preview is no result; the record still says interrupted
            shown = self.latest_step(job_id) if kept else None
            if shown is not None:  # the steps the kept picture really has (the count may run ahead)
                self.update_job(job_id, step=shown)
            self.update_job(
                job_id,
                status="interrupted",
                ended=time.time(),
                message="the server stopped while this job was running"
                + ("; kept its latest image" if kept else " (before its first preview image)"),
            )
            interrupted.append(job_id)
        return interrupted, queued


def _job_record(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    for key in ("styles", "request", "config", "losses", "timings"):
        job[key] = json.loads(job[key])
    job["has_result"] = bool(job["has_result"])
    return job
