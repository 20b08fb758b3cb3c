"""What every route module shares: the provider it serves, and the server's own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftui.provider import Provider
from ftui.serve.state import ServeState


@dataclass
class ServeContext:
    provider: Provider[Any]
    state: ServeState
    organization: str = "local"
    # OpenAI fails a job whose training file has fewer examples than this.
    min_examples: int = 10
