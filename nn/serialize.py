"""Model files: versioned, human-readable JSON (loading one never runs code), written atomically."""
import json
import math
import numbers
import os
import stat
from pathlib import Path

from autodiff.files import atomic_write

FORMAT = "autodiff.nn"
VERSION = 1
MAX_BYTES = 1 << 30  # 1 GiB, about 40 million parameters: a bigger file is refused before it is read


def write_model(path, kind, config, state):
    """Write the model file atomically: readers see the old file or the new one, never a part."""
    path = Path(path)
    state = dict(state)
    for name, v in state.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"{path}: not saved: parameter {name} is {type(v).__name__} {v!r}, not a number")
        try:
            v = state[name] = float(v)  # numpy's float32 and the like are numbers too
        except OverflowError:  # an int of hundreds of digits
            raise ValueError(f"{path}: not saved: parameter {name} is an integer too large for a float") from None
        if not math.isfinite(v):
            raise ValueError(f"{path}: not saved: parameter {name} is {v} (training diverged?); "
                             f"a model file holds finite numbers only")
    text = json.dumps({"format": FORMAT, "version": VERSION, "model": kind, "config": config,
                       "parameters": state}, indent=1, allow_nan=False) + "\n"
    atomic_write(path, text.encode("utf-8"))


def read_model(path):
    """(model class name, config, parameters) from a file written by write_model; ValueError naming the file."""
    path = Path(path)
    raw = _read(path)
    if not raw.strip():
        raise ValueError(f"{path}: the file is empty; it is not a saved model")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; it is not a saved model") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (truncated or corrupt?): {e}") from None
    except ValueError as e:  # NaN or Infinity in the file
        raise ValueError(f"{path}: {e}") from None
    except RecursionError:
        raise ValueError(f"{path}: not a saved model (nested too deeply)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an autodiff model file (expected a JSON object with \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: the file has no valid format version")
    if version > VERSION:
        raise ValueError(f"{path}: format version {version} is newer than this autodiff reads ({VERSION}); "
                         f"upgrade autodiff")
    kind, config, state = data.get("model"), data.get("config"), data.get("parameters")
    if not isinstance(kind, str) or not isinstance(state, dict) or not (config is None or isinstance(config, dict)):
        raise ValueError(f"{path}: the file is missing its model, config or parameters")
    return kind, config, state


def _read(path):
    """The bytes of a regular file of at most MAX_BYTES; a device, pipe or folder is refused without waiting."""
    info = os.stat(path)  # a missing file is a FileNotFoundError, as usual
    _regular(path, info)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a pipe swapped in since cannot block us
    with os.fdopen(fd, "rb") as f:
        _regular(path, os.fstat(f.fileno()))
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        _too_large(path)
    return raw


def _regular(path, info):
    if not stat.S_ISREG(info.st_mode):
        kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a pipe" if stat.S_ISFIFO(info.st_mode) else
                "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a socket")
        raise ValueError(f"{path}: not a regular file ({kind}); a saved model is a file written by save()")
    if info.st_size > MAX_BYTES:
        _too_large(path)


def _too_large(path):
    raise ValueError(f"{path}: too large for a model file (more than {MAX_BYTES} bytes); it is not a saved model")


def _no_constants(name):
    raise ValueError(f"{name} is not a finite number")
