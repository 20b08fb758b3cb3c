"""A full disk, for real (a tiny tmpfs): every command says so in one line that names the disk,
exits non-zero, stores nothing half-way, and reading still works."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from support.factories import write_dataset
from support.tiny_disk import on_tiny_disk


def test_files_upload_on_a_full_disk_says_so_and_stores_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text(write_dataset(tmp_path / "small.jsonl", n=40).read_text() * 300)  # 1.4 MB
    run = on_tiny_disk(
        tmp_path / "disk",
        "1m",
        f"ftui files upload {big}; echo rc=$?\nftui files list; echo rc=$?\n",
    )
    out, err = run.stdout, run.stderr
    assert "rc=1" in out.splitlines()[0] or "rc=1" in out, (out, err)
    assert "the disk is full: cannot write" in err and "filesystem" in err and "free" in err
    assert "Traceback" not in err
    assert "No files" in out and out.strip().endswith("rc=0")


def test_reading_commands_work_on_a_full_disk_and_writing_ones_say_why_not(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    run = on_tiny_disk(
        tmp_path / "disk",
        "1m",
        "ftui files list >/dev/null\n"  # the state exists, as it would on a disk that filled up later
        "fill\n"
        "ftui jobs list; echo rc=$?\n"
        f"ftui files upload {data}; echo rc=$?\n"
        "ftui config check; echo rc=$?\n",
    )
    out, err = run.stdout, run.stderr
    assert "No jobs yet" in out and "rc=0" in out.splitlines()[1], (out, err)
    assert "rc=1" in out.splitlines()[2], (out, err)
    assert err.count("error: the disk is full") == 1 and "Traceback" not in err
    assert out.strip().endswith("rc=0")  # config check reads only


def test_serve_on_a_full_disk_says_so_and_a_disk_that_fills_while_serving_is_a_507(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "train.jsonl")
    client = tmp_path / "client.py"
    client.write_text(
        f"""
import json, os, subprocess, sys, httpx2
serve = [sys.executable, "-m", "ftui", "serve", "--port", "0"]
proc = subprocess.Popen(serve, stderr=subprocess.PIPE, text=True)
port = None
for line in proc.stderr:
    if "Uvicorn running on" in line:
        port = int(line.rsplit(":", 1)[1].split()[0])
        break
url = f"http://127.0.0.1:{{port}}/v1"
subprocess.run(["dd", "if=/dev/zero", "of=" + os.environ["DISK"] + "/fill", "bs=64k"], capture_output=True)
listed = httpx2.get(url + "/files")
with open({str(data)!r}, "rb") as fh:
    up = httpx2.post(url + "/files", data={{"purpose": "fine-tune"}}, files={{"file": fh}})
print(json.dumps({{"list": listed.status_code, "upload": up.status_code, "body": up.json()}}))
proc.terminate()
proc.wait(30)
"""
    )
    run = on_tiny_disk(
        tmp_path / "disk",
        "4m",
        f"fill\nftui serve --port 0; echo rc=$?\nrm $DISK/fill\n{sys.executable} {client}\n",
    )
    out, err = run.stdout, run.stderr
    first, last = out.strip().splitlines()[0], out.strip().splitlines()[-1]
    assert first == "rc=1", (out, err)
    assert err.startswith("error: the disk is full: cannot write") and "Traceback" not in err, err
    result = json.loads(last)
    assert result["list"] == 200, result
    assert result["upload"] == 507 and result["body"]["error"]["code"] == "insufficient_storage"
