"""Deployments through azure-mgmt-cognitiveservices against a loopback ARM server: PUT 201 with
Azure-AsyncOperation, status polls, final GET; DELETE likewise; chat through the deployment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.azure_server import BASE_MODELS, AzureServer, FakeCredential
from support.eventually import eventually

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import ChatMessage, DeploySpec, JobSpec

HI = [ChatMessage(role="user", content="Ahoy?")]


async def trained_model(az: AzureServer, provider) -> str:
    """A fine-tuned model id, made the way Azure makes one."""
    fid = az.upload("t.jsonl", b'{"messages": []}\n', "fine-tune")["id"]
    az.ready_at[fid] = 0
    job = await provider.create_job(JobSpec(base_model=BASE_MODELS[0], training_file=fid))
    job = await eventually(lambda: provider.job(job.id), lambda j: j.done, what="job done")
    return job.fine_tuned_model


async def test_deploy_follows_the_long_running_operation_then_chats_and_undeploys(
    az: AzureServer, make_aoai
) -> None:
    credential = FakeCredential(token=az.token)
    provider = make_aoai(credential=credential)
    model = await trained_model(az, provider)

    d = await provider.deploy(DeploySpec(model=model))
    assert d.status == "creating" and d.sku == "developertier" and d.hourly_cost == 0.0
    assert d.id.startswith("gpt-4.1-mini-2025-04-14-ft-") and len(d.id) <= 64
    assert d.expires_at is not None and d.expires_at - d.created_at == timedelta(hours=24)
    put = az.requests(r"/deployments/", "PUT")[-1]
    assert put.body["properties"]["model"] == {"format": "OpenAI", "name": model, "version": "1"}
    assert put.body["sku"] == {"name": "developertier", "capacity": 1}
    assert put.query["api-version"] and put.auth == "bearer"
    assert "https://management.azure.com/.default" in credential.scopes

    d = await eventually(lambda: provider.deployment(d.id), lambda x: x.status != "creating", what="ready")
    assert d.status == "ready"
    assert az.requests(r"^/operations/", "GET")  # the SDK polled Azure-AsyncOperation
    assert d.id in [x.id for x in (await provider.deployments()).items]

    assert "".join([p async for p in provider.chat(d.id, HI)]) == "Arr, matey!"
    # The fine-tuned model's own name finds its ready deployment.
    assert "".join([p async for p in provider.chat(model, HI)]) == "Arr, matey!"
    assert [c["deployment"] for c in az.chats] == [d.id, d.id]

    gone = await provider.undeploy(d.id)
    assert gone.status == "deleting"

    async def state() -> str:
        try:
            return (await provider.deployment(d.id)).status
        except NotFound:
            return "gone"

    await eventually(state, lambda s: s == "gone", what="deleted")


async def test_a_checkpoint_deploys_by_its_ftchkpt_id(az: AzureServer, make_aoai) -> None:
    provider = make_aoai()
    model = await trained_model(az, provider)
    job = next(j for j in (await provider.jobs()).items if j.fine_tuned_model == model)
    checkpoint = (await provider.checkpoints(job.id))[0]
    d = await provider.deploy(DeploySpec(model=checkpoint.fine_tuned_model_checkpoint, name="ckpt"))
    assert d.model == checkpoint.id and checkpoint.id.startswith("ftchkpt-")
    assert az.requests(r"/deployments/ckpt$", "PUT")[-1].body["properties"]["model"]["name"] == checkpoint.id


async def test_standard_deployments_are_priced_per_hour_and_base_models_are_not(
    az: AzureServer, make_aoai
) -> None:
    provider = make_aoai()
    model = await trained_model(az, provider)
    d = await provider.deploy(DeploySpec(model=model, name="ft-std", sku="Standard", capacity=2))
    assert (d.sku, d.capacity, d.hourly_cost, d.expires_at) == ("standard", 2, 3.4, None)
    base = await provider.deploy(DeploySpec(model=BASE_MODELS[1], name="base", sku="globalstandard"))
    assert base.hourly_cost is None  # a base model is billed per token, not per hour

    estimate = await provider.estimate_cost(DeploySpec(model=model, sku="standard"))
    assert estimate.per_hour == 1.7 and estimate.as_of and estimate.source
    assert "called or not" in estimate.basis and "15 days" in estimate.basis
    developer = await provider.estimate_cost(DeploySpec(model=model))
    assert developer.per_hour == 0.0 and "24 hours" in developer.basis and "no hourly" in developer.basis


async def test_insufficient_quota_on_deploy_is_advice(az: AzureServer, make_aoai) -> None:
    provider = make_aoai()
    az.quota = 10
    with pytest.raises(ProviderError) as err:
        await provider.deploy(DeploySpec(model="m.ft-1", sku="standard", capacity=50))
    assert err.value.code == "InsufficientQuota"
    assert "lower the capacity" in str(err.value) and "standard" in str(err.value)
    assert not az.deployments


async def test_a_deployment_whose_operation_fails_shows_azures_error(az: AzureServer, make_aoai) -> None:
    provider = make_aoai()
    d = await provider.deploy(DeploySpec(model="unknown.ft-1", name="bad"))
    d = await eventually(lambda: provider.deployment(d.id), lambda x: x.status != "creating", what="ended")
    assert d.status == "failed" and d.status_detail == "Failed"
    assert d.error and "not supported" in d.error


async def test_deploying_without_the_resources_place_names_the_missing_keys(
    az: AzureServer, make_aoai
) -> None:
    provider = make_aoai(subscription_id=None, account=None)
    with pytest.raises(FtuiError, match=r"set subscription_id, account in the profile"):
        await provider.deploy(DeploySpec(model="m.ft-1"))


async def test_a_credential_that_cannot_sign_in_is_advice(az: AzureServer, make_aoai) -> None:
    from azure.identity import CredentialUnavailableError

    class NoLogin(FakeCredential):
        def get_token_info(self, *scopes, options=None):
            raise CredentialUnavailableError("Please run 'az login' to set up an account")

        get_token = get_token_info

    provider = make_aoai(credential=NoLogin())
    with pytest.raises(ProviderError, match=r"Entra ID token for Azure Resource Manager.*az login"):
        await provider.deployments()


async def test_on_a_dated_api_version_chat_goes_to_the_deployments_route(az: AzureServer, make_aoai) -> None:
    provider = make_aoai(api_version="2024-10-21")
    az.deployments["dep-1"] = {"properties": {"provisioningState": "Succeeded", "model": {"name": "m.ft-1"}}}
    assert "".join([p async for p in provider.chat("dep-1", HI)]) == "Arr, matey!"
    (seen,) = az.requests(r"/chat/completions$")
    assert seen.path == "/openai/deployments/dep-1/chat/completions"
    assert seen.query["api-version"] == "2024-10-21" and seen.auth == "api-key"
