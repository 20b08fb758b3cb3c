"""Shared by the serve and OpenAI-provider tests: run `ftui serve` on a free port, record every
response it gives, and check each against OpenAI's OpenAPI spec (shared/ref/openai-openapi.yml).

Deliberate deviations from the spec are listed in DEVIATIONS, each with why; nothing else passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from support.eventually import eventually_sync

# shared/ lies beside the checkout (as in CI's fresh clone), or further up (a worktree's checkout).
SPEC_PATH = next(
    (
        p / "shared" / "ref" / "openai-openapi.yml"
        for p in Path(__file__).resolve().parents[2:]
        if (p / "shared" / "ref").is_dir()
    ),
    Path(__file__).resolve().parents[3] / "shared" / "ref" / "openai-openapi.yml",
)


@cache
def spec() -> dict[str, Any]:
    import yaml

    with open(SPEC_PATH, encoding="utf-8") as fh:
        return _as_json_schema(yaml.load(fh, Loader=yaml.CSafeLoader))


def _as_json_schema(node: Any) -> Any:
    """The document says OpenAPI 3.1 but keeps some 3.0 spellings (111 `nullable: true`, 7 boolean
    `exclusiveMinimum`); read them as they were meant, or valid responses would fail."""
    if isinstance(node, list):
        return [_as_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _as_json_schema(v) for k, v in node.items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(bound) is True and limit in node:
            node[bound] = node.pop(limit)
        elif node.get(bound) is False:
            node.pop(bound)
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource("spec", Resource(contents=spec(), specification=DRAFT202012))


def validator(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_rebase(schema), registry=_registry())


def _rebase(schema: Any) -> Any:
    """Point local `#/components/...` refs at the registered spec document."""
    if isinstance(schema, dict):
        return {
            k: ("spec" + v if k == "$ref" and v.startswith("#") else _rebase(v)) for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


@cache
def _operations() -> list[tuple[re.Pattern[str], str, str]]:
    ops = []
    for path, item in spec()["paths"].items():
        # Model names hold colons (and may hold slashes, sent as %2F): {model} takes the rest.
        pattern = re.sub(r"\{model\}$", r"(?P<model>.+)", path)
        pattern = re.sub(r"\{[^}]+\}", r"[^/]+", pattern)
        for method in item:
            if method in ("get", "post", "delete"):
                ops.append((re.compile(f"^{pattern}$"), method.upper(), path))
    return ops


def operation(method: str, path: str) -> str | None:
    path = path.removeprefix("/v1")
    for pattern, m, template in _operations():
        if m == method and pattern.match(path):
            return f"{m} {template}"
    return None


# Where real OpenAI responses (which the SDK and users' scripts are written against) differ from
# OpenAI's own spec, the server follows the responses. Each entry: (why, predicate on the error).
def _is(error: Any, validator_name: str, last: str | None, instance: Any) -> bool:
    path = list(error.absolute_path)
    return (
        error.validator == validator_name
        and (last is None or (path and path[-1] == last))
        and error.instance == instance
    )


DEVIATIONS: list[tuple[str, Any]] = [
    (
        "jobs report status `paused` after pause (openai.md §1.3); the spec's enum lacks it",
        lambda e: _is(e, "enum", "status", "paused"),
    ),
    (
        "healthy jobs carry `error: {}` as real OpenAI jobs do (openai.md §2, §8.5)",
        lambda e: _is(e, "anyOf", "error", {}),
    ),
    (
        "an empty file list has first_id/last_id null, as OpenAI sends",
        lambda e: _is(e, "type", "first_id", None) or _is(e, "type", "last_id", None),
    ),
    (
        "DPO and RFT jobs carry `hyperparameters: null` (openai.md §2, spec example)",
        lambda e: _is(e, "type", "hyperparameters", None),
    ),
]


@dataclass
class Recorded:
    method: str
    path: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class SpecRecorder:
    """ASGI wrapper that keeps every response the app sends."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.records: list[Recorded] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rec = Recorded(scope["method"], scope["path"])

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                rec.status = message["status"]
                rec.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                rec.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.records.append(rec)

    def check(self) -> tuple[list[str], set[str]]:
        """(problems, operations covered) over every recorded response."""
        problems: list[str] = []
        covered: set[str] = set()
        for rec in self.records:
            problems += check_response(rec, covered)
        return problems, covered


