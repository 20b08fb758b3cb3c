from __future__ import annotations

from typing import Literal

from pydantic import Field

from ftui.provider import ProfileSettings


class LocalSettings(ProfileSettings):
    provider: Literal["local"] = "local"
    base_model: str = "smollm2-135m-instruct"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_concurrent_jobs: int = Field(default=1, ge=1)
