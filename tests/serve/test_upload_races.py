"""Completing an upload is atomic: two completes at once (an SDK retrying a slow one) make one file,
and a complete repeated later answers with that same file."""

from __future__ import annotations

import threading

import pytest
from support.serve_harness import serve


def test_two_concurrent_completes_make_one_file(local_provider) -> None:
    content = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
    content *= 20_000  # a few MB: assembling takes a moment, so the two really overlap
    with serve(local_provider) as s:
        client = s.client()
        upload = client.uploads.create(
            bytes=len(content), filename="big.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        part = client.uploads.parts.create(upload.id, data=content)
        start = threading.Barrier(2)
        results: list = []
        errors: list = []

        def complete() -> None:
            start.wait()
            try:
                results.append(client.uploads.complete(upload.id, part_ids=[part.id]))
            except Exception as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=complete) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert {r.file.id for r in results} == {results[0].file.id}
        assert [f.id for f in client.files.list().data] == [results[0].file.id]
        # Later, the same complete again: the same file, no new one.
        again = client.uploads.complete(upload.id, part_ids=[part.id])
        assert again.file.id == results[0].file.id and len(client.files.list().data) == 1


def test_a_complete_repeated_with_other_parts_is_refused(local_provider) -> None:
    import openai

    with serve(local_provider) as s:
        client = s.client()
        upload = client.uploads.create(
            bytes=3, filename="a.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        part = client.uploads.parts.create(upload.id, data=b"{}\n")
        client.uploads.complete(upload.id, part_ids=[part.id])
        with pytest.raises(openai.BadRequestError, match="other parts"):
            client.uploads.complete(upload.id, part_ids=["part_other"])
