"""Small file helpers shared by the adapters that write outputs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def readable_mode() -> int:
    """0666 less the process umask: what a plain open() would give. Temp files from mkstemp are private
    (0600), and an output renamed into place should be readable like any file the office saves."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, write: Callable[[str], None]) -> Path:
    """Write a new file through a temp file in the same folder and an atomic rename, so a crash leaves
    either the old file or the new one, never half of one. `write` saves to the temp path given."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, readable_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
