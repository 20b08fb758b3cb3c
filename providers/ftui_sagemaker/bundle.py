"""What ftui uploads besides the data: the code bundle (sourcedir.tar.gz) and staged base weights.

Both are built byte-for-byte reproducibly (sorted members, zeroed times and owners, a fixed gzip
header), so the same code or the same model folder always hashes the same and `upload_once` sends it
once. The bundle holds the packages the local provider trains with (ftui, ftui_local) and the
SageMaker entry (ftui_sagemaker), an `ftui_train.py` at the root for the toolkit to run, and a
requirements.txt for what the Hugging Face container may lack.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

from ftui import paths
from ftui.errors import FtuiError

PACKAGES = ("ftui", "ftui_local", "ftui_sagemaker")
ENTRY = "ftui_train.py"
ENTRY_SCRIPT = '''"""ftui's training entry point, run by SageMaker's toolkit from the unpacked sourcedir."""

import sys

from ftui_sagemaker.entry import main

sys.exit(main())
'''
# The DLC brings torch, transformers, accelerate and datasets; the trainer also needs these (the
# toolkit pip-installs this file before running the entry point).
REQUIREMENTS = """trl>=1.10,<2
peft>=0.15
pydantic>=2.7
platformdirs>=4
"""
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FtuiError(f"cannot find the {name} package to bundle for SageMaker")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_files(name: str) -> Iterator[tuple[str, Path]]:
    root = _package_dir(name)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for file in sorted(files):
            if file.endswith((".pyc", ".pyo")) or file.startswith("."):
                continue
            path = Path(folder) / file
            yield f"{name}/{path.relative_to(root).as_posix()}", path


def _info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data)), io.BytesIO(data))


def sourcedir_bytes() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, ENTRY, ENTRY_SCRIPT.encode())
        _add_bytes(tar, "requirements.txt", REQUIREMENTS.encode())
        for package in PACKAGES:
            for name, path in _package_files(package):
                _add_bytes(tar, name, path.read_bytes())
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build_sourcedir(folder: Path | None = None) -> Path:
    """sourcedir.tar.gz for this version of the code, in a folder named by its content."""
    data = sourcedir_bytes()
    base = folder or paths.cache_dir() / "sagemaker" / "sourcedir"
    target = base / hashlib.sha256(data).hexdigest()[:16] / "sourcedir.tar.gz"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _model_files(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .cache, .git and the like: not part of the model
        if path.is_file():  # follows symlinks: the Hugging Face cache links snapshots to blobs
            found.append((rel.as_posix(), path))
    return found


def build_model_tar(folder: Path, cache: Path | None = None) -> Path:
    """One uncompressed tar of a model folder (weights do not compress), cached by the folder's file
    list, sizes and times, so an unchanged folder is neither re-read nor re-sent."""
    folder = Path(folder).resolve()
    files = _model_files(folder)
    if not any(name == "config.json" for name, _ in files):
        raise FtuiError(
            f"model folder {folder} has no config.json; a model folder is what save_pretrained() writes"
        )
    fingerprint = hashlib.sha256()
    for name, path in files:
        st = path.stat()
        fingerprint.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    base = cache or paths.cache_dir() / "sagemaker" / "models"
    target = base / fingerprint.hexdigest()[:24] / f"{folder.name}.tar"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in files:
            with open(path, "rb") as fh:
                tar.addfile(_info(name, path.stat().st_size), fh)
    os.replace(tmp, target)
    return target
