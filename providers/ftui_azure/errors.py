"""Azure's known traps turned into advice. Each message says what Azure said, then what to do.

Sources for each trap are in shared/ref/azure.md section 5 (litellm#24687, MS Q&A 1599638,
azure-docs#114370, azure-search-openai-demo#1246, litellm#8572).
"""

from __future__ import annotations

import re
from typing import Any

from ftui_openai.errors import RemoteNotFound, map_error

from ftui.errors import FtuiError, ProviderError
from ftui.secrets import redact

ROLE_ADVICE = (
    "fine-tuning needs the 'Cognitive Services OpenAI Contributor' role on the resource, for the "
    "identity ftui signs in as (Owner or Contributor alone is not enough); a new role assignment "
    "can take a few minutes to apply"
)


def _server_code(exc: Any) -> str | None:
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code else getattr(exc, "code", None)


def data_plane_error(
    exc: Exception,
    *,
    endpoint: str,
    auth: str,
    key_env: str,
    training_type: str,
    secret: str | None,
    retries: int,
) -> FtuiError:
    """An openai SDK exception from an Azure OpenAI resource, as advice."""
    import openai

    base = map_error(exc, base_url=endpoint, key_env=key_env, secret=secret, retries=retries)
    if not isinstance(exc, openai.APIStatusError):
        return base
    status = exc.status_code
    code = _server_code(exc) or ""
    said = str(base)
    text = said.lower()

    def advice(message: str, new_code: str | None = None) -> ProviderError:
        return ProviderError(redact(message, secret), code=new_code or code or base_code(base), status=status)

    if status == 401:
        if auth == "entra":
            return advice(
                f"{endpoint} rejected the Entra ID token (401): {said}. Sign in to the resource's tenant "
                "(`az login --tenant ...`); " + ROLE_ADVICE
            )
        return advice(
            f"{endpoint} rejected the API key from ${key_env} (401). Copy key 1 or 2 from the resource's "
            "'Keys and Endpoint' page, and check the endpoint is that same resource; or set auth = "
            '"entra" in the profile to sign in with Microsoft Entra ID'
        )
    if status == 403 or "principal does not have access" in text or "permissiondenied" in code.lower():
        return advice(f"{endpoint} refused the call ({status}): {said}. {ROLE_ADVICE}")
    if "does not support fine-tuning" in text or "not supported for fine-tuning" in text:
        return advice(
            f"{said}. On Azure this usually means one of: the model name is not Azure's (e.g. "
            "gpt-4.1-mini-2025-04-14, gpt-4o-2024-08-06, with the version), this resource's region does "
            f"not train that model with training type {training_type} (Standard trains in a few "
            "regions only; try --option training_type=GlobalStandard), or the "
            "'Cognitive Services OpenAI Contributor' role is missing. ftui sent "
            f"trainingType={training_type}",
            "model_not_trainable",
        )
    if "trainingtype" in text or "training type" in text:
        return advice(
            f"{said}. Azure needs a training type for every job; ftui sent {training_type}. Choose "
            "another with --option training_type=Standard|GlobalStandard|Developer (or training_type "
            "in the profile)",
            "training_type",
        )
    if re.search(r"\bfile\b.*\b(pending|not (yet )?processed|still (being )?processed|not ready)", text):
        return advice(
            f"{said}. Azure is still processing the uploaded file; ftui waits for `processed` before "
            "creating a job, so retry in a minute (large files take longer)",
            "file_not_ready",
        )
    if status == 404 and (code == "DeploymentNotFound" or "deployment" in text):
        return RemoteNotFound(
            f"{said}. On Azure a model answers only through a deployment: chat with a deployment name "
            "(`ftui deployments`), or deploy the fine-tuned model first (billed per hour)"
        )
    if status == 404 and "resource not found" in text:
        return RemoteNotFound(
            f"{said}. Check the profile's endpoint is the resource URL (https://RESOURCE.openai.azure.com, "
            "nothing after it) and, for a dated api_version, that the resource offers it"
        )
    return base


def base_code(err: FtuiError) -> str | None:
    return getattr(err, "code", None)


def management_error(exc: Exception, *, sku: str | None = None, capacity: int | None = None) -> ProviderError:
    """An azure-core error from the management plane (deployments), as advice."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    status = getattr(exc, "status_code", None)
    code = ""
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "code", None):
        code = str(error.code)
    message = str(getattr(error, "message", None) or getattr(exc, "message", None) or exc).splitlines()[0]
    if isinstance(exc, ClientAuthenticationError) and status is None:
        from ftui_azure.auth import credential_error

        return credential_error(exc, "Azure Resource Manager")
    if code == "InsufficientQuota" or "quota" in message.lower():
        return ProviderError(
            f"Azure refused the deployment: {message} (InsufficientQuota). This subscription has no "
            f"room for sku {sku or '?'} with capacity {capacity or '?'} in the resource's region: lower "
            "the capacity, use another sku (developertier has its own quota), delete an unused "
            "deployment, or request more quota in the Foundry portal (Quotas)",
            code="InsufficientQuota",
            status=status,
        )
    if code in ("AuthorizationFailed", "LinkedAuthorizationFailed") or status == 403:
        return ProviderError(
            f"Azure refused the deployment call ({code or status}): {message}. Deploying needs "
            "Microsoft.CognitiveServices/accounts/deployments/write on the resource (the 'Cognitive "
            "Services Contributor' or 'Azure AI Owner' role); the data-plane key cannot deploy",
            code=code or "AuthorizationFailed",
            status=status,
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return ProviderError(
            f"not found on Azure Resource Manager: {message}. Check subscription_id, resource_group "
            "and account in the profile name the resource that trained the model",
            code=code or "not_found",
            status=404,
        )
    if isinstance(exc, HttpResponseError):
        return ProviderError(
            f"Azure Resource Manager: {message} ({code or status})", code=code or None, status=status
        )
    return ProviderError(f"Azure Resource Manager: {type(exc).__name__}: {message}")
