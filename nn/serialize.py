"""Model files: versioned, human-readable JSON (loading one never runs code), written atomically."""
import json
import math
from pathlib import Path

from autodiff.files import atomic_write

FORMAT = "autodiff.nn"
VERSION = 1


def write_model(path, kind, config, state):
    """Write the model file atomically: readers see the old file or the new one, never a part."""
    path = Path(path)
    for name, v in state.items():
        if not math.isfinite(v):
            raise ValueError(f"{path}: not saved: parameter {name} is {v} (training diverged?); "
                             f"a model file holds finite numbers only")
    text = json.dumps({"format": FORMAT, "version": VERSION, "model": kind, "config": config,
                       "parameters": state}, indent=1, allow_nan=False) + "\n"
    atomic_write(path, text.encode("utf-8"))


def read_model(path):
    """(model class name, config, parameters) from a file written by write_model; ValueError naming the file."""
    path = Path(path)
    raw = path.read_bytes()  # a missing file is a FileNotFoundError, as usual
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


def _no_constants(name):
    raise ValueError(f"{name} is not a finite number")
