"""Small file helpers shared by the adapters that write outputs."""
from __future__ import annotations

import os


def readable_mode() -> int:
    """0666 less the process umask: what a plain open() would give. Temp files from mkstemp are private
    (0600), and an output renamed into place should be readable like any file the office saves."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
