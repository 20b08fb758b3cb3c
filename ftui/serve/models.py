"""/v1/models: base and fine-tuned models; delete for fine-tuned ones."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

# FastAPI resolves route annotations from module globals; this module is only imported by
# create_app, never on the `ftui --help` path.
from fastapi import APIRouter

from ftui.errors import NotFound
from ftui.serve.errors import bad_request, model_not_found
from ftui.serve.objects import list_object, model_object, owner_of

if TYPE_CHECKING:
    from ftui.serve.context import ServeContext

CHECKPOINT_MARK = ":ckpt-step-"


def router(ctx: ServeContext) -> APIRouter:

    api = APIRouter()
    started = int(time.time())

    async def known() -> list[dict[str, Any]]:
        models = [*await ctx.provider.base_models(), *await ctx.provider.fine_tuned_models()]
        seen: dict[str, dict[str, Any]] = {}
        for m in models:
            seen.setdefault(m.id, model_object(m.id, started, owner_of(m.id, ctx.organization)))
        return list(seen.values())

    async def find(model: str) -> dict[str, Any]:
        by_id = {m["id"]: m for m in await known()}
        if model in by_id:
            return by_id[model]
        # A checkpoint is a model too, as long as its fine-tuned model is known.
        if CHECKPOINT_MARK in model and model.split(CHECKPOINT_MARK)[0] in by_id:
            return model_object(model, started, owner_of(model, ctx.organization))
        raise model_not_found(model)

    @api.get("/models")
    async def list_models() -> dict[str, Any]:
        body = list_object(await known(), False)
        body.pop("has_more")
        return body

    @api.get("/models/{model:path}")
    async def retrieve_model(model: str) -> dict[str, Any]:
        return await find(model)

    @api.delete("/models/{model:path}")
    async def delete_model(model: str) -> dict[str, Any]:
        await find(model)
        if not model.startswith("ft:"):
            raise bad_request(
                f"Only fine-tuned models can be deleted; {model} is a base model.", param="model"
            )
        try:
            await ctx.provider.delete_model(model)
        except NotFound:
            raise model_not_found(model) from None
        return {"id": model, "object": "model", "deleted": True}

    return api
