"""Atomic writes and plain/gzip reading."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from locflow.data.files import atomic_path, read_text, write_text
from locflow.errors import InputError


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_has_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_read_text_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_text(empty)
    corrupt = tmp_path / "cut.gz"
    corrupt.write_bytes(gzip.compress(b"ID   X\n" * 1000)[:50])
    with pytest.raises(InputError, match="cut.gz: cannot read"):
        read_text(corrupt)
    with pytest.raises(InputError, match="not found"):
        read_text(tmp_path / "missing.txt")
