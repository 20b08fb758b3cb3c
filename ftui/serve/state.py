"""What the server holds that the provider does not, on disk so a restart loses nothing.

<data>/serve/serve.db           uploads and their parts, file expiry, result files, and jobs
                                the server failed itself (bad training data, as OpenAI does)
<data>/serve/uploads/<id>/      the parts of a pending Upload, one file each
<data>/serve/results/<file-id>  result files (base64 CSV, as OpenAI serves them)
<data>/serve/incoming/          multipart uploads on their way to the provider
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ftui.model import Job, JobEvent
from ftui.paths import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, purpose TEXT NOT NULL, bytes INTEGER NOT NULL,
    mime_type TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    status TEXT NOT NULL, file_id TEXT, part_ids TEXT
);
CREATE TABLE IF NOT EXISTS upload_parts (
    id TEXT PRIMARY KEY, upload_id TEXT NOT NULL, created_at INTEGER NOT NULL, bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS file_expiry (file_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS result_files (
    file_id TEXT PRIMARY KEY, job_id TEXT NOT NULL UNIQUE, filename TEXT NOT NULL,
    bytes INTEGER NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failed_jobs (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, body TEXT NOT NULL, events TEXT NOT NULL
);
"""


class ServeState:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or data_dir() / "serve"
        for sub in ("uploads", "results", "incoming"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(
            self.root / "serve.db", timeout=30, isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        columns = {r["name"] for r in self.db.execute("PRAGMA table_info(uploads)")}
        if "part_ids" not in columns:  # state from before completes were idempotent
            self.db.execute("ALTER TABLE uploads ADD COLUMN part_ids TEXT")
        # A server stopped in the middle of completing an upload: the client may complete it again.
        self.db.execute("UPDATE uploads SET status='pending' WHERE status='completing'")
        # Multipart bodies cut short by a crash are never picked up again. The folder itself stays:
        # making it anew needs room, and a server must start on a full disk to say so per request.
        for leftover in (self.root / "incoming").iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

    def close(self) -> None:
        self.db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.db.execute(sql, args)

    # uploads -------------------------------------------------------------------------------
    def upload_dir(self, upload_id: str) -> Path:
        return self.root / "uploads" / upload_id

    def add_upload(self, row: dict[str, Any]) -> None:
        self._exec(
            "INSERT INTO uploads (id, filename, purpose, bytes, mime_type, created_at, expires_at, "
            "status, file_id) VALUES (?,?,?,?,?,?,?,?,?)",
            tuple(
                row[k]
                for k in (
                    "id",
                    "filename",
                    "purpose",
                    "bytes",
                    "mime_type",
                    "created_at",
                    "expires_at",
                    "status",
                    "file_id",
                )
            ),
        )
        self.upload_dir(row["id"]).mkdir(parents=True, exist_ok=True)

    def upload(self, upload_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM uploads WHERE id=?", (upload_id,)).fetchone()
        if row is None:
            return None
        upload = dict(row)
        if upload["status"] == "pending" and upload["expires_at"] < time.time():
            self.set_upload_status(upload_id, "expired")
            upload["status"] = "expired"
        return upload

    def set_upload_status(self, upload_id: str, status: str, file_id: str | None = None) -> None:
        self._exec(
            "UPDATE uploads SET status=?, file_id=COALESCE(?, file_id) WHERE id=?",
            (status, file_id, upload_id),
        )
        if status not in ("pending", "completing"):
            shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)

    def move_upload(self, upload_id: str, from_status: str, to_status: str) -> bool:
        """Atomically `from_status` -> `to_status`; False if it was not in `from_status` (someone
        else got there first). The check and the change are one statement."""
        cursor = self._exec(
            "UPDATE uploads SET status=? WHERE id=? AND status=?", (to_status, upload_id, from_status)
        )
        return cursor.rowcount == 1

    def complete_upload(self, upload_id: str, file_id: str, part_ids: list[str]) -> None:
        self._exec(
            "UPDATE uploads SET status='completed', file_id=?, part_ids=? WHERE id=?",
            (file_id, json.dumps(part_ids), upload_id),
        )
        shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)

    def add_part(self, part_id: str, upload_id: str, size: int) -> int:
        created = int(time.time())
        self._exec("INSERT INTO upload_parts VALUES (?,?,?,?)", (part_id, upload_id, created, size))
        return created

    def parts(self, upload_id: str) -> dict[str, int]:
        rows = self._exec("SELECT id, bytes FROM upload_parts WHERE upload_id=?", (upload_id,))
        return {r["id"]: r["bytes"] for r in rows.fetchall()}

    # file expiry ---------------------------------------------------------------------------
    def set_expiry(self, file_id: str, expires_at: int) -> None:
        self._exec("INSERT OR REPLACE INTO file_expiry VALUES (?,?)", (file_id, expires_at))

    def expiries(self) -> dict[str, int]:
        rows = self._exec("SELECT * FROM file_expiry").fetchall()
        return {r["file_id"]: r["expires_at"] for r in rows}

    def forget_file(self, file_id: str) -> None:
        self._exec("DELETE FROM file_expiry WHERE file_id=?", (file_id,))

    # result files --------------------------------------------------------------------------
    def result_path(self, file_id: str) -> Path:
        return self.root / "results" / file_id

    def result_for_job(self, job_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM result_files WHERE job_id=?", (job_id,)).fetchone()
        return dict(row) if row else None

    def result_file(self, file_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM result_files WHERE file_id=?", (file_id,)).fetchone()
        return dict(row) if row else None

    def result_files(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec("SELECT * FROM result_files").fetchall()]

    def add_result_file(self, file_id: str, job_id: str, filename: str, content: bytes) -> None:
        path = self.result_path(file_id)
        # Two requests may build the same result file at once: each writes its own temp file.
        tmp = path.with_name(f".{file_id}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
        self._exec(
            "INSERT OR REPLACE INTO result_files VALUES (?,?,?,?,?)",
            (file_id, job_id, filename, len(content), int(time.time())),
        )

    def delete_result_file(self, file_id: str) -> None:
        self._exec("DELETE FROM result_files WHERE file_id=?", (file_id,))
        self.result_path(file_id).unlink(missing_ok=True)

    # jobs the server failed itself ---------------------------------------------------------
    def add_failed_job(self, job: Job, events: list[JobEvent]) -> None:
        self._exec(
            "INSERT INTO failed_jobs VALUES (?,?,?,?)",
            (
                job.id,
                job.created_at.timestamp(),
                job.model_dump_json(),
                json.dumps([e.model_dump(mode="json") for e in events]),
            ),
        )

    def failed_jobs(self) -> list[Job]:
        rows = self._exec("SELECT body FROM failed_jobs").fetchall()
        return [Job.model_validate_json(r["body"]) for r in rows]

    def failed_job(self, job_id: str) -> tuple[Job, list[JobEvent]] | None:
        row = self._exec("SELECT * FROM failed_jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        return (
            Job.model_validate_json(row["body"]),
            [JobEvent.model_validate(e) for e in json.loads(row["events"])],
        )
