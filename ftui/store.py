"""Local state in SQLite: an index and cache, never the source of truth.

WAL mode and a busy timeout make two ftui processes safe at once; `PRAGMA user_version` tracks
the schema, and migrations run inside one IMMEDIATE transaction so only one process applies them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from ftui.paths import data_dir, ensure

MIGRATIONS: list[str] = [
    # 1: uploads, job cache, chats, datasets seen
    """
    CREATE TABLE uploads (
        provider TEXT NOT NULL, profile TEXT NOT NULL, sha256 TEXT NOT NULL,
        file_id TEXT NOT NULL, filename TEXT NOT NULL, bytes INTEGER NOT NULL, created_at REAL NOT NULL,
        PRIMARY KEY (profile, sha256)
    );
    CREATE TABLE jobs (
        profile TEXT NOT NULL, job_id TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
        updated_at REAL NOT NULL, notified INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (profile, job_id)
    );
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, body TEXT NOT NULL,
        created_at REAL NOT NULL, updated_at REAL NOT NULL
    );
    CREATE TABLE datasets (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL, summary TEXT,
        seen_at REAL NOT NULL
    );
    CREATE TABLE upload_sessions (
        profile TEXT NOT NULL, sha256 TEXT NOT NULL, upload_id TEXT NOT NULL, parts TEXT NOT NULL,
        created_at REAL NOT NULL, PRIMARY KEY (profile, sha256)
    );
    """,
    # 2: deployments ftui created (billed by the hour): start-up warns about those still running
    """
    CREATE TABLE deployments (
        profile TEXT NOT NULL, provider TEXT NOT NULL, deployment_id TEXT NOT NULL,
        status TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        PRIMARY KEY (profile, deployment_id)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _use_wal(db: sqlite3.Connection) -> None:
    # Switching to WAL takes a lock that SQLite does not wait for (no busy handler), so two
    # processes opening a new database at once can see "database is locked": retry briefly.
    deadline = time.monotonic() + 30
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ensure(data_dir()) / "state.db"

    @cached_property
    def db(self) -> sqlite3.Connection:
        """Opened on first use: a command that never touches local state (listing jobs) works on a
        full disk, where opening the database (its WAL files) cannot."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        _use_wal(db)
        self._migrate(db)
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for n in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[n].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={n + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    # uploads: one file content is uploaded once per profile
    def uploaded(self, profile: str, sha256: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM uploads WHERE profile=? AND sha256=?", (profile, sha256)
        ).fetchone()

    def remember_upload(
        self, provider: str, profile: str, sha256: str, file_id: str, filename: str, size: int
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO uploads VALUES (?,?,?,?,?,?,?)",
            (provider, profile, sha256, file_id, filename, size, time.time()),
        )

    def forget_upload(self, profile: str, file_id: str) -> None:
        self.db.execute("DELETE FROM uploads WHERE profile=? AND file_id=?", (profile, file_id))

    # resumable chunked uploads
    def upload_session(self, profile: str, sha256: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM upload_sessions WHERE profile=? AND sha256=?", (profile, sha256)
        ).fetchone()
        return {"upload_id": row["upload_id"], "parts": json.loads(row["parts"])} if row else None

    def save_upload_session(self, profile: str, sha256: str, upload_id: str, parts: list[str]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO upload_sessions VALUES (?,?,?,?,?)",
            (profile, sha256, upload_id, json.dumps(parts), time.time()),
        )

    def drop_upload_session(self, profile: str, sha256: str) -> None:
        self.db.execute("DELETE FROM upload_sessions WHERE profile=? AND sha256=?", (profile, sha256))

    # job cache: what the provider said last, so a screen has something before the first poll
    def cache_job(self, profile: str, job_id: str, status: str, body: dict[str, Any]) -> bool:
        """Store a job; return True the first time it is seen in a terminal status."""
        terminal = status in {"succeeded", "failed", "cancelled"}
        with self.db:
            row = self.db.execute(
                "SELECT notified FROM jobs WHERE profile=? AND job_id=?", (profile, job_id)
            ).fetchone()
            first_end = terminal and not (row and row["notified"])
            self.db.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?) ON CONFLICT(profile, job_id) DO UPDATE SET "
                "status=excluded.status, body=excluded.body, updated_at=excluded.updated_at, "
                "notified=MAX(jobs.notified, excluded.notified)",
                (profile, job_id, status, json.dumps(body, default=str), time.time(), int(terminal)),
            )
        return first_end

    def cached_jobs(self, profile: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT body FROM jobs WHERE profile=? ORDER BY updated_at DESC", (profile,)
        ).fetchall()
        return [json.loads(r["body"]) for r in rows]

    # deployments ftui created: what the provider said last about each
    def remember_deployment(
        self, provider: str, profile: str, deployment_id: str, status: str, body: dict[str, Any]
    ) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO deployments VALUES (?,?,?,?,?,?,?) ON CONFLICT(profile, deployment_id) DO UPDATE "
            "SET status=excluded.status, body=excluded.body, updated_at=excluded.updated_at",
            (profile, provider, deployment_id, status, json.dumps(body, default=str), now, now),
        )

    def remembered_deployments(
        self, profile: str | None = None, statuses: frozenset[str] | None = None
    ) -> list[dict[str, Any]]:
        """Newest first: `{"profile", "provider", "status", "updated_at", "body"}` per deployment,
        for one profile or all, optionally only those in `statuses`."""
        rows = self.db.execute(
            "SELECT * FROM deployments WHERE ? IS NULL OR profile=? ORDER BY created_at DESC",
            (profile, profile),
        ).fetchall()
        return [
            {
                "profile": r["profile"],
                "provider": r["provider"],
                "status": r["status"],
                "updated_at": r["updated_at"],
                "body": json.loads(r["body"]),
            }
            for r in rows
            if statuses is None or r["status"] in statuses
        ]

    # chats
    def save_chat(self, title: str, body: dict[str, Any], chat_id: int | None = None) -> int:
        now = time.time()
        if chat_id is None:
            cur = self.db.execute(
                "INSERT INTO chats (title, body, created_at, updated_at) VALUES (?,?,?,?)",
                (title, json.dumps(body), now, now),
            )
            return int(cur.lastrowid or 0)
        self.db.execute(
            "UPDATE chats SET title=?, body=?, updated_at=? WHERE id=?",
            (title, json.dumps(body), now, chat_id),
        )
        return chat_id

    def chats(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, title, updated_at FROM chats ORDER BY updated_at DESC").fetchall()
        return [dict(r) for r in rows]

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM chats WHERE id=?", (chat_id,)).fetchone()
        return json.loads(row["body"]) if row else None

    # datasets seen
    def remember_dataset(self, path: Path, summary: dict[str, Any] | None = None) -> None:
        st = path.stat()
        self.db.execute(
            "INSERT OR REPLACE INTO datasets VALUES (?,?,?,?,?)",
            (
                str(path.resolve()),
                st.st_size,
                st.st_mtime,
                json.dumps(summary) if summary else None,
                time.time(),
            ),
        )

    def recent_datasets(self, limit: int = 20) -> list[str]:
        rows = self.db.execute("SELECT path FROM datasets ORDER BY seen_at DESC LIMIT ?", (limit,))
        return [r["path"] for r in rows]
