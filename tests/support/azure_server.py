"""A loopback server that speaks Azure's shapes: the Azure OpenAI data plane on both route forms
(`/openai/v1/...` and `/openai/...?api-version=`), and the ARM deployments API with its
long-running-operation dance. Small on purpose: what ftui calls, in the shapes Azure answers with
(shared/ref/azure.md): `pending` files that turn `processed` after a delay, `trainingType` required,
null `organization_id` / `result_files` / `estimated_finish`, `pausing` / `resuming` / `canceled`,
`BASE.ft-HEX` model ids, `ftchkpt-HEX` checkpoints, a base64 results.csv, and a first streamed chat
chunk with no choices (Azure's prompt-filter results).

    with AzureServer(key="k", token="t") as az:
        openai.OpenAI(base_url=az.url + "/openai/v1/", api_key="k")

A job moves one step along its script each time it is read, alone or in a list (pending, running,
succeeded), so tests wait on conditions, never on time. ARM operations finish after `lro_polls` status polls.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BASE_MODELS = ("gpt-4.1-mini-2025-04-14", "gpt-4o-2024-08-06", "o4-mini-2025-04-16")
NOT_TRAINABLE = "The specified base model does not support fine-tuning."
ARM = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.CognitiveServices/accounts/(?P<acct>[^/]+)/deployments(?:/(?P<name>[^/]+))?$"
)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    auth: str | None  # "api-key", "bearer", or None
    credential: str | None
    body: Any = None


@dataclass
class AzureServer:
    key: str = "azure-key-0123456789"
    token: str = "entra-token-0123456789"  # the bearer token the fake credential hands out
    processing_delay: float = 0.2  # seconds a file stays `pending`
    lro_polls: int = 2  # status polls an ARM operation answers InProgress
    quota: int = 100  # capacity units a deployment may ask for
    cancel_word: str = "canceled"  # Azure answers both spellings
    forbidden: bool = False  # the identity lacks its role: every data-plane call answers 403
    chat_any: bool = False  # answer chat for any name (an endpoint that is not an Azure OpenAI resource)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.ready_at: dict[str, float] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.chats: list[dict[str, Any]] = []
        self.custom_models: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> AzureServer:
        server = self

        class Handler(_Handler):
            az = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, pattern: str, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if re.search(pattern, s.path) and method in (None, s.method)]

    # -- data plane ---------------------------------------------------------------------------
    def upload(self, filename: str, data: bytes, purpose: str) -> dict[str, Any]:
        fid = "file-" + secrets.token_hex(12)
        try:
            rows = [json.loads(line) for line in data.decode("utf-8-sig").splitlines() if line.strip()]
        except ValueError:
            rows = None
        self.files[fid] = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "pending",
            "status_details": None if rows is not None else "Invalid file format: not JSON Lines",
        }
        self.contents[fid] = data
        self.ready_at[fid] = time.monotonic() + self.processing_delay
        return self.files[fid]

    def file(self, fid: str) -> dict[str, Any]:
        f = self.files[fid]
        if f["status"] == "pending" and time.monotonic() >= self.ready_at[fid]:
            f["status"] = "error" if f["status_details"] else "processed"
        return f

    def create_job(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = body.get("model")
        if "trainingType" not in body or model not in BASE_MODELS:
            return 400, _error("invalidPayload", NOT_TRAINABLE)
        tid = body.get("training_file")
        if tid not in self.files:
            return 400, _error("invalidPayload", f"The training file {tid} was not found.")
        if self.file(tid)["status"] != "processed":
            return 400, _error("invalidPayload", f"The file {tid} is not ready: its status is pending.")
        jid = "ftjob-" + secrets.token_hex(16)
        method = body.get("method") or {"type": "supervised"}
        job = {
            "id": jid,
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "finished_at": None,
            "estimated_finish": None,
            "fine_tuned_model": None,
            "model": model,
            "organization_id": None,
            "result_files": None,
            "status": "pending",
            "validation_file": body.get("validation_file"),
            "training_file": tid,
            "hyperparameters": (method.get(method["type"]) or {}).get("hyperparameters") or {},
            "method": method,
            "trained_tokens": None,
            "error": None,
            "seed": body.get("seed", 42),
            "suffix": body.get("suffix"),
            "trainingType": body["trainingType"],
            "metadata": body.get("metadata"),
        }
        self.jobs[jid] = job
        self.events[jid] = []
        self.checkpoints[jid] = []
        self._event(jid, "Job enqueued. Waiting for jobs ahead to complete.")
        return 201, job

    def _event(self, jid: str, message: str, level: str = "info") -> None:
        events = self.events[jid]
        events.append(
            {
                "id": f"ftevent-{len(events):06d}{secrets.token_hex(4)}",
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "type": "message",
                "data": None,
            }
        )

    def advance(self, jid: str) -> dict[str, Any]:
        """One step of the job's life, taken each time the job is read."""
        job = self.jobs[jid]
        word = job["status"]
        if word == "pending":
            job["status"] = "running"
            job["estimated_finish"] = int(time.time()) + 60
            self._event(jid, "Training started.")
            self._event(jid, "Step 1: training loss=1.25")
        elif word == "pausing":
            job["status"] = "paused"
            self._event(jid, "Job paused.")
        elif word == "resuming":
            job["status"] = "running"
        elif word == "running":
            self._succeed(jid)
        return job

    def steer(self, jid: str, verb: str) -> tuple[int, dict[str, Any]]:
        """cancel, pause, resume: Azure's answer to each."""
        job = self.jobs[jid]
        need = {"pause": "running", "resume": "paused"}.get(verb)
        if verb not in ("cancel", "pause", "resume"):
            return 404, _error("404", "Resource not found")
        if need and job["status"] != need:
            return 400, _error("invalidState", f"Only a {need} job can be {verb}d.")
        if verb == "cancel":
            job.update(status=self.cancel_word, finished_at=int(time.time()))
        else:
            job["status"] = "pausing" if verb == "pause" else "resuming"
        return 200, job

    def _succeed(self, jid: str) -> None:
        job = self.jobs[jid]
        hexid = secrets.token_hex(16)
        job["fine_tuned_model"] = f"{job['model']}.ft-{hexid}"
        csv = (
            "step,train_loss,train_mean_token_accuracy,valid_loss,validation_mean_token_accuracy,"
            "full_valid_loss,full_valid_mean_token_accuracy\n"
            "1,1.25,0.50,,,,\n2,0.90,0.61,0.95,0.58,,\n3,0.61,0.70,0.72,0.66,0.74,0.65\n"
        )
        rid = "file-" + secrets.token_hex(12)
        self.contents[rid] = base64.b64encode(csv.encode())
        self.files[rid] = {
            "id": rid,
            "object": "file",
            "bytes": len(self.contents[rid]),
            "created_at": int(time.time()),
            "filename": "results.csv",
            "purpose": "fine-tune-results",
            "status": "processed",
            "status_details": None,
        }
        self.ready_at[rid] = 0
        for step in (1, 2):
            self.checkpoints[jid].append(
                {
                    "id": f"ftchkpt-{secrets.token_hex(16)}",
                    "object": "fine_tuning.job.checkpoint",
                    "created_at": int(time.time()),
                    "fine_tuned_model_checkpoint": f"{job['model']}.ft-{hexid}:ckpt-step-{step}",
                    "fine_tuning_job_id": jid,
                    "metrics": {"step": step, "train_loss": 1.0 / step},
                    "step_number": step,
                }
            )
        self.custom_models.append(job["fine_tuned_model"])
        job.update(
            status="succeeded",
            finished_at=int(time.time()),
            result_files=[rid],
            trained_tokens=1200,
            estimated_finish=None,
        )
        self._event(jid, "Training job succeeded.")

    def models(self) -> list[dict[str, Any]]:
        out = [
            {
                "id": m,
                "object": "model",
                "created_at": 1700000000,
                "capabilities": {"fine_tune": True, "inference": True, "chat_completion": True},
                "lifecycle_status": "generally-available",
            }
            for m in BASE_MODELS
        ]
        out.append({"id": "text-embedding-3-small", "object": "model", "capabilities": {"fine_tune": False}})
        out += [
            {"id": m, "object": "model", "created_at": 1700000000, "capabilities": {}}
            for m in self.custom_models
        ]
        return out

    # -- management plane -------------------------------------------------------------------
    def start_operation(self, name: str, kind: str, error: dict[str, Any] | None = None) -> str:
        op = secrets.token_hex(8)
        self.operations[op] = {"name": name, "kind": kind, "polls": 0, "error": error}
        return op

    def poll(self, op: str) -> dict[str, Any]:
        o = self.operations[op]
        o["polls"] += 1
        if o["polls"] <= self.lro_polls:
            return {"status": "InProgress"}
        d = self.deployments.get(o["name"])
        if o["kind"] == "delete":
            self.deployments.pop(o["name"], None)
            return {"status": "Succeeded"}
        if o["error"]:
            if d:
                d["properties"]["provisioningState"] = "Failed"
            return {"status": "Failed", "error": o["error"]}
        if d:
            d["properties"]["provisioningState"] = "Succeeded"
        return {"status": "Succeeded"}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "param": None, "type": None}}


