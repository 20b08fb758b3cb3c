"""Uploaded files of the local provider: a copy of the content plus a metadata JSON beside it.

    <data>/local/files/<file-id>        the bytes, never changed after upload
    <data>/local/files/<file-id>.json   {id, filename, bytes, sha256, purpose, created_at}

A job that names a file id trains on that immutable copy, so editing the original later changes
nothing about the job.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftui import disk
from ftui.errors import FtuiError, NotFound
from ftui.paths import data_dir
from ftui_local.jobdir import read_json, utcnow, write_json_atomic
from ftui_local.naming import FILE_PREFIX, new_file_id

CHUNK = 1 << 20


def files_dir() -> Path:
    return data_dir() / "local" / "files"


class FileStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or files_dir()

    def _meta_path(self, file_id: str) -> Path:
        if not file_id.startswith(FILE_PREFIX) or "/" in file_id or file_id.endswith(".json"):
            raise NotFound("file", file_id)
        return self.root / f"{file_id}.json"

    def upload(
        self, path: Path, purpose: str = "fine-tune", progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        path = Path(path)
        try:
            total = path.stat().st_size
            src = open(path, "rb")  # noqa: SIM115 - closed below, after the copy
        except OSError as exc:
            raise FtuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
        self.root.mkdir(parents=True, exist_ok=True)
        file_id = new_file_id()
        dest = self.root / file_id
        tmp = self.root / f".{file_id}.part"
        digest = hashlib.sha256()
        done = 0
        try:
            with src, open(tmp, "wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            os.replace(tmp, dest)
            meta = {
                "id": file_id,
                "filename": path.name,
                "bytes": done,
                "sha256": digest.hexdigest(),
                "purpose": purpose,
                "created_at": utcnow(),
            }
            write_json_atomic(self.root / f"{file_id}.json", meta)
        except BaseException as exc:
            # Nothing half-stored: no content without its metadata, no stray temp file.
            tmp.unlink(missing_ok=True)
            dest.unlink(missing_ok=True)
            full = disk.describe(exc, self.root)
            if full:
                raise FtuiError(f"{path}: not uploaded: {full}") from None
            raise
        if progress and total == 0:
            progress(0, 0)
        return meta

    def get(self, file_id: str) -> dict[str, Any]:
        meta = read_json(self._meta_path(file_id))
        if not meta or not (self.root / file_id).exists():
            raise NotFound("file", file_id)
        return meta

    def path(self, file_id: str) -> Path:
        self.get(file_id)
        return self.root / file_id

    def list(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        found = []
        for meta_path in self.root.glob(f"{FILE_PREFIX}*.json"):
            meta = read_json(meta_path)
            if meta and (self.root / meta["id"]).exists():
                found.append(meta)
        return sorted(found, key=lambda m: m["created_at"], reverse=True)

    def delete(self, file_id: str) -> None:
        meta_path = self._meta_path(file_id)
        if not meta_path.exists():
            raise NotFound("file", file_id)
        (self.root / file_id).unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)

    def content(self, file_id: str) -> bytes:
        return self.path(file_id).read_bytes()


def keep_for_job(src: Path, dest: Path, *, immutable: bool) -> Path:
    """`src` under the job's own name `dest`. An uploaded file never changes, so a hard link
    (no copy, and deleting the upload leaves the job its data); anything else is copied, so later
    edits of the original do not reach the job."""
    try:
        if immutable:
            try:
                os.link(src, dest)
                return dest
            except FileNotFoundError:
                raise
            except OSError:
                pass  # another filesystem, or links not allowed: copy instead
        shutil.copyfile(src, dest)
    except FileNotFoundError:
        raise FtuiError(f"{src.name} was deleted before the job could keep it; upload it again") from None
    return dest
