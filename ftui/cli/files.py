"""`ftui files`: upload, list, delete and read the provider's files.

Uploads are remembered by content (sha256) per profile, so the same dataset is sent once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json, is_tty, table
from ftui.provider import collect
from ftui.session import Session
from ftui.uploads import upload_once


@click.group("files")
def command() -> None:
    """Files on the active profile's provider (datasets for fine-tuning)."""


@command.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--purpose", default="fine-tune", show_default=True)
@click.option("--force", is_flag=True, help="Upload even if the same content was uploaded before.")
@click.option("--json", "as_json", is_flag=True, help="Print the file as JSON.")
@pass_session
def upload(session: Session, path: Path, purpose: str, force: bool, as_json: bool) -> None:
    """Upload PATH (with a progress bar); prints the file id to use with `jobs create`."""
    provider = session.provider()
    bar: Any = None
    if is_tty() and not as_json:
        bar = click.progressbar(
            length=path.stat().st_size, label=f"uploading {path.name}", file=sys.stderr, show_pos=True
        )

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.pos)

    send = upload_once(provider, path, purpose=purpose, force=force, progress=progress)
    if bar is not None:
        with bar:
            done = run(send)
    else:
        done = run(send)
    remote = done.file
    if as_json:
        emit_json({**remote.model_dump(mode="json"), "deduplicated": done.deduplicated})
    elif done.deduplicated:
        click.echo(f"{remote.id}  (already uploaded as {remote.filename}; --force to upload again)")
    else:
        click.echo(f"{remote.id}  {remote.filename}  {remote.bytes:,} bytes")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def list_(session: Session, as_json: bool) -> None:
    """Files, newest first."""
    provider = session.provider()
    found = run(collect(lambda c: provider.files(cursor=c)))
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No files. Upload one with: ftui files upload PATH")
        return
    table(
        [
            [
                f.id,
                f.filename,
                f"{f.bytes:,}",
                f.purpose,
                f.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                f.status,
            ]
            for f in found
        ],
        ["id", "filename", "bytes", "purpose", "created", "status"],
    )


@command.command("delete")
@click.argument("file_id")
@pass_session
def delete(session: Session, file_id: str) -> None:
    """Delete a file from the provider."""
    run(session.provider().delete_file(file_id))
    session.store.forget_upload(session.profile.name, file_id)
    click.echo(f"Deleted {file_id}")


@command.command("content")
@click.argument("file_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@pass_session
def content(session: Session, file_id: str, output: Path | None) -> None:
    """Print (or save) a file's content."""
    data = run(session.provider().file_content(file_id))
    if output is not None:
        output.write_bytes(data)
        click.echo(f"Wrote {len(data):,} bytes to {output}", err=True)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
