from __future__ import annotations

import multiprocessing
from pathlib import Path

from ftui.store import SCHEMA_VERSION, Store


def _hammer(path: str, n: int, worker: int) -> None:
    store = Store(Path(path))
    for i in range(n):
        store.cache_job("p", f"job-{worker}-{i}", "running", {"i": i})
    store.close()


def test_schema_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    assert Store(tmp_path / "s.db").version == SCHEMA_VERSION


def test_two_processes_write_at_once_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(path), 50, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(Store(path).cached_jobs("p")) == 100


def test_a_job_is_reported_finished_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.cache_job("p", "j", "running", {}) is False
    assert store.cache_job("p", "j", "succeeded", {}) is True
    assert store.cache_job("p", "j", "succeeded", {}) is False


def test_uploads_are_remembered_per_profile_by_content_hash(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.remember_upload("openai", "prod", "abc", "file-1", "a.jsonl", 10)
    assert store.uploaded("prod", "abc")["file_id"] == "file-1"
    assert store.uploaded("dev", "abc") is None
