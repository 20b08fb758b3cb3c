"""OpenAIProvider's files, uploads and error messages, against `ftui serve` on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.openai_provider import KEY, make_provider
from support.serve_harness import write_chat_examples

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.uploads import upload_once


async def test_upload_reuses_a_file_already_uploaded_with_the_same_content(
    server, monkeypatch, tmp_path: Path
) -> None:
    provider = make_provider(server.url, monkeypatch)
    data = write_chat_examples(tmp_path / "train.jsonl")
    seen: list[tuple[int, int]] = []
    first = (await upload_once(provider, data, progress=lambda done, total: seen.append((done, total)))).file
    copy = tmp_path / "same-content.jsonl"
    copy.write_bytes(data.read_bytes())
    again = await upload_once(provider, copy)
    assert again.deduplicated and again.file.id == first.id and len((await provider.files()).items) == 1
    assert seen[-1] == (data.stat().st_size, data.stat().st_size)
    # Deleted remotely: the next upload notices and uploads afresh.
    await provider.delete_file(first.id)
    third = (await upload_once(provider, data)).file
    assert third.id != first.id
    assert await provider.file_content(third.id) == data.read_bytes()
    await provider.aclose()


async def test_large_files_go_through_the_uploads_api_in_parts(server, monkeypatch, tmp_path: Path) -> None:
    provider = make_provider(server.url, monkeypatch)
    provider.upload_threshold, provider.upload_part_size = 2000, 1500
    data = write_chat_examples(tmp_path / "big.jsonl", n=30)
    progress: list[int] = []
    remote = await provider.upload(data, progress=lambda done, total: progress.append(done))
    assert await provider.file_content(remote.id) == data.read_bytes()
    assert len(progress) >= data.stat().st_size // 1500  # one report per part at least
    parts = [r for r in server.recorder.records if r.path.endswith("/parts")]
    assert len(parts) == -(-data.stat().st_size // 1500)
    await provider.aclose()


async def test_an_interrupted_chunked_upload_resumes_from_its_saved_session(
    server, monkeypatch, tmp_path: Path
) -> None:
    provider = make_provider(server.url, monkeypatch)
    provider.upload_threshold, provider.upload_part_size = 2000, 1500
    data = write_chat_examples(tmp_path / "big.jsonl", n=30)
    real = provider.client.uploads.parts.create
    calls = 0

    async def flaky(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # the user gave up half way
        return await real(*args, **kwargs)

    monkeypatch.setattr(provider.client.uploads.parts, "create", flaky)
    with pytest.raises(KeyboardInterrupt):
        await upload_once(provider, data)
    import hashlib

    session = provider.store.upload_session("remote", hashlib.sha256(data.read_bytes()).hexdigest())
    assert session is not None and len(session["parts"]) == 2
    monkeypatch.setattr(provider.client.uploads.parts, "create", real)
    remote = (await upload_once(provider, data)).file
    assert await provider.file_content(remote.id) == data.read_bytes()
    creates = [r for r in server.recorder.records if r.method == "POST" and r.path == "/v1/uploads"]
    assert len(creates) == 1  # the same upload, continued
    await provider.aclose()


async def test_missing_api_key_names_the_variable_and_wrong_key_is_never_echoed(server, monkeypatch) -> None:
    provider = make_provider(server.url, monkeypatch)
    monkeypatch.delenv("FTUI_TEST_OPENAI_KEY")
    with pytest.raises(FtuiError, match="FTUI_TEST_OPENAI_KEY"):
        await provider.files()
    monkeypatch.setenv("FTUI_TEST_OPENAI_KEY", "sk-wrong-secret-value")
    with pytest.raises(ProviderError) as err:
        await provider.files()
    assert err.value.status == 401 and "FTUI_TEST_OPENAI_KEY" in str(err.value)
    assert "sk-wrong-secret-value" not in str(err.value) and KEY not in str(err.value)
    await provider.aclose()


async def test_not_found_maps_to_ftui_not_found(server, monkeypatch) -> None:
    provider = make_provider(server.url, monkeypatch)
    with pytest.raises(NotFound, match="file-nope"):
        await provider.file_content("file-nope")
    await provider.aclose()


async def test_training_not_available_says_so_and_suggests_ftui_serve(
    server, local_provider, monkeypatch, tmp_path
) -> None:
    async def refuse(spec):
        raise ProviderError(
            "OpenAI is winding down the fine-tuning platform and your organization is "
            "no longer able to create new fine-tuning training jobs.",
            code="training_not_available",
            status=403,
        )

    local_provider.create_job = refuse
    provider = make_provider(server.url, monkeypatch)
    from ftui.model import JobSpec

    data = write_chat_examples(tmp_path / "t.jsonl")
    with pytest.raises(ProviderError) as err:
        await provider.create_job(JobSpec(base_model="tiny-llama", training_file=str(data)))
    assert err.value.code == "training_not_available"
    assert "ftui serve" in str(err.value) and "winding down" in str(err.value)
    await provider.aclose()
