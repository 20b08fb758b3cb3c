"""`ftui files` over the local provider: upload (deduplicated by content), list, content, delete."""

from __future__ import annotations

import json
from pathlib import Path

from support.run_cli import ftui


def test_upload_prints_the_id_and_the_same_content_is_not_uploaded_twice(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": []}\n')
    code, out, _ = ftui("files", "upload", str(data), "--json")
    assert code == 0
    first = json.loads(out)
    assert first["id"].startswith("file-") and first["bytes"] == data.stat().st_size

    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(data.read_bytes())
    code, out, _ = ftui("files", "upload", str(copy))
    assert code == 0 and out.startswith(first["id"]) and "already uploaded" in out
    code, out, _ = ftui("files", "list", "--json")
    assert [f["id"] for f in json.loads(out)] == [first["id"]]

    code, out, _ = ftui("files", "upload", str(copy), "--force", "--json")
    assert code == 0 and json.loads(out)["id"] != first["id"]


def test_list_content_and_delete(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    _, out, _ = ftui("files", "upload", str(data), "--json")
    file_id = json.loads(out)["id"]
    code, out, _ = ftui("files", "list")
    assert code == 0 and file_id in out and "train.jsonl" in out
    code, out, _ = ftui("files", "content", file_id)
    assert code == 0 and out == data.read_text()
    assert ftui("files", "delete", file_id)[0] == 0
    code, _, err = ftui("files", "content", file_id)
    assert code == 1 and f"no such file: {file_id}" in err and "Traceback" not in err
    # Deleted files are forgotten, so the same content uploads again.
    code, out, _ = ftui("files", "upload", str(data), "--json")
    assert code == 0 and json.loads(out)["id"] != file_id


def test_upload_of_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = ftui("files", "upload", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "does not exist" in err
