"""Generated hostile requests at every route of `ftui serve`: never a 500, never a traceback, never a
server path; every refusal is OpenAI's error envelope.

Hypothesis draws paths, query strings and bodies from what a careless or hostile client sends: ids
that exist and ids that do not, NUL bytes, 300-character names, 5000-digit and 1e400 numbers,
100,000-deep nesting, wrong types everywhere, broken JSON and broken multipart. Runs are
derandomized, so CI sees the same requests every time; `HYPOTHESIS_SEED`-free exploration is
one `--hypothesis-seed` away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.serve_harness import Served, serve, write_chat_examples

KEY = "test-key"
SETTINGS = settings(
    max_examples=int(os.environ.get("FTUI_NEVER500_EXAMPLES", "60")),
    derandomize=os.environ.get("FTUI_NEVER500_RANDOM") is None,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- the pieces of a hostile request -------------------------------------------------------------
nasty_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b.jsonl",
            "x" * 300 + ".jsonl",
            "../../etc/passwd",
            "/etc",
            "/",
            "~",
            ".",
            "%2e%2e%2f",
            "ft:tiny-llama:local::abcd1234",
            "ft:tiny-llama:local::abcd1234:ckpt-step-1",
            "tiny-llama",
            "null",
            "🦜" * 50,
            "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        ]
    ),
)
NAMES = [
    "a\x00b.jsonl",
    "x" * 300 + ".jsonl",
    "\x00",
    "..",
    "/",
    "a/../../b.jsonl",
    "\n.jsonl",
    "é" * 200 + ".jsonl",
]
nasty_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1e300, 0.5, -0.0]),
)
# Written as raw JSON text: numbers Python's json cannot produce or parses into something odd.
RAW_NUMBERS = ["1e400", "-1e400", "1" * 5000, "NaN", "Infinity", "1e-400", "0.1e999999"]
json_scalar = st.one_of(st.none(), st.booleans(), nasty_number, nasty_text)
json_value = st.recursive(
    json_scalar,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(nasty_text, kids, max_size=4)),
    max_leaves=12,
)


DEEP = ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "[" * 100_000]
BROKEN = ["", "{", "null", "[]", '"x"', "{}", "\x00", "\ufeff{}", '{"model": "x"' + "," * 1000]
RAW = "__raw__"


@st.composite
def bodies(
    draw: st.DrawFn, valid: dict[str, st.SearchStrategy[Any]], hostile: dict[str, st.SearchStrategy[Any]]
) -> bytes:
    """A body that works, then broken in one or two places: a field hostile, a field gone, a raw
    number JSON cannot hold; or garbage where the JSON object should be."""
    body = {k: draw(v) for k, v in valid.items()}
    fields = sorted({*valid, *hostile})
    how = draw(st.sampled_from(["as is", "one", "two", "drop", "raw", "garbage", "any value"]))
    if how in ("one", "two"):
        for name in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(how) - 1, unique=True)):
            body[name] = draw(st.one_of(hostile.get(name, json_value), json_value))
    elif how == "drop" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif how == "raw":
        body[draw(st.sampled_from(fields))] = RAW
    text = json.dumps(body).replace(f'"{RAW}"', draw(st.sampled_from(RAW_NUMBERS)))
    if how == "garbage":
        text = draw(st.sampled_from(DEEP + BROKEN))
    elif how == "any value":
        text = json.dumps(draw(json_value))
    return text.encode("utf-8", "surrogatepass")


# -- the server, with one of everything to point at ----------------------------------------------
class World:
    def __init__(self, served: Served, tmp: Path) -> None:
        self.served = served
        self.http = httpx2.Client(base_url=served.url, headers={"authorization": f"Bearer {KEY}"}, timeout=60)
        client = served.client()
        few = write_chat_examples(tmp / "few.jsonl", n=3)  # too few to ever start training
        self.file_id = client.files.create(file=few, purpose="fine-tune").id
        upload = client.uploads.create(
            bytes=5, filename="u.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        self.upload_id = upload.id
        self.part_id = client.uploads.parts.create(upload.id, data=b"{}\n").id
        job = client.fine_tuning.jobs.create(model="tiny-llama", training_file=self.file_id)
        assert job.status == "failed"  # invalid_n_examples: a job id that exists, with no worker
        self.job_id = job.id

    def ids(self, real: str) -> st.SearchStrategy[str]:
        """A path segment: the real id, or anything else, percent-encoded as a client must send it."""
        other = nasty_text.filter(lambda s: s not in ("", ".", ".."))
        return st.one_of(st.just(real), other).map(lambda s: quote(s, safe=":"))


@pytest.fixture
def world(local_provider: Any, tmp_path: Path) -> Iterator[World]:
    with serve(local_provider, api_key=KEY, check=False) as served:
        yield World(served, tmp_path)


def _home(world: World) -> str:
    from ftui.paths import data_dir

    return str(data_dir().parent)


def assert_sane(world: World, response: httpx2.Response) -> None:
    where = f"{response.request.method} {response.request.url} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    assert response.headers.get("x-request-id"), where
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, where
    assert _home(world) not in text, f"{where}: a server path in {text[:300]}"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, where
        assert error["param"] != "None" and "'None'" not in error["message"], where
    if response.headers.get("content-type", "").startswith("application/json"):
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{where}: {c} in the JSON"))


def send(world: World, method: str, path: str, **kwargs: Any) -> None:
    assert_sane(world, world.http.request(method, path, **kwargs))


queries = st.dictionaries(
    st.sampled_from(["limit", "after", "order", "purpose", "metadata", "metadata[k]", "x", "\x00"]),
    st.one_of(nasty_text, nasty_number.map(str), st.sampled_from(RAW_NUMBERS)),
    max_size=4,
)
JSON = {"content-type": "application/json"}
small = st.integers(min_value=1, max_value=3)
# Valid but slow for a model that really answers (a 10**9-token answer is capped, not refused).
not_slow_tokens = st.one_of(small, st.sampled_from([0, -1, 1.5, 1e300, 2**64, "many", None, [], {}]))


# -- one property per route family ----------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_file_create_never_500(world: World, data: st.DataObject) -> None:
    name = data.draw(st.one_of(st.sampled_from(NAMES), nasty_text, st.just("ok.jsonl")))
    content = data.draw(
        st.one_of(
            st.sampled_from(
                [
                    ("[" * 100_000).encode(),
                    ('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n").encode(),
                    b'{"a": ' + b"1" * 5000 + b"}\n",
                ]
            ),
            st.sampled_from(
                [
                    b"",
                    b"{}\n",
                    b"\x00\x00",
                    b"[1]\n",
                    b"\xff\xfe{\x00}\x00",
                    ("[" * 100_000).encode(),
                    ('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n").encode(),
                    b'{"a": ' + b"1" * 5000 + b"}\n",
                    b'{"a": 1e400}\n',
                ]
            ),
            st.binary(max_size=64),
            json_value.map(lambda v: (json.dumps(v) + "\n").encode()),
        )
    )
    purpose = data.draw(
        st.one_of(st.just("fine-tune"), st.sampled_from(["batch", "user_data", ""]), nasty_text)
    )
    fields: dict[str, str] = {"purpose": purpose} if data.draw(st.integers(0, 9)) else {}
    if data.draw(st.integers(0, 4)) == 0:
        fields["expires_after[anchor]"] = data.draw(st.one_of(st.just("created_at"), nasty_text))
        fields["expires_after[seconds]"] = data.draw(
            st.one_of(nasty_number.map(str), st.sampled_from(RAW_NUMBERS))
        )
    field = "file" if data.draw(st.integers(0, 9)) else data.draw(nasty_text)
    send(world, "POST", "/files", data=fields, files={field or "x": (name, content)})


@SETTINGS
@given(data=st.data())
def test_files_routes_never_500(world: World, data: st.DataObject) -> None:
    file_id = data.draw(world.ids(world.file_id))
    route = data.draw(st.sampled_from(["list", "get", "delete_missing", "content"]))
    if route == "list":
        send(world, "GET", "/files", params=data.draw(queries))
    elif route == "get":
        send(world, "GET", f"/files/{file_id}", params=data.draw(queries))
    elif route == "delete_missing" and file_id != world.file_id:
        send(world, "DELETE", f"/files/{file_id}")
    else:
        send(world, "GET", f"/files/{file_id}/content")


@SETTINGS
@given(data=st.data())
def test_upload_routes_never_500(world: World, data: st.DataObject) -> None:
    upload_id = data.draw(world.ids(world.upload_id))
    route = data.draw(st.sampled_from(["create", "parts", "complete", "cancel"]))
    if route == "create":
        valid = {
            "filename": st.just("u.jsonl"),
            "purpose": st.just("fine-tune"),
            "bytes": small,
            "mime_type": st.just("text/jsonl"),
        }
        hostile = {
            "filename": nasty_text,
            "purpose": nasty_text,
            "bytes": nasty_number,
            "mime_type": nasty_text,
        }
        send(world, "POST", "/uploads", content=data.draw(bodies(valid, hostile)), headers=JSON)
    elif route == "parts":
        content = data.draw(st.binary(max_size=32))
        field = data.draw(st.sampled_from(["data", "data", "file", "\x00"]))
        send(world, "POST", f"/uploads/{upload_id}/parts", files={field: ("p", content)})
    elif route == "complete":
        valid = {"part_ids": st.just([world.part_id])}
        hostile = {
            "part_ids": st.lists(st.one_of(st.just(world.part_id), nasty_text), max_size=3),
            "md5": nasty_text,
        }
        body = data.draw(bodies(valid, hostile))
        send(world, "POST", f"/uploads/{upload_id}/complete", content=body, headers=JSON)
    elif upload_id != world.upload_id:
        send(world, "POST", f"/uploads/{upload_id}/cancel")


HYPER = st.dictionaries(
    st.sampled_from(
        ["n_epochs", "batch_size", "learning_rate_multiplier", "beta", "lora_r", "batching", "x"]
    ),
    st.one_of(nasty_number, nasty_text, st.just("auto"), st.just(RAW)),
    max_size=3,
)


@SETTINGS
@given(data=st.data())
def test_job_create_never_500(world: World, data: st.DataObject) -> None:
    method_type = st.sampled_from(["supervised", "dpo", "reinforcement", "nope"])
    valid = {"model": st.just("tiny-llama"), "training_file": st.just(world.file_id)}
    hostile = {
        "model": st.one_of(st.sampled_from(["/etc", "/nonexistent", "~", "..", "ft:x:y::z"]), nasty_text),
        "training_file": nasty_text,
        "validation_file": st.one_of(st.just(world.file_id), nasty_text),
        "hyperparameters": HYPER,
        "method": st.one_of(
            st.fixed_dictionaries({"type": method_type}),
            method_type.flatmap(
                lambda t: st.fixed_dictionaries(
                    {"type": st.just(t), t: st.fixed_dictionaries({"hyperparameters": HYPER})}
                )
            ),
        ),
        "suffix": nasty_text,
        "seed": nasty_number,
        "metadata": st.dictionaries(nasty_text, json_scalar, max_size=3),
        "integrations": json_value,
    }
    body = data.draw(bodies(valid, hostile)).replace(b'"' + RAW.encode() + b'"', b"1e400")
    send(world, "POST", "/fine_tuning/jobs", content=body, headers=JSON)


@SETTINGS
@given(data=st.data())
def test_job_routes_never_500(world: World, data: st.DataObject) -> None:
    job_id = data.draw(world.ids(world.job_id))
    route = data.draw(st.sampled_from(["list", "get", "verb", "events", "checkpoints"]))
    if route == "list":
        send(world, "GET", "/fine_tuning/jobs", params=data.draw(queries))
    elif route == "get":
        send(world, "GET", f"/fine_tuning/jobs/{job_id}")
    elif route == "verb":
        verb = data.draw(st.sampled_from(["cancel", "pause", "resume"]))
        send(world, "POST", f"/fine_tuning/jobs/{job_id}/{verb}")
    else:
        send(world, "GET", f"/fine_tuning/jobs/{job_id}/{route}", params=data.draw(queries))


@SETTINGS
@given(data=st.data())
def test_model_routes_never_500(world: World, data: st.DataObject) -> None:
    model = quote(data.draw(nasty_text.filter(lambda s: s not in ("", ".", ".."))), safe=":/")
    method = data.draw(st.sampled_from(["GET", "DELETE"]))
    send(world, method, f"/models/{model}")
    send(world, "GET", "/models", params=data.draw(queries))


@SETTINGS
@given(data=st.data())
def test_chat_never_500(world: World, data: st.DataObject) -> None:
    # A model that exists answers for real, so only short answers are asked of it.
    model = data.draw(
        st.sampled_from(["tiny-llama", "tiny-llama", "nope", "/etc", "ft:tiny-llama:local::abcd1234"])
    )
    message = st.fixed_dictionaries(
        {},
        optional={
            "role": st.one_of(st.sampled_from(["user", "system", "assistant", "tool", "robot"]), nasty_text),
            "content": st.one_of(
                nasty_text,
                st.lists(
                    st.fixed_dictionaries(
                        {"type": st.sampled_from(["text", "image_url"]), "text": nasty_text}
                    )
                ),
                json_value,
            ),
        },
    )
    valid = {
        "model": st.just(model),
        "messages": st.just([{"role": "user", "content": "hi"}]),
        "max_tokens": small,
    }
    tokens = not_slow_tokens if model == "tiny-llama" else st.one_of(nasty_number, json_value)
    hostile = {
        "model": nasty_text,
        "messages": st.lists(message, max_size=3),
        "max_tokens": tokens,
        "max_completion_tokens": tokens,
        "temperature": nasty_number,
        "top_p": nasty_number,
        "seed": nasty_number,
        "stop": st.one_of(nasty_text, st.lists(nasty_text, max_size=6)),
        "n": nasty_number,
        "stream": st.booleans(),
        "stream_options": st.one_of(st.just({"include_usage": True}), json_value),
    }
    body = data.draw(bodies(valid, hostile))
    if model == "tiny-llama" and b'"max_tokens"' not in body:
        return  # the default answer length (256) is real work for every example: keep the run short
    send(world, "POST", "/chat/completions", content=body, headers=JSON)


def test_unknown_routes_and_methods_never_500(world: World) -> None:
    for method, path in [
        ("PUT", "/files"),
        ("PATCH", "/fine_tuning/jobs"),
        ("GET", "/%00"),
        ("GET", "/" + "a" * 5000),
    ]:
        send(world, method, path)
