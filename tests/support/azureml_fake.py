"""An adapter-level fake of `ftui_azure.azureml_backend.AzureMLBackend`: the parts of Azure ML
that have no loopback server here (data assets in storage, registries, MLflow, serverless
endpoints) as plain state, with the same statuses and shapes the real adapter returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCRIPT = ("NotStarted", "Queued", "Running", "Completed")


@dataclass
class FakeAzureML:
    models: tuple[str, ...] = ("Phi-4-mini-instruct", "Llama-3.2-1B-Instruct")
    chat_url: str | None = None  # where a ready endpoint's OpenAI-style route answers
    key: str = "endpoint-key-0123456789"
    endpoint_polls: int = 1
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    submitted: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    endpoints_: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics_error: Exception | None = None

    def upload_data(self, path: Path, name: str) -> dict[str, Any]:
        asset = {
            "id": f"azureml:{name}:1",
            "name": Path(path).name,
            "bytes": Path(path).stat().st_size,
            "created_at": datetime.now(UTC),
        }
        self.data[asset["id"]] = asset
        self.uploads[asset["id"]] = Path(path).read_bytes()
        return asset

    def data_asset(self, asset_id: str) -> dict[str, Any] | None:
        return self.data.get(asset_id)

    def base_models(self) -> list[str]:
        return list(self.models)

    def model_id(self, model: str) -> str:
        if model.startswith("azureml://"):
            return model
        if model not in self.models:
            from azure.core.exceptions import ResourceNotFoundError

            raise ResourceNotFoundError(f"Model {model} not found in registry azureml")
        return f"azureml://registries/azureml/models/{model}/versions/3"

    def submit(self, **job: Any) -> dict[str, Any]:
        self.submitted.append(job)
        self.state[job["name"]] = {"i": 0, "created_at": datetime.now(UTC), **job}
        return self._view(job["name"])

    def _view(self, name: str) -> dict[str, Any]:
        s = self.state[name]
        status = s.get("status") or SCRIPT[s["i"]]
        return {
            "name": name,
            "status": status,
            "created_at": s["created_at"],
            "tags": s["tags"],
            "base_model": s["model_id"],
            "output_model": s["output_name"],
            "hyperparameters": s["hyperparameters"],
            "training_data": s["training"],
            "validation_data": s["validation"],
        }

    def job(self, name: str) -> dict[str, Any]:
        if name not in self.state:
            from azure.core.exceptions import ResourceNotFoundError

            raise ResourceNotFoundError(f"job {name} not found")
        s = self.state[name]
        if s.get("status") is None and s["i"] < len(SCRIPT) - 1:
            s["i"] += 1
        return self._view(name)

    def jobs(self) -> list[dict[str, Any]]:
        return [self._view(n) for n in self.state]

    def cancel(self, name: str) -> None:
        self.state[name]["status"] = "Canceled"

    def metrics(self, name: str) -> dict[str, list[tuple[int, float]]]:
        if self.metrics_error:
            raise self.metrics_error
        return self.histories.get(name, {})

    def create_endpoint(self, name: str, model: str) -> dict[str, Any]:
        self.endpoints_[name] = {
            "name": name,
            "status": "Creating",
            "model": model,
            "url": None,
            "created_at": datetime.now(UTC),
            "polls": 0,
        }
        return self.endpoint(name) or {}

    def endpoint(self, name: str) -> dict[str, Any] | None:
        ep = self.endpoints_.get(name)
        if ep is None:
            return None
        ep["polls"] += 1
        if ep["status"] == "Creating" and ep["polls"] > self.endpoint_polls:
            ep.update(status="Succeeded", url=self.chat_url)
        elif ep["status"] == "Deleting" and ep["polls"] > 1:  # seen deleting once, then gone
            del self.endpoints_[name]
            return None
        return {k: v for k, v in ep.items() if k != "polls"}

    def endpoints(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "polls"} for e in self.endpoints_.values()]

    def delete_endpoint(self, name: str) -> None:
        self.endpoints_[name].update(status="Deleting", polls=0)

    def endpoint_key(self, name: str) -> str:
        return self.key

    def close(self) -> None:
        pass
