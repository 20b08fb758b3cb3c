"""The python grader runs user code in a sandbox: time and memory limits, no network, no secrets,
no files outside its scratch folder; a broken grader is one sample's error, never ftui's crash."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from ftui.graders.base import Context, GraderError
from ftui.graders.registry import parse
from ftui.graders.template import Sample


def run(source: str, output: str = "hello", item: dict[str, Any] | None = None, n: int = 1, **fields: Any):
    async def go():
        g = parse({"type": "python", "name": "p", "source": source, **fields})
        try:
            return [await g.grade(Sample(output), item or {}, Context()) for _ in range(n)]
        finally:
            await g.aclose()

    results = asyncio.run(go())
    return results if n > 1 else results[0]


def runtime_error(result: Any) -> str:
    assert result.score == 0.0 and result.errors.get("python_grader_runtime_error"), result
    return str(result.errors["python_grader_runtime_error_details"])


def test_grade_reads_sample_and_item_and_may_keep_state_between_samples():
    src = (
        "import json\ncalls = 0\n"
        "def grade(sample, item):\n"
        "    global calls\n    calls += 1\n"
        "    extra = (sample['output_json'] or {}).get('x', 0)\n"
        "    return calls + len(sample['output_text']) / 10 + item['bonus'] + extra\n"
    )
    results = run(src, output='{"x": 2}', item={"bonus": 1}, n=2)
    assert [r.score for r in results] == [pytest.approx(1 + 0.8 + 1 + 2), pytest.approx(2 + 0.8 + 1 + 2)]


def test_a_grader_that_hangs_is_stopped_at_its_time_limit_and_the_next_sample_still_grades():
    src = (
        "def grade(sample, item):\n    if sample['output_text'] == 'hang':\n"
        "        while True: pass\n    return 1\n"
    )

    async def go():
        g = parse({"type": "python", "name": "p", "source": src, "timeout_s": 0.5})
        try:
            hung = await g.grade(Sample("hang"), {}, Context())
            fine = await g.grade(Sample("ok"), {}, Context())
            return hung, fine
        finally:
            await g.aclose()

    hung, fine = asyncio.run(go())
    assert "did not return within 0.5 s" in runtime_error(hung)
    assert fine.score == 1.0


def test_a_grader_that_allocates_without_bound_hits_its_memory_limit():
    src = (
        "def grade(sample, item):\n    hog = []\n    while True:\n        hog.append(bytearray(10_000_000))\n"
    )
    detail = runtime_error(run(src, memory_mb=200, timeout_s=30))
    assert "MemoryError" in detail or "memory" in detail


def test_no_network_no_subprocess_no_ctypes():
    for body in (
        "import socket\n    socket.create_connection(('127.0.0.1', 9))",
        "import urllib.request\n    urllib.request.urlopen('http://127.0.0.1:9')",
        "import subprocess\n    subprocess.run(['true'])",
        "import os\n    os.system('true')",
        "import ctypes\n    ctypes.CDLL(None)",
    ):
        detail = runtime_error(run(f"def grade(sample, item):\n    {body}\n    return 1\n"))
        assert "sandbox does not allow" in detail, detail


def test_no_secrets_and_no_files_outside_the_scratch_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    src = "import os\ndef grade(sample, item):\n    return float('OPENAI_API_KEY' in os.environ)\n"
    assert run(src).score == 0.0
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    detail = runtime_error(run(f"def grade(sample, item):\n    return len(open({str(secret)!r}).read())\n"))
    assert "does not allow opening" in detail
    # Its own scratch folder is writable.
    src = (
        "def grade(sample, item):\n    open('note.txt', 'w').write('hi')\n"
        "    return len(open('note.txt').read())\n"
    )
    assert run(src).score == 2.0


def test_replacing_builtins_does_not_open_the_sandbox():
    src = (
        "import builtins\nbuiltins.any = lambda *a: True\n"
        "def grade(sample, item):\n    return len(open('/etc/hostname').read())\n"
    )
    assert "does not allow opening" in runtime_error(run(src))


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("def grade(sample, item):\n    return 'high'\n", "returned str, not a number"),
        ("def grade(sample, item):\n    return float('nan')\n", "not a finite number"),
        ("def grade(sample, item):\n    return 1/0\n", "ZeroDivisionError"),
        ("def grade(sample, item):\n    return grade(sample, item)\n", "RecursionError"),
        ("import no_such_module\ndef grade(sample, item):\n    return 1\n", "ModuleNotFoundError"),
    ],
)
def test_bad_return_values_and_exceptions_are_runtime_errors(source, why):
    assert why in runtime_error(run(source))


def test_definitions_without_grade_or_with_syntax_errors_are_refused_when_loaded():
    with pytest.raises(GraderError, match="defines no top-level `def grade"):
        parse({"type": "python", "name": "p", "source": "x = 1\n"})
    with pytest.raises(GraderError, match=r"field 'source': line 1"):
        parse({"type": "python", "name": "p", "source": "def grade(:\n"})
    with pytest.raises(GraderError, match="field 'timeout_s'"):
        parse({"type": "python", "name": "p", "source": "def grade(s, i): return 1", "timeout_s": 0})


def test_prints_in_user_code_do_not_corrupt_the_protocol():
    src = "def grade(sample, item):\n    print('{\"score\": 99}')\n    return 0.25\n"
    assert run(src).score == 0.25


def test_the_sandbox_process_is_gone_after_close():
    async def go():
        g = parse({"type": "python", "name": "p", "source": "def grade(s, i):\n    return 1\n"})
        await g.grade(Sample("x"), {}, Context())
        pid = g._sandbox._proc.pid
        await g.aclose()
        return pid

    pid = asyncio.run(go())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
