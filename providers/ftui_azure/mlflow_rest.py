"""Step metrics of an Azure ML job from its workspace's MLflow tracking server, over MLflow's REST
API (what `mlflow.get_run(job.name)` reads, without the mlflow and azureml-mlflow packages).

The run id is the job's name. A fine-tuning job is a pipeline: its metrics are logged by child
runs (`tags.mlflow.parentRunId`), so those are merged in.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

API = "/api/2.0/mlflow"


def tracking_url(uri: str) -> str:
    """`azureml://REGION.api.azureml.ms/mlflow/v1.0/...` as the https URL behind it."""
    return "https://" + uri.removeprefix("azureml://") if uri.startswith("azureml://") else uri.rstrip("/")


def _call(base: str, token: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
    url = f"{base}{API}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    if data:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _history(base: str, token: str, run_id: str, key: str) -> list[tuple[int, float]]:
    points: list[tuple[int, float]] = []
    page_token = None
    while True:
        query: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if page_token:
            query["page_token"] = page_token
        answer = _call(base, token, "/metrics/get-history", query)
        points += [(int(m.get("step") or 0), float(m["value"])) for m in answer.get("metrics", [])]
        page_token = answer.get("next_page_token")
        if not page_token:
            return sorted(points)


def metric_histories(base: str, run_id: str, token: str) -> dict[str, list[tuple[int, float]]]:
    run = _call(base, token, "/runs/get", {"run_id": run_id})["run"]
    runs = [run]
    experiment = run["info"].get("experiment_id")
    if experiment:
        found = _call(
            base,
            token,
            "/runs/search",
            body={"experiment_ids": [experiment], "filter": f"tags.mlflow.parentRunId = '{run_id}'"},
        )
        runs += found.get("runs", [])
    histories: dict[str, list[tuple[int, float]]] = {}
    for r in runs:
        rid = r["info"]["run_id"]
        for metric in (r.get("data") or {}).get("metrics", []):
            histories.setdefault(metric["key"], []).extend(_history(base, token, rid, metric["key"]))
    return {k: sorted(v) for k, v in histories.items()}
