"""/v1/uploads: files up to 8 GB in parts of up to 64 MB, kept on disk (never whole in memory)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

# FastAPI resolves route annotations from module globals; this module is only imported by
# create_app, never on the `ftui --help` path.
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ftui.serve.errors import APIError, bad_request, no_such
from ftui.serve.files import (
    CHUNK,
    PURPOSES,
    check_fine_tune_name,
    file_object,
    provider_upload,
    safe_filename,
)

if TYPE_CHECKING:
    from ftui.serve.context import ServeContext

MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_PART_BYTES = 64 * 1024**2
UPLOAD_TTL = 3600


class CreateUpload(BaseModel):
    model_config = ConfigDict(extra="allow")
    filename: str
    purpose: str
    bytes: int = Field(ge=0)
    mime_type: str


class CompleteUpload(BaseModel):
    model_config = ConfigDict(extra="allow")
    part_ids: list[str]
    md5: str | None = None


def upload_object(row: dict[str, Any], file: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "upload",
        "bytes": row["bytes"],
        "created_at": row["created_at"],
        "filename": row["filename"],
        "purpose": row["purpose"],
        "status": row["status"],
        "expires_at": row["expires_at"],
        "file": file,
    }


def _assemble(folder: Path, part_ids: list[str], dest: Path, md5: str | None) -> int:
    digest = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    with open(dest, "wb") as out:
        for part_id in part_ids:
            with open(folder / part_id, "rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                    if digest:
                        digest.update(chunk)
    if digest and md5 and digest.hexdigest() != md5.lower():
        raise bad_request(
            "The md5 checksum of the uploaded parts does not match `md5`.", param="md5", code="invalid_value"
        )
    return size


def _write_part(src: Any, dest: Path) -> int:
    src.seek(0)
    size = 0
    with open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > MAX_PART_BYTES:
                break
            out.write(chunk)
    return size


def router(ctx: ServeContext) -> APIRouter:

    api = APIRouter()
    state = ctx.state

    def pending(upload_id: str) -> dict[str, Any]:
        row = state.upload(upload_id)
        if row is None:
            raise no_such("Upload", upload_id, "upload_id")
        if row["status"] != "pending":
            raise bad_request(f"Upload {upload_id} is {row['status']}, not pending.", param="upload_id")
        return row

    @api.post("/uploads")
    async def create_upload(body: CreateUpload) -> dict[str, Any]:
        if body.purpose not in PURPOSES:
            raise bad_request(
                f"Invalid value for 'purpose': {body.purpose!r}.", param="purpose", code="invalid_value"
            )
        if body.bytes > MAX_UPLOAD_BYTES:
            raise bad_request("An Upload can hold at most 8 GB.", param="bytes", code="invalid_value")
        filename = safe_filename(body.filename)
        if body.purpose == "fine-tune":
            check_fine_tune_name(filename)
        now = int(time.time())
        row = {
            "id": "upload_" + secrets.token_hex(12),
            "filename": filename,
            "purpose": body.purpose,
            "bytes": body.bytes,
            "mime_type": body.mime_type,
            "created_at": now,
            "expires_at": now + UPLOAD_TTL,
            "status": "pending",
            "file_id": None,
        }
        state.add_upload(row)
        return upload_object(row)

    @api.post("/uploads/{upload_id}/parts")
    async def add_part(upload_id: str, request: Request) -> dict[str, Any]:
        pending(upload_id)
        form = await request.form(max_files=1, max_fields=1)
        try:
            data = form.get("data")
            if data is None or isinstance(data, str):
                raise APIError(
                    400,
                    "Missing required parameter: 'data'.",
                    param="data",
                    code="missing_required_parameter",
                )
            part_id = "part_" + secrets.token_hex(12)
            dest = state.upload_dir(upload_id) / part_id
            size = await asyncio.to_thread(_write_part, data.file, dest)
            if size > MAX_PART_BYTES:
                dest.unlink(missing_ok=True)
                raise bad_request("A part can hold at most 64 MB.", param="data", code="invalid_value")
        finally:
            await form.close()
        created = state.add_part(part_id, upload_id, size)
        return {"id": part_id, "object": "upload.part", "created_at": created, "upload_id": upload_id}

    @api.post("/uploads/{upload_id}/complete")
    async def complete(upload_id: str, body: CompleteUpload) -> dict[str, Any]:
        row = pending(upload_id)
        known = state.parts(upload_id)
        for part_id in body.part_ids:
            if part_id not in known:
                raise bad_request(f"Part {part_id} does not belong to upload {upload_id}.", param="part_ids")
        if len(set(body.part_ids)) != len(body.part_ids):
            raise bad_request("part_ids lists a part more than once.", param="part_ids")
        total = sum(known[p] for p in body.part_ids)
        if total != row["bytes"]:
            raise bad_request(
                f"The parts hold {total} bytes, but the upload declared {row['bytes']}.",
                param="bytes",
                code="invalid_value",
            )
        folder = state.upload_dir(upload_id)
        assembled = folder / "assembled" / row["filename"]
        assembled.parent.mkdir(exist_ok=True)
        try:
            await asyncio.to_thread(_assemble, folder, body.part_ids, assembled, body.md5)
            remote = await provider_upload(ctx, assembled, row["purpose"])
        finally:
            assembled.unlink(missing_ok=True)
        state.set_upload_status(upload_id, "completed", remote.id)
        row.update(status="completed", file_id=remote.id)
        return upload_object(row, file_object(remote))

    @api.post("/uploads/{upload_id}/cancel")
    async def cancel(upload_id: str) -> dict[str, Any]:
        row = pending(upload_id)
        state.set_upload_status(upload_id, "cancelled")
        row["status"] = "cancelled"
        return upload_object(row)

    return api
