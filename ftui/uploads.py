"""Upload once: the same bytes go to a profile's backend one time, whoever asks (CLI, TUI, a job).

The content hash is computed here and only here; the store remembers what went where, and a
provider's multi-part upload keys its resumable session on the same hash (`Store.upload_session`).
A remembered file that the backend no longer has is forgotten and uploaded again.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.errors import FtuiError, NotFound
from ftui.locks import async_file_lock, named_lock_path
from ftui.model import RemoteFile

if TYPE_CHECKING:
    from ftui.provider import Progress, Provider

CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Uploaded:
    file: RemoteFile
    sha256: str
    deduplicated: bool  # True: the backend had these bytes already; nothing was sent


def size_of(path: Path) -> int:
    """The file's size, or one clear error naming it (a provider's upload starts here)."""
    try:
        return path.stat().st_size
    except OSError as exc:
        raise FtuiError(f"{path}: cannot read: {exc.strerror or exc}") from None


async def upload_once(
    provider: Provider[Any],
    path: Path,
    *,
    purpose: str = "fine-tune",
    force: bool = False,
    progress: Progress | None = None,
) -> Uploaded:
    path = Path(path)
    try:
        size = path.stat().st_size
        sha = await asyncio.to_thread(sha256_file, path)
    except OSError as exc:
        raise FtuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
    store, profile = provider.store, provider.profile
    # Look, upload and remember under one lock per (profile, content): of two uploads of the same
    # bytes at once (two terminals, the TUI and a job), one sends them and the other finds them.
    async with async_file_lock(named_lock_path("upload", profile, sha)):
        known = None if force else store.uploaded(profile, sha)
        if known is not None:
            try:
                remote = await provider.file(known["file_id"])
            except NotFound:
                store.forget_upload(profile, known["file_id"])
            else:
                if progress:
                    progress(size, size)
                return Uploaded(remote.model_copy(update={"sha256": sha}), sha, deduplicated=True)
        remote = await provider.upload(path, purpose, progress, sha256=sha)
        store.remember_upload(provider.name, profile, sha, remote.id, path.name, size)
    return Uploaded(remote.model_copy(update={"sha256": sha}), sha, deduplicated=False)


async def uploaded_id(provider: Provider[Any], path: Path) -> str | None:
    """The file id these bytes were uploaded as on this profile, if they were (not re-checked)."""
    sha = await asyncio.to_thread(sha256_file, Path(path))
    known = provider.store.uploaded(provider.profile, sha)
    return str(known["file_id"]) if known is not None else None


async def file_ref(provider: Provider[Any], ref: str | None, progress: Progress | None = None) -> str | None:
    """A job's training or validation file: a local dataset path is uploaded once; anything else is
    taken as the backend's file id."""
    if ref is None:
        return None
    path = Path(ref).expanduser()
    if not ref.startswith("file-") and path.is_file():
        return (await upload_once(provider, path, progress=progress)).file.id
    return ref
