"""Answers already paid for: one SQLite row per (provider profile, model, prompt, sampling params).

Written the moment an answer arrives (WAL, autocommit), so an evaluation killed with -9 keeps
every row it finished, and running it again, or re-grading with other graders, asks the model
only for what is missing. A cache, not a record: deleting the file loses nothing but money.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftui.paths import cache_dir, ensure


@dataclass
class Cached:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def answer_key(
    identity: dict[str, Any], model: str, messages: list[dict[str, Any]], params: dict[str, Any]
) -> str:
    blob = json.dumps(
        {"who": identity, "model": model, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class AnswerCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ensure(cache_dir() / "eval") / "answers.sqlite"
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
            "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, latency REAL NOT NULL, "
            "created_at REAL NOT NULL)"
        )

    def get(self, key: str) -> Cached | None:
        with self._lock:
            row = self.db.execute(
                "SELECT text, prompt_tokens, completion_tokens, latency FROM answers WHERE key=?", (key,)
            ).fetchone()
        return Cached(*row) if row else None

    def put(self, key: str, answer: Cached) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?)",
                (
                    key,
                    answer.text,
                    answer.prompt_tokens,
                    answer.completion_tokens,
                    answer.latency_s,
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.db.close()
