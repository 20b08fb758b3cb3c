"""The examples from the attack on `ftui serve`, each as it was sent: every one gets OpenAI's error
envelope naming the parameter, or a working answer; never a 500. (test_never_500 covers the class.)"""

from __future__ import annotations

import httpx2
import pytest
from support.serve_harness import serve, write_chat_examples

AUTH = {"authorization": "Bearer test-key"}


@pytest.fixture
def served(local_provider):
    with serve(local_provider, check=False) as s:
        yield s, httpx2.Client(base_url=s.url, headers=AUTH, timeout=120)


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"messages": ' + b"1" * 5000 + b"}",
        b'{"messages": [], "x": 1e400}',
    ],
)
def test_an_upload_whose_line_python_cannot_hold_is_a_400_naming_the_file(served, line: bytes) -> None:
    _, http = served
    r = http.post("/files", data={"purpose": "fine-tune"}, files={"file": ("t.jsonl", line + b"\n")})
    if b"1e400" in line:
        assert r.status_code == 200  # valid JSON with a big number: the data checks judge it later
        return
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    assert r.json()["error"]["code"] == "invalid_file_format"


@pytest.mark.parametrize("name", ["a\x00b.jsonl", "x" * 300 + ".jsonl", "é" * 200 + ".jsonl", "..", "/"])
def test_hostile_file_names_are_made_safe(served, name: str, tmp_path) -> None:
    _, http = served
    data = write_chat_examples(tmp_path / "t.jsonl").read_bytes()
    r = http.post("/files", data={"purpose": "batch"}, files={"file": (name, data)})
    assert r.status_code == 200, r.text
    stored = r.json()["filename"]
    assert "\x00" not in stored and len(stored.encode()) <= 200 and stored not in ("..", "/", "")
    r = http.post("/uploads", json={"filename": name, "purpose": "batch", "bytes": 3, "mime_type": "x"})
    assert r.status_code == 200 and "\x00" not in r.json()["filename"]


@pytest.mark.parametrize("seed", [2**63, 2**64, -(2**63) - 1])
def test_a_chat_seed_outside_int64_is_a_400_naming_seed(served, seed: int) -> None:
    _, http = served
    r = http.post(
        "/chat/completions",
        json={"model": "tiny-llama", "messages": [{"role": "user", "content": "hi"}], "seed": seed},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "seed"


def test_the_edges_of_int64_are_valid_seeds(served) -> None:
    _, http = served
    for seed in (2**63 - 1, -(2**63)):
        body = {
            "model": "tiny-llama",
            "messages": [{"role": "user", "content": "hi"}],
            "seed": seed,
            "max_tokens": 2,
        }
        assert http.post("/chat/completions", json=body).status_code == 200


@pytest.mark.parametrize(
    ("content", "says"),
    [("", "The request has no body"), ("[]", "must be a JSON object"), ("3", "must be a JSON object")],
)
def test_a_missing_or_non_object_body_never_names_the_parameter_none(served, content: str, says: str) -> None:
    _, http = served
    for path in ("/fine_tuning/jobs", "/chat/completions", "/uploads"):
        r = http.post(path, content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400, (path, r.text)
        error = r.json()["error"]
        assert says in error["message"] and error["param"] is None and "None" not in error["message"]


def test_nested_parameters_are_named_the_way_openai_names_them(served) -> None:
    _, http = served
    r = http.post(
        "/chat/completions", json={"model": "tiny-llama", "messages": [{"role": "user", "content": 5}]}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].content"


def test_a_client_cannot_tell_existing_server_folders_from_missing_ones(served, tmp_path) -> None:
    s, http = served
    f = s.client().files.create(file=write_chat_examples(tmp_path / "t.jsonl"), purpose="fine-tune")
    (tmp_path / "real_folder").mkdir()
    answers = []
    for model in (str(tmp_path / "real_folder"), str(tmp_path / "no_such_folder"), "/etc", "/nonexistent"):
        job = http.post("/fine_tuning/jobs", json={"model": model, "training_file": f.id})
        chat = http.post(
            "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
        )
        answers.append(
            (
                job.status_code,
                job.json()["error"]["message"].replace(model, "M"),
                chat.status_code,
                chat.json()["error"]["message"].replace(model, "M"),
            )
        )
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 400 and answers[0][2] == 404
    assert str(tmp_path) not in str(answers)
