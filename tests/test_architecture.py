"""The architecture the code keeps: no import cycles, and no heavy SDK loaded by listing providers.

The layering itself (core, front ends, providers) is checked by import-linter's contracts in
pyproject.toml, which the README's test command runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

PACKAGES = ("ftui", "ftui_local", "ftui_openai", "ftui_azure", "ftui_sagemaker")
HEAVY = ("torch", "transformers", "peft", "trl", "openai", "boto3", "botocore", "azure", "datasets")


def import_cycles(graph: Any) -> list[list[str]]:
    """Every group of modules that import one another (strongly connected components of size > 1),
    counting imports inside functions and under TYPE_CHECKING: they hide the direction too."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(root: str) -> None:
        # Tarjan's algorithm, iteratively: the module graph is deep enough to hit the recursion limit.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    import grimp

    graph = grimp.build_graph(*PACKAGES)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    class Graph:
        def __init__(self) -> None:
            self.edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
            self.modules = set(self.edges)

        def find_modules_directly_imported_by(self, module: str) -> set[str]:
            return self.edges[module]

    assert import_cycles(Graph()) == [["a", "b", "c"]]


def test_listing_providers_loads_no_heavy_sdk() -> None:
    # What `ftui providers list` and the TUI's profile opening do: every plugin and provider class.
    child = (
        "import json, sys\n"
        "from ftui.plugins import registry\n"
        "reg = registry()\n"
        "for cls in reg.providers.values(): cls.missing()\n"
        "print(json.dumps(sorted(reg.providers)))\n"
        # (finding `azure.ai.ml` imports the bare namespace packages above it: no code, no cost)
        "print(json.dumps(sorted(m for m, mod in sys.modules.items()\n"
        f"    if m.split('.')[0] in {HEAVY!r} and getattr(mod, '__file__', None))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True
    )
    providers, loaded = (json.loads(line) for line in out.stdout.splitlines()[-2:])
    assert {"local", "openai", "azure", "sagemaker"} <= set(providers)
    assert loaded == []
