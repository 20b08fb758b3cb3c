"""Upload once: two uploads of the same bytes at once (two tasks, or two processes) store them once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from support.factories import write_dataset

from ftui.uploads import upload_once


def test_two_concurrent_uploads_of_the_same_bytes_store_them_once(local_provider, tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl", n=2000)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(data.read_bytes())

    async def both() -> list:
        return list(
            await asyncio.gather(upload_once(local_provider, data), upload_once(local_provider, copy))
        )

    first, second = asyncio.run(both())
    assert first.file.id == second.file.id
    assert sorted([first.deduplicated, second.deduplicated]) == [False, True]
    assert len(asyncio.run(local_provider.files()).items) == 1


def test_two_processes_uploading_the_same_bytes_store_them_once(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl", n=5000)
    cmd = [sys.executable, "-m", "ftui", "files", "upload", str(data), "--json"]
    runs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in runs]
    assert all(p.returncode == 0 for p in runs), outs
    ids = {json.loads(out)["id"] for out, _ in outs}
    assert len(ids) == 1
    listed = subprocess.run(
        [sys.executable, "-m", "ftui", "files", "list", "--json"], capture_output=True, text=True, check=True
    )
    assert [f["id"] for f in json.loads(listed.stdout)] == list(ids)
