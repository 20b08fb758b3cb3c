"""The one place ftui touches azure-ai-ml (its fine-tuning API is marked experimental).

`AzureMLBackend` is what the Azure ML provider needs, in plain values (dicts of JSON-like data);
`SdkBackend` implements it with `MLClient`. Everything here blocks: the provider calls it in threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ftui_azure.settings import AzureMLSettings

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})


class AzureMLBackend(Protocol):
    def upload_data(self, path: Path, name: str) -> dict[str, Any]:
        """Register `path` as a uri_file data asset; {"id": "azureml:NAME:VERSION", "name", "bytes"}."""
        ...

    def data_asset(self, asset_id: str) -> dict[str, Any] | None: ...

    def base_models(self) -> list[str]: ...

    def model_id(self, model: str) -> str:
        """A registry model's asset id (azureml://registries/...) for a name or id."""
        ...

    def submit(
        self,
        *,
        name: str,
        model_id: str,
        training: str,
        validation: str,
        hyperparameters: dict[str, str],
        output_name: str,
        tags: dict[str, str],
    ) -> dict[str, Any]: ...

    def job(self, name: str) -> dict[str, Any]:
        """{"name", "status", "created_at", "tags", "output_model", "error", "display_name"}."""
        ...

    def jobs(self) -> list[dict[str, Any]]: ...

    def cancel(self, name: str) -> None: ...

    def metrics(self, name: str) -> dict[str, list[tuple[int, float]]]:
        """Each metric's (step, value) history from the workspace's MLflow tracking; {} if unreachable."""
        ...

    def create_endpoint(self, name: str, model: str) -> dict[str, Any]:
        """{"name", "status", "model", "url", "created_at"}; starts a serverless endpoint."""
        ...

    def endpoint(self, name: str) -> dict[str, Any] | None: ...

    def endpoints(self) -> list[dict[str, Any]]: ...

    def delete_endpoint(self, name: str) -> None: ...

    def endpoint_key(self, name: str) -> str: ...

    def close(self) -> None: ...


def _word(value: Any) -> str | None:
    """An azure-ai-ml str-enum member (JobStatus.RUNNING) as Azure's own word (Running)."""
    return None if value is None else str(getattr(value, "value", value))


def _when(entity: Any) -> Any:
    ctx = getattr(entity, "creation_context", None)
    return getattr(ctx, "created_at", None)