def _schema_for(op: str, status: int, content_type: str) -> dict[str, Any] | None:
    method, path = op.split(" ", 1)
    if status >= 400:
        return {"$ref": "#/components/schemas/ErrorResponse"}
    responses = spec()["paths"][path][method.lower()]["responses"]
    content = responses.get(str(status), {}).get("content", {})
    return (content.get(content_type) or {}).get("schema")


def check_response(rec: Recorded, covered: set[str]) -> list[str]:
    where = f"{rec.method} {rec.path} -> {rec.status}"
    if not rec.headers.get("x-request-id"):
        return [f"{where}: no x-request-id header"]
    op = operation(rec.method, rec.path)
    if op is None:
        return [] if rec.status == 404 else [f"{where}: not an operation in the spec"]
    ctype = rec.headers.get("content-type", "").split(";")[0].strip()
    if rec.status >= 400 and rec.status not in (400, 401, 403, 404, 422):
        return [f"{where}: status {rec.status} the SDK would retry"]
    if ctype in ("application/octet-stream", "application/binary"):
        covered.add(op)
        return []
    schema = _schema_for(op, rec.status, ctype)
    if schema is None:
        return [f"{where}: the spec declares no {ctype!r} body for status {rec.status}"]
    if ctype == "text/event-stream":
        bodies = []
        text = rec.body.decode()
        if not text.endswith("data: [DONE]\n\n"):
            return [f"{where}: stream does not end with data: [DONE]"]
        for frame in text.split("\n\n"):
            if frame and frame != "data: [DONE]":
                if not frame.startswith("data: "):
                    return [f"{where}: bad SSE frame {frame[:60]!r}"]
                bodies.append(json.loads(frame[6:]))
    else:
        bodies = [json.loads(rec.body)]
    check = validator(schema)
    problems = []
    for body in bodies:
        for error in check.iter_errors(body):
            if not any(allowed(error) for _, allowed in DEVIATIONS):
                path = "/".join(map(str, error.absolute_path))
                problems.append(f"{where}: {path}: {error.message[:300]}")
    covered.add(op)
    return problems


# -- running the server ---------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    recorder: SpecRecorder
    app: Any
    api_key: str

    def client(self, **kwargs: Any) -> Any:
        import openai

        kwargs.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.url, api_key=self.api_key, **kwargs)


@contextmanager
def serve(
    provider: Any, api_key: str = "test-key", check: bool = True, **app_kwargs: Any
) -> Iterator[Served]:
    """`ftui serve` over `provider` on 127.0.0.1; on exit every response must match the spec."""
    from ftui.serve.app import create_app
    from ftui.serve.server import BackgroundServer

    app = create_app(provider, api_key=api_key, **app_kwargs)
    recorder = SpecRecorder(app)
    with BackgroundServer(recorder) as server:
        yield Served(server.url, recorder, app, api_key)
    if check:
        problems, _ = recorder.check()
        assert not problems, "responses that do not match OpenAI's spec:\n" + "\n".join(problems)


def write_chat_examples(path: Path, n: int = 12) -> Path:
    lines = []
    for i in range(n):
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "system", "content": "You answer like a pirate."},
                        {"role": "user", "content": f"What is {i} plus {i}?"},
                        {"role": "assistant", "content": f"Arr, {i} plus {i} be {2 * i}, matey!"},
                    ]
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TERMINAL = {"succeeded", "failed", "cancelled"}


def wait_for(client: Any, job_id: str, timeout: float = 240) -> Any:
    """Poll a job the way a user's script does, until it ends."""
    return eventually_sync(
        lambda: client.fine_tuning.jobs.retrieve(job_id),
        lambda job: job.status in TERMINAL,
        timeout=timeout,
        interval=0.5,
        what=f"job {job_id} finished",
    )
