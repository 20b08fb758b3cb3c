from __future__ import annotations

from typing import Any

import click

from ftui.cli.output import emit_json, table


def provider_rows() -> list[dict[str, Any]]:
    from ftui.plugins import registry

    reg = registry()
    rows: list[dict[str, Any]] = []
    for name, cls in sorted(reg.providers.items()):
        missing = cls.missing()
        rows.append(
            {
                "name": name,
                "description": cls.description,
                "built": cls.built,
                "installed": cls.built and not missing,
                "missing": missing,
                "install": cls.install_hint() if missing else None,
                "capabilities": sorted(cls.capabilities) if cls.built else [],
                "plugin": reg.provider_plugin.get(name),
            }
        )
    return rows


def _state(row: dict[str, Any]) -> str:
    if not row["built"]:
        return "not built"
    return "yes" if row["installed"] else f"no: {row['install']}"


@click.group("providers")
def command() -> None:
    """Installed provider plugins."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List providers: installed or not (with the pip extra that brings one), capabilities."""
    from ftui.plugins import registry

    rows = provider_rows()
    broken = [{"plugin": p.name, "distribution": p.distribution, "error": p.error} for p in registry().broken]
    if as_json:
        emit_json({"providers": rows, "broken_plugins": broken})
        return
    table(
        [[str(r["name"]), _state(r), ",".join(r["capabilities"])] for r in rows],
        ["provider", "installed", "capabilities"],
    )
    for b in broken:
        click.echo(click.style(f"plugin {b['plugin']} failed to load: {b['error']}", fg="red"), err=True)
