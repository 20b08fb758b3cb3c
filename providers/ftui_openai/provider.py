"""OpenAIProvider: OpenAI's fine-tuning API, or any compatible endpoint (`ftui serve`), through the
official SDK. The calls themselves live in `ftui_openai.core`, shared with Azure OpenAI."""

from __future__ import annotations

from typing import Any, ClassVar

from ftui.errors import FtuiError
from ftui.model import CostEstimate, DeploySpec, JobSpec
from ftui.provider import Capability
from ftui.secrets import MASK, looks_like_secret, mask_url, mask_value
from ftui_openai.core import OpenAICompatibleProvider
from ftui_openai.errors import map_error
from ftui_openai.settings import OpenAISettings


class OpenAIProvider(OpenAICompatibleProvider[OpenAISettings]):
    name = "openai"
    description = "OpenAI fine-tuning API, or any compatible endpoint (ftui serve)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "dpo", "reinforcement", "pause", "checkpoints", "chat", "upload", "no_deploy_needed"}
    )
    settings_model = OpenAISettings
    requires: ClassVar[tuple[str, ...]] = ("openai",)
    extra = "openai"

    def _make_client(self) -> Any:
        from ftui.secrets import get_secret

        env = self.settings.api_key_env
        if looks_like_secret(env):
            # The key itself was pasted where the variable's name goes: never print it.
            raise FtuiError(
                f"profile {self.profile!r} (openai): api_key_env holds what looks like an API key, "
                "not the name of an environment variable. Put the key in a variable (export "
                "OPENAI_API_KEY=...), set api_key_env to that name, and rotate the key: it is in "
                "your config file in clear text."
            )
        key = get_secret(env, self.profile)
        if not key:
            raise FtuiError(
                f"profile {self.profile!r} (openai) has no API key: set the environment variable "
                f"{env}, or store it in the system keyring under service 'ftui', name {env!r}"
            )
        import openai

        self._secret = key
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=self.settings.base_url,
            organization=self.settings.organization,
            project=self.settings.project,
            timeout=self.settings.timeout,
            max_retries=self.settings.max_retries,
        )

    def _error(self, exc: Exception) -> FtuiError:
        return map_error(
            exc,
            base_url=mask_url(self.settings.base_url),
            key_env=MASK if looks_like_secret(self.settings.api_key_env) else self.settings.api_key_env,
            secret=self._secret,
            retries=self.settings.max_retries,
        )

    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        """OpenAI's published training prices (`ftui/data/prices.toml`, each figure with its source
        and date); a compatible server's own models have none."""
        if isinstance(spec, DeploySpec):
            return CostEstimate(basis="no deployment needed: a fine-tuned model is callable at once")
        from ftui.costs import per_token
        from ftui.data.prices import price_for, provenance

        row = price_for(spec.base_model)
        if row is None:
            return CostEstimate(
                basis=f"no OpenAI price for {spec.base_model} (not in ftui/data/prices.toml; a compatible "
                "server prices its own models)"
            )
        said = provenance(row, "training_per_hour" if spec.method == "reinforcement" else "training_per_1m")
        return per_token(
            spec,
            tokens,
            price_per_1m=row.training_per_1m,
            per_hour=row.training_per_hour,
            source=said.source,
            as_of=said.as_of,
        )

    def describe(self) -> dict[str, Any]:
        # The base URL is shown, the key never is.
        return {
            **super().describe(),
            "base_url": mask_url(self.settings.base_url),
            "api_key_env": mask_value(self.settings.api_key_env),
        }
