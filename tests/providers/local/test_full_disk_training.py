"""A disk that fills while a job trains (a real tmpfs): the job ends `failed` with code disk_full and
a message naming the disk (not "killed, or the machine restarted"), resume refuses while the disk
is still full, and continues once there is room (tiny-llama, real training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.factories import write_dataset
from support.tiny_disk import on_tiny_disk

pytestmark = pytest.mark.slow

# 50 epochs of 3 steps: long enough that the disk fills mid-run even on a quiet machine (the job
# stops at the first save after that, so a slow machine pays nothing more).
SCRIPT = """
id=$(ftui jobs create --model tiny-llama -t {data} --epochs 50 --batch-size 4 --json 2>/dev/null \\
     | {py} -c "import json,sys; print(json.load(sys.stdin)['id'])")
state=$FTUI_HOME/data/local/jobs/$id/state.json
for i in $(seq 1 1500); do grep -q '"step": [1-9]' $state 2>/dev/null && break; sleep 0.2; done
fill  # the disk fills up while the job trains
for i in $(seq 1 1500); do grep -q '"status": "running"' $state || break; sleep 0.2; done
ftui jobs show $id --json > $DISK/../shown.json; echo "show=$?"
ftui jobs resume $id; echo "resume_full=$?"
rm $DISK/fill
ftui jobs resume $id >/dev/null; echo "resume=$?"
ftui jobs watch $id --interval 0.5 >/dev/null; echo "watch=$?"
"""


def test_a_disk_that_fills_during_training_fails_the_job_resumably_naming_the_disk(tmp_path: Path) -> None:
    import sys

    data = write_dataset(tmp_path / "train.jsonl", n=12)
    run = on_tiny_disk(tmp_path / "disk", "64m", SCRIPT.format(data=data, py=sys.executable), timeout=900)
    codes = dict(line.split("=") for line in run.stdout.split() if "=" in line)
    assert codes.get("show") == "0", (run.stdout, run.stderr)
    job = json.loads((tmp_path / "shown.json").read_text())
    assert job["status"] == "failed" and job["error"]["code"] == "disk_full", job["error"]
    assert "the disk is full" in job["error"]["message"] and "filesystem" in job["error"]["message"]
    assert "ftui jobs resume" in job["error"]["message"]
    assert codes["resume_full"] == "1" and "the disk is full" in run.stderr
    assert "Traceback" not in run.stderr
    assert codes["resume"] == "0" and codes["watch"] == "0", (run.stdout, run.stderr)


KILLED = """
id=$(ftui jobs create --model tiny-llama -t {data} --epochs 50 --batch-size 4 --json 2>/dev/null \\
     | {py} -c "import json,sys; print(json.load(sys.stdin)['id'])")
state=$FTUI_HOME/data/local/jobs/$id/state.json
for i in $(seq 1 1500); do grep -q '"step": [1-9]' $state 2>/dev/null && break; sleep 0.2; done
fill
pid=$({py} -c "import json; print(json.load(open('$state'))['worker_pid'])")
kill -9 $pid  # dies with no last words, as a worker killed mid-save does
ftui jobs show $id --json > $DISK/../shown.json; echo "show=$?"
"""


def test_a_worker_killed_on_a_full_disk_is_reported_as_the_full_disk(tmp_path: Path) -> None:
    import sys

    data = write_dataset(tmp_path / "train.jsonl", n=12)
    run = on_tiny_disk(tmp_path / "disk", "64m", KILLED.format(data=data, py=sys.executable), timeout=900)
    assert "show=0" in run.stdout, (run.stdout, run.stderr)
    job = json.loads((tmp_path / "shown.json").read_text())
    assert job["status"] == "failed" and job["error"]["code"] == "disk_full", job["error"]
    assert (
        "is full" in job["error"]["message"]
        and "killed, or the machine restarted" not in job["error"]["message"]
    )
