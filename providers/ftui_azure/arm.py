"""Azure OpenAI deployments through the management plane (azure-mgmt-cognitiveservices).

Creating and deleting are ARM long-running operations: the PUT (or DELETE) answers 201/202 with an
`Azure-AsyncOperation` URL, the SDK's poller follows it in its own thread, then reads the result.
The resource's own `provisioningState` is what `get` reports; a failed operation's error (quota,
policy) is only on the poller, so it is kept for `error_of`.

Every call blocks: the provider runs them in threads.
"""

from __future__ import annotations

from typing import Any

from ftui.errors import FtuiError
from ftui_azure.settings import AzureSettings


class ArmDeployments:
    def __init__(self, settings: AzureSettings, credential: Any) -> None:
        missing = [k for k in ("subscription_id", "resource_group", "account") if not getattr(settings, k)]
        if missing:
            raise FtuiError(
                "deployments need the resource's place in Azure: set "
                + ", ".join(missing)
                + " in the profile (the Azure portal shows them on the resource's Overview page)"
            )
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        self.settings = settings
        self.group = str(settings.resource_group)
        self.account = str(settings.account)
        self.client = CognitiveServicesManagementClient(
            credential,
            str(settings.subscription_id),
            base_url=settings.management_url,
            polling_interval=settings.poll_interval,
        )
        # Bearer tokens go only over TLS, except to a loopback management server (tests, proxies).
        self._call: dict[str, Any] = (
            {"enforce_https": False} if settings.management_url.startswith("http://") else {}
        )
        self._pollers: dict[str, Any] = {}

    def create(self, name: str, model: str, sku: str, capacity: int) -> Any:
        from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

        body = Deployment(
            sku=Sku(name=sku, capacity=capacity),
            properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model, version="1")),
        )
        poller = self.client.deployments.begin_create_or_update(
            self.group, self.account, name, body, **self._call
        )
        self._pollers[name] = poller
        return self.get(name)

    def get(self, name: str) -> Any:
        return self.client.deployments.get(self.group, self.account, name, **self._call)

    def list(self) -> list[Any]:
        return list(self.client.deployments.list(self.group, self.account, **self._call))

    def delete(self, name: str) -> None:
        self._pollers[name] = self.client.deployments.begin_delete(
            self.group, self.account, name, **self._call
        )

    def error_of(self, name: str, wait: float = 10.0) -> Exception | None:
        """The error the operation on `name` ended with, if this process started one. Called once
        the resource shows a terminal state, when the operation's last poll is at most a moment away."""
        poller = self._pollers.get(name)
        if poller is None:
            return None
        try:
            poller.wait(timeout=wait)  # re-raises the operation's error once it has one
        except Exception as exc:
            return exc
        return None

    def close(self) -> None:
        self.client.close()
