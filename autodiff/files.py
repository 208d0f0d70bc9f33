"""Files that are never half-written: write beside the target, then rename over it."""
import os
import uuid
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, data):
    """Write bytes to path so that readers see the old file or the new one, never a part; returns the path.

    On any failure (a full disk, an interrupt) the old file is left as it was and no temporary file remains.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:  # "x": a fresh file, with the usual permissions
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