class _Handler(BaseHTTPRequestHandler):
    az: AzureServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    # -- plumbing -----------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("apim-request-id", secrets.token_hex(8))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> tuple[bytes, str]:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b"", self.headers.get("Content-Type", "")

    def _auth(self) -> tuple[str | None, str | None]:
        if self.headers.get("api-key"):
            return "api-key", self.headers["api-key"]
        value = self.headers.get("Authorization", "")
        if value.startswith("Bearer "):
            return "bearer", value[7:]
        return None, None

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw, ctype = self._body()
        body: Any = None
        if raw and "json" in ctype:
            body = json.loads(raw)
        kind, cred = self._auth()
        az = self.az
        with az.lock:
            az.seen.append(Seen(method, url.path, query, kind, cred, body))
        if ARM.match(url.path) or url.path.startswith("/operations/"):
            if kind != "bearer" or cred != az.token:
                return self._send(
                    401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}}
                )
            if "api-version" not in query:
                return self._send(
                    400, {"error": {"code": "MissingApiVersionParameter", "message": "no api-version"}}
                )
            with az.lock:
                return self._arm(method, url.path, body)
        path = url.path
        if path.startswith("/openai/v1/"):
            path = path[len("/openai/v1") :]
        elif path.startswith("/openai/"):
            if "api-version" not in query:
                return self._send(404, _error("404", "Resource not found"))
            path = path[len("/openai") :]
        else:
            return self._send(404, _error("404", "Resource not found"))
        if cred not in (az.key, az.token):
            return self._send(
                401,
                _error("401", "Access denied due to invalid subscription key or wrong API endpoint."),
            )
        if az.forbidden:
            return self._send(
                403,
                {
                    "error": {
                        "code": "PermissionDenied",
                        "message": "Principal does not have access to API/Operation.",
                    }
                },
            )
        with az.lock:
            self._data(method, path, body, raw, ctype, query)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- data plane ---------------------------------------------------------------------------
    def _data(self, method: str, path: str, body: Any, raw: bytes, ctype: str, query: dict[str, str]) -> None:
        parts = path.strip("/").split("/")
        if parts[0] == "files":
            return self._files(method, parts, raw, ctype)
        if path == "/models":
            return self._send(200, {"object": "list", "data": self.az.models()})
        if parts[:2] == ["fine_tuning", "jobs"]:
            return self._jobs(method, parts[2:], body, query)
        if path == "/chat/completions" or (
            parts[0] == "deployments" and parts[-2:] == ["chat", "completions"]
        ):
            name = parts[1] if parts[0] == "deployments" else (body or {}).get("model")
            return self._chat(name, body or {})
        return self._send(404, _error("404", "Resource not found"))

    def _files(self, method: str, parts: list[str], raw: bytes, ctype: str) -> None:
        az = self.az
        if len(parts) == 1 and method == "POST":
            fields = _multipart(raw, ctype)
            name, data = fields["file"]
            return self._send(200, az.upload(name, data, fields["purpose"][1].decode()))
        if len(parts) == 1:
            return self._send(
                200, {"object": "list", "data": [az.file(f) for f in az.files], "has_more": False}
            )
        fid = parts[1]
        if fid not in az.files:
            return self._send(404, _error("fileNotFound", f"File with id '{fid}' was not found."))
        if parts[2:] == ["content"]:
            data = az.contents[fid]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if method == "DELETE":
            az.files.pop(fid)
            return self._send(200, {"id": fid, "object": "file", "deleted": True})
        return self._send(200, az.file(fid))

    def _jobs(self, method: str, parts: list[str], body: Any, query: dict[str, str]) -> None:
        az = self.az
        if not parts and method == "POST":
            status, job = az.create_job(body)
            return self._send(200 if status == 201 else status, job)
        if not parts:  # a list read moves every job along too, as time would on Azure
            jobs = [az.advance(j) for j in reversed(list(az.jobs))]  # newest first
            return self._send(200, _page(jobs, query))
        jid, verb = parts[0], (parts[1] if len(parts) > 1 else None)
        if jid not in az.jobs:
            return self._send(404, _error("jobNotFound", f"The job {jid} was not found."))
        if verb is None:
            return self._send(200, az.advance(jid))
        if verb in ("events", "checkpoints"):
            items = az.events[jid] if verb == "events" else az.checkpoints[jid]
            return self._send(200, _page(list(reversed(items)), query))
        return self._send(*az.steer(jid, verb))

    def _chat(self, name: str | None, body: dict[str, Any]) -> None:
        d = self.az.deployments.get(name or "")
        if self.az.chat_any and d is None:
            d = {"properties": {"provisioningState": "Succeeded", "model": {"name": name}}}
        if d is None or d["properties"]["provisioningState"] != "Succeeded":
            return self._send(
                404,
                _error(
                    "DeploymentNotFound",
                    "The API deployment for this resource does not exist. If you created the deployment "
                    "within the last 5 minutes, please wait a moment and try again.",
                ),
            )
        self.az.chats.append({"deployment": name, **body})
        words = ["Arr", ", ", "matey", "!"]
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]]) -> bytes:
            payload = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": created,
                "model": d["properties"]["model"]["name"],
                "choices": choices,
            }
            if not choices:
                payload["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": {}}]
            return f"data: {json.dumps(payload)}\n\n".encode()

        frames = [chunk([])]
        frames += [chunk([{"index": 0, "delta": {"content": w}, "finish_reason": None}]) for w in words]
        frames.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        frames.append(b"data: [DONE]\n\n")
        data = b"".join(frames)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return None

    # -- management plane ---------------------------------------------------------------------
    def _arm(self, method: str, path: str, body: Any) -> None:
        az = self.az
        if path.startswith("/operations/"):
            op = path.rsplit("/", 1)[1]
            if op not in az.operations:
                return self._send(404, {"error": {"code": "NotFound", "message": op}})
            return self._send(200, {"name": op, **az.poll(op)})
        m = ARM.match(path)
        assert m is not None
        name = m["name"]
        if name is None:
            return self._send(200, {"value": list(az.deployments.values())})
        if method == "GET":
            if name not in az.deployments:
                return self._send(
                    404, {"error": {"code": "DeploymentNotFound", "message": f"{name} not found"}}
                )
            return self._send(200, az.deployments[name])
        if method == "PUT":
            sku = body.get("sku") or {}
            model = ((body.get("properties") or {}).get("model") or {}).get("name", "")
            if int(sku.get("capacity") or 1) > az.quota:
                return self._send(
                    400,
                    {
                        "error": {
                            "code": "InsufficientQuota",
                            "message": "This operation require "
                            f"{sku.get('capacity')} new capacity in quota Tokens Per Minute (thousands), "
                            f"which is bigger than the current available capacity {az.quota}.",
                        }
                    },
                )
            error = None
            if (
                model not in az.custom_models
                and not model.startswith("ftchkpt-")
                and model not in BASE_MODELS
            ):
                error = {
                    "code": "DeploymentModelNotSupported",
                    "message": f"The model '{model}' is not supported.",
                }
            az.deployments[name] = {
                "id": path,
                "name": name,
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "sku": sku,
                "properties": {**(body.get("properties") or {}), "provisioningState": "Creating"},
                "systemData": {"createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            }
            op = az.start_operation(name, "create", error)
            return self._send(
                201,
                az.deployments[name],
                {"Azure-AsyncOperation": f"{az.url}/operations/{op}?api-version=2025-09-01"},
            )
        if method == "DELETE":
            if name not in az.deployments:
                return self._send(204)
            az.deployments[name]["properties"]["provisioningState"] = "Deleting"
            op = az.start_operation(name, "delete")
            return self._send(
                202,
                None,
                {
                    "Azure-AsyncOperation": f"{az.url}/operations/{op}?api-version=2025-09-01",
                    "Location": f"{az.url}/operations/{op}?api-version=2025-09-01",
                },
            )
        return self._send(405)


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """OpenAI-style cursor paging: newest first, `after` an id, `limit`."""
    start = 0
    if query.get("after"):
        ids = [i["id"] for i in items]
        start = ids.index(query["after"]) + 1 if query["after"] in ids else len(items)
    limit = int(query.get("limit") or 20)
    chunk = items[start : start + limit]
    return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}


def _multipart(raw: bytes, ctype: str) -> dict[str, tuple[str, bytes]]:
    boundary = ctype.split("boundary=", 1)[1].strip('"').encode()
    fields: dict[str, tuple[str, bytes]] = {}
    for part in raw.split(b"--" + boundary):
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = re.search(rb'name="([^"]+)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if name:
            fields[name[1].decode()] = (filename[1].decode() if filename else "", data.removesuffix(b"\r\n"))
    return fields


@dataclass
class FakeCredential:
    """An azure-core TokenCredential: hands out `token` and records the scopes asked for."""

    token: str = "entra-token-0123456789"
    scopes: list[str] = field(default_factory=list)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes += scopes
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        self.scopes += scopes
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


def entra_profile(az: AzureServer) -> str:
    """config.toml text for profile `az`: Azure OpenAI on the loopback server, signed in with Entra
    ID, its management plane there too."""
    return (
        f'[profiles.az]\nprovider = "azure"\nendpoint = "{az.url}"\nauth = "entra"\n'
        f'poll_interval = 0.05\nsubscription_id = "sub-1"\nresource_group = "rg"\naccount = "acct"\n'
        f'management_url = "{az.url}"\n'
    )


def fake_az_cli(folder: Any, token: str) -> dict[str, str]:
    """An `az` on PATH that answers `az account get-access-token` as the Azure CLI does, so the real
    azure-identity (AzureCliCredential, picked by AZURE_TOKEN_CREDENTIALS) signs a CLI process in.
    Returns the environment to run it with; each call's arguments go to `folder/az-calls`."""
    import os
    import sys
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "az"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        f"open({str(folder / 'az-calls')!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"print(json.dumps({{'accessToken': {token!r}, 'expires_on': int(time.time()) + 3600,\n"
        "    'expiresOn': '2099-01-01 00:00:00.000000', 'tokenType': 'Bearer', 'tenant': 't'}))\n"
    )
    script.chmod(0o755)
    return {
        "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
    }
