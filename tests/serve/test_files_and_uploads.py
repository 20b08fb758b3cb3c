"""Files and Uploads through the real SDK against `ftui serve` over the local provider."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import openai
import pytest
from support.serve_harness import serve, write_chat_examples


def test_file_create_list_retrieve_content_delete_round_trip(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl")
    with serve(local_provider) as s:
        client = s.client()
        created = client.files.create(file=data, purpose="fine-tune")
        assert created.id.startswith("file-") and created.purpose == "fine-tune"
        assert created.bytes == data.stat().st_size and created.filename == "train.jsonl"
        second = client.files.create(file=data, purpose="fine-tune")

        listed = client.files.list()
        assert [f.id for f in listed.data] == [second.id, created.id]  # newest first by default
        assert [f.id for f in client.files.list(order="asc")] == [created.id, second.id]
        page = client.files.list(limit=1)
        assert page.has_more and page.data[0].id == second.id
        assert [f.id for f in client.files.list(limit=1, after=second.id).data] == [created.id]

        assert client.files.retrieve(created.id).id == created.id
        assert client.files.content(created.id).read() == data.read_bytes()
        deleted = client.files.delete(created.id)
        assert deleted.deleted and deleted.id == created.id
        with pytest.raises(openai.NotFoundError) as err:
            client.files.retrieve(created.id)
        assert err.value.param == "id" and created.id in err.value.message


def test_upload_of_a_line_that_is_not_a_json_object_is_rejected_naming_the_line(
    local_provider, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n[1, 2]\n', encoding="utf-8")
    with serve(local_provider) as s:
        with pytest.raises(openai.BadRequestError) as err:
            s.client().files.create(file=bad, purpose="fine-tune")
        assert "Line 2 is not a dictionary" in err.value.message
        assert err.value.code == "invalid_file_format"
        assert s.client().files.list().data == []


def test_upload_check_reads_lines_as_validation_and_training_do(local_provider, tmp_path: Path) -> None:
    rows = write_chat_examples(tmp_path / "rows.jsonl").read_bytes().splitlines()
    windows = tmp_path / "windows.jsonl"  # a BOM, CRLF line ends, a CR between two tokens
    windows.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(r.replace(b"}, {", b"},\r{") for r in rows) + b"\r\n")
    packed = tmp_path / "packed.jsonl"
    packed.write_bytes(gzip.compress(windows.read_bytes()))
    with serve(local_provider) as s:
        client = s.client()
        assert client.files.create(file=windows, purpose="fine-tune").bytes == windows.stat().st_size
        with pytest.raises(openai.BadRequestError) as err:
            client.files.create(file=packed, purpose="fine-tune")
    assert err.value.code == "invalid_file_format" and "This is a gzip file" in err.value.message
    assert str(tmp_path) not in err.value.message and "/" not in err.value.message.split("JSONL;")[0]


def test_fine_tune_upload_must_be_jsonl(local_provider, tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n1,2\n")
    with serve(local_provider) as s, pytest.raises(openai.BadRequestError, match=r"\.jsonl"):
        s.client().files.create(file=csv, purpose="fine-tune")


def test_file_with_expiry_reports_expires_at(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl")
    with serve(local_provider) as s:
        f = s.client().files.create(
            file=data, purpose="fine-tune", expires_after={"anchor": "created_at", "seconds": 3600}
        )
        assert f.expires_at is not None and f.expires_at - f.created_at in range(3595, 3605)


def test_chunked_upload_assembles_parts_in_order_into_one_file(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "big.jsonl", n=40)
    with serve(local_provider) as s:
        client = s.client()
        upload = client.uploads.upload_file_chunked(
            file=data, mime_type="text/jsonl", purpose="fine-tune", part_size=1000
        )
        assert upload.status == "completed" and upload.id.startswith("upload_")
        assert upload.file is not None and upload.file.bytes == data.stat().st_size
        assert client.files.content(upload.file.id).read() == data.read_bytes()
        # Parts are on disk only while the upload is pending.
        assert not any((local_provider_data(tmp_path) / upload.id).glob("*"))


def local_provider_data(tmp_path: Path) -> Path:
    from ftui.paths import data_dir

    return data_dir() / "serve" / "uploads"


def test_upload_complete_checks_declared_bytes_and_part_order(local_provider, tmp_path: Path) -> None:
    with serve(local_provider) as s:
        client = s.client()
        upload = client.uploads.create(
            bytes=10, filename="x.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        first = client.uploads.parts.create(upload.id, data=b'{"a": 1}\n')
        with pytest.raises(openai.BadRequestError, match="declared 10"):
            client.uploads.complete(upload.id, part_ids=[first.id])
        second = client.uploads.parts.create(upload.id, data=b"\n")
        done = client.uploads.complete(
            upload.id, part_ids=[first.id, second.id], md5=hashlib.md5(b'{"a": 1}\n\n').hexdigest()
        )
        assert done.status == "completed"
        assert client.files.content(done.file.id).read() == b'{"a": 1}\n\n'
        with pytest.raises(openai.BadRequestError, match="completed"):
            client.uploads.parts.create(upload.id, data=b"more")

        other = client.uploads.create(
            bytes=3, filename="y.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        assert client.uploads.cancel(other.id).status == "cancelled"


def test_files_and_pending_uploads_survive_a_server_restart(local_provider, tmp_path: Path) -> None:
    data = write_chat_examples(tmp_path / "train.jsonl")
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=data, purpose="fine-tune")
        upload = client.uploads.create(
            bytes=4, filename="z.jsonl", mime_type="text/jsonl", purpose="fine-tune"
        )
        part = client.uploads.parts.create(upload.id, data=b"{}\n\n")
    with serve(local_provider) as s:
        client = s.client()
        assert client.files.retrieve(f.id).filename == "train.jsonl"
        done = client.uploads.complete(upload.id, part_ids=[part.id])
        assert done.file is not None and client.files.content(done.file.id).read() == b"{}\n\n"
