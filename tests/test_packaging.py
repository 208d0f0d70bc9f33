"""The package as others build on it: the engine's type stub matches the module, every export is typed in use."""
import ast
import re
from pathlib import Path

import autodiff
import nn
from autodiff import Value, engine

ROOT = Path(__file__).resolve().parent.parent


def _stub():
    return ast.parse((ROOT / "autodiff" / "engine.pyi").read_text())


def test_the_engine_stub_declares_every_public_name_and_every_method_of_value():
    tree = _stub()
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    top |= {t.id for n in tree.body if isinstance(n, ast.AnnAssign) for t in [n.target] if isinstance(t, ast.Name)}
    top |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    missing = [name for name in engine.__all__ if name not in top]
    assert not missing, f"engine.pyi lacks {missing}"
    value = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value")
    declared = {n.name for n in value.body if isinstance(n, ast.FunctionDef)}
    declared |= {n.target.id for n in value.body if isinstance(n, ast.AnnAssign)}
    runtime = {name for name in dir(Value) if not name.startswith("_") or name in {
        "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
        "__pow__", "__rpow__", "__neg__", "__abs__", "__pos__", "__lt__", "__le__", "__gt__", "__ge__", "__float__"}}
    assert runtime - declared == set(), f"engine.pyi's Value lacks {sorted(runtime - declared)}"


def test_every_export_is_used_in_the_typed_usage_file():
    usage = (ROOT / "tests" / "typing_usage.py").read_text()
    for module, names in (("autodiff", autodiff.__all__ + ["compile"]), ("nn", nn.__all__)):
        for name in names:
            if module == "nn" and name == "ACTIVATIONS":
                continue
            assert re.search(rf"\b{name}\b", usage), f"tests/typing_usage.py does not use {module}.{name}"


def test_the_wheel_gets_the_licence_and_the_type_markers():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license-files = ["LICENSE"]' in pyproject and '"py.typed"' in pyproject
    assert (ROOT / "autodiff" / "py.typed").exists() and (ROOT / "nn" / "py.typed").exists()


def test_a_learners_own_nn_py_is_pointed_out_when_autodiff_is_imported(tmp_path):
    import subprocess
    import sys
    (tmp_path / "nn.py").write_text("x = 1\n")  # a learner's file next to their notebook
    out = subprocess.run([sys.executable, "-c", "import autodiff"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "not autodiff's nn" in out.stderr and str(tmp_path / "nn.py") in out.stderr and "rename" in out.stderr
    quiet = subprocess.run([sys.executable, "-W", "error", "-c", "import autodiff, nn; nn.MLP"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""
