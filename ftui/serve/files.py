"""/v1/files: multipart create, list, retrieve, delete, content.

Result files of finished jobs live in the server's own state; everything else is the provider's.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

# FastAPI resolves route annotations from module globals; this module is only imported by
# create_app, never on the `ftui --help` path.
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ftui.errors import NotFound
from ftui.model import RemoteFile
from ftui.provider import collect
from ftui.serve.errors import APIError, bad_request, no_such
from ftui.serve.objects import file_object, list_object, page

if TYPE_CHECKING:
    from ftui.serve.context import ServeContext

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024
CHUNK = 1 << 20


def safe_filename(name: str | None, default: str = "upload.jsonl") -> str:
    name = Path(name or "").name.strip()
    return name if name not in ("", ".", "..") else default


def check_jsonl(path: Path) -> None:
    """OpenAI's upload-time check: every line of a fine-tune file is a JSON object, each line read
    as validation and the trainer read it (ftui.data.jsonl)."""
    from ftui.data.jsonl import DatasetError, read_objects

    expected = "Expected file to have JSONL format, where every line is a valid JSON dictionary."
    try:
        for n, value in read_objects(path):
            if not isinstance(value, dict):
                raise bad_request(
                    f"{expected} Line {n} is not a dictionary.", param="file", code="invalid_file_format"
                )
    except DatasetError as exc:  # its text names our path: the client gets the line, not the path
        where = f"Line {exc.line} is not a dictionary." if exc.line else exc.reason.capitalize() + "."
        raise bad_request(f"{expected} {where}", param="file", code="invalid_file_format") from None


def check_fine_tune_name(filename: str) -> None:
    if not filename.lower().endswith(".jsonl"):
        raise bad_request(
            f"Invalid file format for Fine-Tuning API. Must be .jsonl (got {filename!r}).",
            param="file",
            code="invalid_file_format",
        )


async def provider_upload(ctx: ServeContext, path: Path, purpose: str) -> RemoteFile:
    if purpose == "fine-tune":
        check_fine_tune_name(path.name)
        await asyncio.to_thread(check_jsonl, path)
    return await ctx.provider.upload(path, purpose)


def result_remote_file(row: dict[str, Any]) -> RemoteFile:
    from datetime import UTC, datetime

    return RemoteFile(
        id=row["file_id"],
        provider="serve",
        filename=row["filename"],
        bytes=row["bytes"],
        purpose="fine-tune-results",
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
    )


async def all_files(ctx: ServeContext) -> list[tuple[RemoteFile, int | None]]:
    """Provider files plus result files, with expiry; expired files are deleted on the way."""
    expiries = ctx.state.expiries()
    now = time.time()
    out: list[tuple[RemoteFile, int | None]] = []
    for f in await collect(lambda c: ctx.provider.files(limit=1000, cursor=c)):
        expires = expiries.get(f.id)
        if expires is not None and expires <= now:
            with contextlib.suppress(NotFound):
                await ctx.provider.delete_file(f.id)
            ctx.state.forget_file(f.id)
            continue
        out.append((f, expires))
    out.extend((result_remote_file(r), None) for r in ctx.state.result_files())
    return out


async def find_file(ctx: ServeContext, file_id: str, param: str = "id") -> tuple[RemoteFile, int | None]:
    for f, expires in await all_files(ctx):
        if f.id == file_id:
            return f, expires
    raise no_such("File", file_id, param)


def router(ctx: ServeContext) -> APIRouter:
    api = APIRouter()

    @api.post("/files")
    async def create_file(request: Request) -> dict[str, Any]:
        form = await request.form(max_files=1, max_fields=10)
        try:
            purpose = form.get("purpose")
            upload = form.get("file")
            if not isinstance(purpose, str) or not purpose:
                raise APIError(
                    400,
                    "Missing required parameter: 'purpose'.",
                    param="purpose",
                    code="missing_required_parameter",
                )
            if purpose not in PURPOSES:
                raise bad_request(
                    f"Invalid value for 'purpose': {purpose!r}; supported: " + ", ".join(PURPOSES) + ".",
                    param="purpose",
                    code="invalid_value",
                )
            if upload is None or isinstance(upload, str):
                raise APIError(
                    400,
                    "Missing required parameter: 'file'.",
                    param="file",
                    code="missing_required_parameter",
                )
            expires_at = _expiry(form.get("expires_after[anchor]"), form.get("expires_after[seconds]"))
            filename = safe_filename(upload.filename)
            folder = ctx.state.root / "incoming" / secrets.token_hex(8)
            folder.mkdir(parents=True)
            try:
                path = folder / filename
                size = await asyncio.to_thread(_spool, upload.file, path)
                if size > MAX_FILE_BYTES:
                    raise bad_request(
                        "File is larger than 512 MB; use the Uploads API.",
                        param="file",
                        code="file_too_large",
                    )
                remote = await provider_upload(ctx, path, purpose)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            await form.close()
        if expires_at is not None:
            ctx.state.set_expiry(remote.id, expires_at)
        return file_object(remote, expires_at)

    @api.get("/files")
    async def list_files(
        after: str | None = None, limit: int = 10000, order: str = "desc", purpose: str | None = None
    ) -> dict[str, Any]:
        if not 1 <= limit <= 10000:
            raise bad_request("limit must be between 1 and 10000", param="limit", code="invalid_value")
        if order not in ("asc", "desc"):
            raise bad_request("order must be 'asc' or 'desc'", param="order", code="invalid_value")
        found = [(f, e) for f, e in await all_files(ctx) if purpose is None or f.purpose == purpose]
        found.sort(key=lambda fe: (fe[0].created_at, fe[0].id), reverse=order == "desc")
        items, more = page([file_object(f, e) for f, e in found], after, limit)
        return list_object(items, more, ids=True)

    @api.get("/files/{file_id}")
    async def retrieve_file(file_id: str) -> dict[str, Any]:
        f, expires = await find_file(ctx, file_id)
        return file_object(f, expires)

    @api.delete("/files/{file_id}")
    async def delete_file(file_id: str) -> dict[str, Any]:
        if ctx.state.result_file(file_id):
            ctx.state.delete_result_file(file_id)
        else:
            try:
                await ctx.provider.delete_file(file_id)
            except NotFound:
                raise no_such("File", file_id) from None
            ctx.state.forget_file(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    @api.get("/files/{file_id}/content")
    async def file_content(file_id: str) -> Response:
        if ctx.state.result_file(file_id):
            data = await asyncio.to_thread(ctx.state.result_path(file_id).read_bytes)
        else:
            try:
                data = await ctx.provider.file_content(file_id)
            except NotFound:
                raise no_such("File", file_id) from None
        return Response(data, media_type="application/octet-stream")

    return api


def _spool(src: Any, dest: Path) -> int:
    src.seek(0)
    size = 0
    with open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            size += len(chunk)
    return size


def _expiry(anchor: Any, seconds: Any) -> int | None:
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise bad_request(
            "expires_after[anchor] must be 'created_at'", param="expires_after.anchor", code="invalid_value"
        )
    try:
        secs = int(seconds)
    except (TypeError, ValueError):
        secs = -1
    if not 3600 <= secs <= 2592000:
        raise bad_request(
            "expires_after[seconds] must be between 3600 and 2592000",
            param="expires_after.seconds",
            code="invalid_value",
        )
    return int(time.time()) + secs
