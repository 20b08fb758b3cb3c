"""Honest capabilities, checked on every registered provider class without a backend: a declared
capability whose verbs are not overridden fails here, as does a provider that is neither
"deploy" nor "no_deploy_needed" while it can chat, and a stub that claims anything."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from ftui.model import BaseModelInfo
from ftui.plugins import build_registry
from ftui.provider import CAPABILITIES, CAPABILITY_VERBS, Capability, Provider

from .backends import BACKENDS


def registered() -> dict[str, type[Provider[Any]]]:
    return build_registry().providers


def problems(cls: type[Provider[Any]]) -> list[str]:
    found = [f"undeclared capability {c!r}" for c in cls.capabilities if c not in CAPABILITIES]
    found += [f"declares {c} but does not override it" for c in cls.unimplemented()]
    if not cls.built and cls.capabilities:
        found.append("is not built but claims capabilities")
    if cls.built and "chat" in cls.capabilities:
        deploy = {"deploy", "no_deploy_needed"} & cls.capabilities
        if len(deploy) != 1:
            found.append('declares chat, so exactly one of "deploy" and "no_deploy_needed"')
    return found


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_provider_implements_what_it_declares(name: str) -> None:
    assert problems(registered()[name]) == []


def test_every_capability_names_the_verbs_it_promises() -> None:
    assert set(CAPABILITY_VERBS) == CAPABILITIES
    for verbs in CAPABILITY_VERBS.values():
        assert all(callable(getattr(Provider, v)) for v in verbs)


def test_a_provider_that_declares_what_it_does_not_implement_fails_the_check() -> None:
    class Pretender(Provider[Any]):
        name = "pretender"
        capabilities: ClassVar[frozenset[Capability]] = frozenset({"chat", "deploy", "pause"})

        async def base_models(self) -> list[BaseModelInfo]:
            return []

        async def deploy(self, spec: Any) -> Any:  # one of deploy's four verbs only
            raise NotImplementedError

    assert problems(Pretender) == [
        "declares chat: chat but does not override it",
        "declares deploy: deployments but does not override it",
        "declares deploy: deployment but does not override it",
        "declares deploy: undeploy but does not override it",
        "declares pause: pause but does not override it",
        "declares pause: resume but does not override it",
    ]


def test_the_stubs_say_not_built_rather_than_claim_capabilities() -> None:
    for name, cls in registered().items():
        if not cls.built:
            assert cls.capabilities == frozenset(), name


def test_every_built_provider_has_a_backend_in_the_contract_suite() -> None:
    built = {name for name, cls in registered().items() if cls.built}
    assert built - set(BACKENDS) == set(), "add a factory to tests/providers/contract/backends.py"
