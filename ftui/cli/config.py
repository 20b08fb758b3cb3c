from __future__ import annotations

import click

from ftui.cli.context import pass_session
from ftui.cli.output import emit_json
from ftui.paths import config_dir
from ftui.session import Session


@click.group("config")
def command() -> None:
    """Config file and profiles."""


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def check(session: Session, as_json: bool) -> None:
    """Validate every profile in the config file; exit 2 on the first bad one."""
    cfg = session.config
    profiles = [cfg.profile(name) for name in cfg.profile_names]
    rows = [
        {
            "name": p.name,
            "provider": p.provider,
            "default": p.name == cfg.default_profile,
            "settings": p.settings.model_dump(exclude={"provider"}),
        }
        for p in profiles
    ]
    if as_json:
        emit_json({"path": str(cfg.path) if cfg.path else None, "profiles": rows})
        return
    where = cfg.path or f"(none: the built-in local profile; write {config_dir() / 'config.toml'})"
    click.echo(f"config: {where}")
    for r in rows:
        click.echo(f"{'*' if r['default'] else ' '} {r['name']:<16} {r['provider']}")


@command.command("path")
def path() -> None:
    """Where ftui looks for config.toml."""
    click.echo(config_dir() / "config.toml")
