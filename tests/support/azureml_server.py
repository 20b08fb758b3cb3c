"""A loopback Azure ML management endpoint for azure-ai-ml's `MLClient` (set
`AZUREML_DEV_URL_MFE` to `url`): job create (PUT), get, list and cancel, with Azure ML's statuses;
and the MLflow REST routes a workspace's tracking server answers (`runs`: run id -> metrics).

    with AzureMLServer() as aml:
        monkeypatch.setenv("AZUREML_DEV_URL_MFE", aml.url)

A job moves one status along `script` each time it is read, so tests wait on conditions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

JOBS = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/jobs(?:/(?P<name>[^/]+))?(?P<verb>/cancel)?$"
)


@dataclass
class AzureMLServer:
    token: str = "entra-token-0123456789"
    script: tuple[str, ...] = ("NotStarted", "Preparing", "Running", "Finalizing", "Completed")
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # MLflow: run id -> {"parent": run id or None, "metrics": {key: [(step, value), ...]}}
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def __enter__(self) -> AzureMLServer:
        server = self

        class Handler(_Handler):
            aml = server

        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def read(self, name: str) -> dict[str, Any]:
        job = self.jobs[name]
        status = job["properties"]["status"]
        if status in self.script[:-1]:
            job["properties"]["status"] = self.script[self.script.index(status) + 1]
        elif status == "CancelRequested":
            job["properties"]["status"] = "Canceled"
        return job


class _Handler(BaseHTTPRequestHandler):
    aml: AzureMLServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        aml = self.aml
        with aml.lock:
            aml.seen.append((method, url.path, body))
            if self.headers.get("Authorization") != f"Bearer {aml.token}":
                return self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "no"}})
            if "/api/2.0/mlflow/" in url.path:
                return self._mlflow(url.path.split("/api/2.0/mlflow", 1)[1], parse_qs(url.query), body)
            m = JOBS.match(url.path)
            if url.path.startswith("/ops/"):
                return self._send(200, {"status": "Succeeded"})
            if m is None:
                return self._send(404, {"error": {"code": "NotFound", "message": url.path}})
            name = m["name"]
            if name is None:
                return self._send(200, {"value": list(aml.jobs.values())})
            if method == "PUT":
                props = dict(body["properties"])
                props.update(status="NotStarted", properties=props.get("properties") or {})
                aml.jobs[name] = {
                    "id": url.path,
                    "name": name,
                    "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                    "properties": props,
                    "systemData": {"createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                }
                return self._send(201, aml.jobs[name])
            if name not in aml.jobs:
                return self._send(404, {"error": {"code": "UserError", "message": f"job {name} not found"}})
            if m["verb"]:
                aml.jobs[name]["properties"]["status"] = "CancelRequested"
                return self._send(202, None, {"Location": f"{aml.url}/ops/{name}"})
            return self._send(200, aml.read(name))

    def _mlflow(self, route: str, query: dict[str, list[str]], body: Any) -> None:
        runs = self.aml.runs

        def run(rid: str) -> dict[str, Any]:
            metrics = [
                {"key": k, "value": v[-1][1], "step": v[-1][0]} for k, v in runs[rid]["metrics"].items()
            ]
            return {"info": {"run_id": rid, "experiment_id": "1"}, "data": {"metrics": metrics}}

        if route == "/runs/get":
            rid = query["run_id"][0]
            if rid not in runs:
                return self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": rid})
            return self._send(200, {"run": run(rid)})
        if route == "/runs/search":
            parent = re.search(r"parentRunId = '([^']+)'", body["filter"])
            kids = [run(r) for r, v in runs.items() if parent and v["parent"] == parent[1]]
            return self._send(200, {"runs": kids})
        if route == "/metrics/get-history":
            rid, key = query["run_id"][0], query["metric_key"][0]
            points = [
                {"key": key, "value": v, "step": s, "timestamp": 0} for s, v in runs[rid]["metrics"][key]
            ]
            return self._send(200, {"metrics": points})
        return self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": route})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_POST(self) -> None:
        self._handle("POST")