class SdkBackend:
    def __init__(self, settings: AzureMLSettings, credential: Any) -> None:
        import logging

        from azure.ai.ml import MLClient

        # azure-ai-ml logs "experimental" for every fine-tuning class it builds; the README says so once.
        logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
        self.settings = settings
        self.credential = credential
        self.client = MLClient(
            credential, settings.subscription_id, settings.resource_group, settings.workspace
        )
        self._workspace: Any = None

    def _registry(self) -> Any:
        from azure.ai.ml import MLClient

        return MLClient(self.credential, registry_name=self.settings.registry)

    # -- data -------------------------------------------------------------------------------
    def upload_data(self, path: Path, name: str) -> dict[str, Any]:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Data

        asset = self.client.data.create_or_update(
            Data(name=name, version="1", path=str(path), type=AssetTypes.URI_FILE, description=path.name)
        )
        return self._data(asset, path.stat().st_size)

    @staticmethod
    def _data(asset: Any, size: int = 0) -> dict[str, Any]:
        return {
            "id": f"azureml:{asset.name}:{asset.version}",
            "name": asset.description or asset.name,
            "bytes": size,
            "created_at": _when(asset),
        }

    def data_asset(self, asset_id: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        _, name, version = asset_id.split(":", 2)
        try:
            return self._data(self.client.data.get(name, version=version))
        except ResourceNotFoundError:
            return None

    # -- models -----------------------------------------------------------------------------
    def base_models(self) -> list[str]:
        return [m.name for m in self._registry().models.list()]

    def model_id(self, model: str) -> str:
        if model.startswith("azureml://"):
            return model
        return str(self._registry().models.get(model, label="latest").id)

    # -- jobs -------------------------------------------------------------------------------
    def submit(
        self,
        *,
        name: str,
        model_id: str,
        training: str,
        validation: str,
        hyperparameters: dict[str, str],
        output_name: str,
        tags: dict[str, str],
    ) -> dict[str, Any]:
        from azure.ai.ml.finetuning import FineTuningTaskType, create_finetuning_job

        s = self.settings
        job = create_finetuning_job(
            task=FineTuningTaskType.CHAT_COMPLETION,
            model=model_id,
            training_data=training,
            # Always given: without it azure-ai-ml 1.35 raises UnboundLocalError (sdk-for-python#45770).
            validation_data=validation,
            hyperparameters=hyperparameters,
            output_model_name_prefix=output_name,
            compute=s.compute,
            instance_types=[s.instance_type] * s.instance_count if s.instance_type else None,
            name=name,
            display_name=name,
            experiment_name=s.experiment,
            tags=tags,
        )
        return self._job(self.client.jobs.create_or_update(job))

    @staticmethod
    def _job(entity: Any) -> dict[str, Any]:
        outputs = getattr(entity, "outputs", None) or {}
        registered = outputs.get("registered_model") if isinstance(outputs, dict) else None
        model = getattr(entity, "model", None)
        return {
            "name": entity.name,
            "status": _word(entity.status) or "NotStarted",
            "created_at": _when(entity),
            "tags": dict(getattr(entity, "tags", None) or {}),
            "base_model": str(getattr(model, "path", "") or ""),
            "output_model": getattr(registered, "name", None),
            "hyperparameters": dict(getattr(entity, "hyperparameters", None) or {}),
            "training_data": str(getattr(getattr(entity, "training_data", None), "path", "") or ""),
            "validation_data": str(getattr(getattr(entity, "validation_data", None), "path", "") or ""),
            "studio_url": getattr(entity, "studio_url", None),
        }

    def job(self, name: str) -> dict[str, Any]:
        return self._job(self.client.jobs.get(name))

    def jobs(self) -> list[dict[str, Any]]:
        return [
            self._job(j)
            for j in self.client.jobs.list()
            if str(getattr(j, "type", "")).lower() == "finetuning" or (j.tags or {}).get("ftui")
        ]

    def cancel(self, name: str) -> None:
        self.client.jobs.begin_cancel(name).result()

    def metrics(self, name: str) -> dict[str, list[tuple[int, float]]]:
        from ftui_azure.mlflow_rest import metric_histories, tracking_url

        if self._workspace is None:
            self._workspace = self.client.workspaces.get(self.settings.workspace)
        uri = getattr(self._workspace, "mlflow_tracking_uri", None)
        if not uri:
            return {}
        token = self.credential.get_token("https://management.azure.com/.default").token
        return metric_histories(tracking_url(uri), name, token)

    # -- serverless endpoints ---------------------------------------------------------------
    def _model_uri(self, model: str) -> str:
        """A workspace model's id as serverless endpoints take it."""
        if model.startswith("azureml://"):
            return model
        if self._workspace is None:
            self._workspace = self.client.workspaces.get(self.settings.workspace)
        ws = self._workspace
        name, _, version = model.partition(":")
        version = version or str(self.client.models.get(name, label="latest").version)
        return f"azureml://locations/{ws.location}/workspaces/{ws._workspace_id}/models/{name}/versions/{version}"

    @staticmethod
    def _endpoint(ep: Any) -> dict[str, Any]:
        return {
            "name": ep.name,
            "status": _word(getattr(ep, "provisioning_state", None)) or "Creating",
            "model": str(getattr(ep, "model_id", "") or ""),
            "url": getattr(ep, "scoring_uri", None),
            "created_at": _when(ep),
        }

    def create_endpoint(self, name: str, model: str) -> dict[str, Any]:
        from azure.ai.ml.entities import ServerlessEndpoint

        poller = self.client.serverless_endpoints.begin_create_or_update(
            ServerlessEndpoint(name=name, model_id=self._model_uri(model))
        )
        del poller  # azure-core follows the operation in its own thread; `endpoint()` reads the state
        found = self.endpoint(name)
        return found or {"name": name, "status": "Creating", "model": model, "url": None, "created_at": None}

    def endpoint(self, name: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._endpoint(self.client.serverless_endpoints.get(name))
        except ResourceNotFoundError:
            return None

    def endpoints(self) -> list[dict[str, Any]]:
        return [self._endpoint(e) for e in self.client.serverless_endpoints.list()]

    def delete_endpoint(self, name: str) -> None:
        self.client.serverless_endpoints.begin_delete(name)

    def endpoint_key(self, name: str) -> str:
        return str(self.client.serverless_endpoints.get_keys(name).primary_key)

    def close(self) -> None:
        pass
