"""Content-addressed raw storage."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scrapers.blobstore import BlobStore


def test_put_get_roundtrip(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"PK\x03\x04 some docx"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.has(sha)
    assert store.get(sha) == data
    assert store.path(sha) == tmp_path / sha[:2] / sha[2:]
    assert store.path(sha).read_bytes() == data


def test_put_is_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha1 = store.put(b"same")
    mtime = store.path(sha1).stat().st_mtime_ns
    sha2 = store.put(b"same")
    assert sha1 == sha2
    assert store.path(sha1).stat().st_mtime_ns == mtime
    # No temporary files left behind.
    assert [p.name for p in store.path(sha1).parent.iterdir()] == [sha1[2:]]


def test_missing_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "not-yet-created")
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not store.has(sha)
    with pytest.raises(FileNotFoundError):
        store.get(sha)


def test_rejects_non_sha(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_empty_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"")
    assert store.get(sha) == b""


def test_concurrent_puts(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blobs = [bytes([i % 7]) * 1000 for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        shas = list(pool.map(store.put, blobs))
    for data, sha in zip(blobs, shas):
        assert store.get(sha) == data
