"""Content-addressed storage for raw downloads (pages and attachments).

Every byte string the scraper parsed is kept under its sha256, so any export
can be traced back to — and re-parsed from — the exact file CAC served, even
after CAC re-issues the attachment in place.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["BlobStore"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Files at ``root/ab/cdef…`` (first two hex digits as a fan-out directory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        sha = sha.lower()
        if not _SHA256.match(sha):
            # Also stops path traversal through a crafted "sha".
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256; storing the same bytes twice is a no-op."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_file():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file in the same directory and rename it into
        # place, so a crash or a concurrent reader never sees half a blob.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return sha

    def get(self, sha: str) -> bytes:
        """The stored bytes; ``FileNotFoundError`` when the blob is missing."""
        path = self.path(sha)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"blob {sha} not found in {self.root}") from None
