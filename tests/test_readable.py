"""Every line that runs can be read: the ops are real source in the package, shown by inspect, help, pdb and
tracebacks; ops.py is what the generator writes from the table; importing the package runs no source text."""
import inspect
import linecache
import pydoc
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import autodiff
from autodiff import Value, engine, generate, ops

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "autodiff"

# Each operator and method of a Value, and the rows of the table whose formulas its help must give.
METHODS = {
    "__add__": ["add"], "__radd__": ["add"], "__sub__": ["sub"], "__rsub__": ["sub"], "__mul__": ["mul"],
    "__rmul__": ["mul"], "__truediv__": ["div"], "__rtruediv__": ["div"], "__pow__": ["power"],
    "__rpow__": ["vpower"], "__neg__": ["neg"], "__abs__": ["absolute"], "exp": ["exp"], "log": ["log"],
    "sqrt": ["sqrt"], "tanh": ["tanh"], "sigmoid": ["sigmoid"], "relu": ["relu"], "leaky_relu": ["leaky"],
    "sin": ["sin"], "cos": ["cos"],
}
FUNCTIONS = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos"]


def _in_package(path):
    path = Path(path).resolve()
    return path.is_file() and PACKAGE in path.parents


@pytest.mark.parametrize("name", METHODS)
def test_every_operator_and_method_has_source_in_a_file_of_the_package(name):
    method = getattr(Value, name)
    source = inspect.getsource(method)
    assert source.lstrip().startswith("def ") and "return" in source
    assert _in_package(inspect.getsourcefile(method))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_module_function_has_source_in_a_file_of_the_package(name):
    function = getattr(autodiff, name)
    assert "def " in inspect.getsource(function)
    assert _in_package(inspect.getsourcefile(function))
    assert function(0.5) == getattr(Value(0.5), name)().data  # the same op on a number and on a Value


@pytest.mark.parametrize("name", METHODS)
def test_help_names_the_op_and_gives_its_derivatives_as_the_table_writes_them(name):
    text = pydoc.plain(pydoc.render_doc(getattr(Value, name)))
    for key in METHODS[name]:
        symbol, forward, *rules = engine.TABLE[key]
        assert f"The op {symbol}" in text, text
        for rule in rules:
            assert rule in text, (rule, text)


def test_help_of_the_module_functions_gives_the_derivative():
    assert "1 - out ** 2" in pydoc.plain(pydoc.render_doc(autodiff.tanh))
    assert "out * (1 - out)" in pydoc.plain(pydoc.render_doc(autodiff.sigmoid))


def _lines_run(fn):
    """(file, line number) of every line Python runs inside autodiff while fn() runs."""
    seen = []

    def trace(frame, event, arg):
        if event in ("call", "line") and str(PACKAGE) in frame.f_code.co_filename:
            seen.append((frame.f_code.co_filename, frame.f_lineno))
        return trace

    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(None)
    return seen


def test_stepping_through_ops_and_backward_sees_only_lines_that_can_be_read():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    results = []
    seen = _lines_run(lambda: results.append((x * y + 2 * x.tanh() - x ** 2 / y).relu().sigmoid().log() + abs(-x).sqrt()))
    seen += _lines_run(lambda: results[0].backward())
    files = {f for f, _ in seen}
    assert str(PACKAGE / "ops.py") in files and str(PACKAGE / "engine.py") in files, files
    for filename, line in seen:
        assert _in_package(filename), filename  # no "<autodiff op *>": every frame is a file on disk
        assert linecache.getline(filename, line).strip(), (filename, line)


def test_a_traceback_through_an_ops_error_has_a_readable_line_for_every_frame():
    x = Value(-1.0)
    failures = [lambda: x.log(), lambda: Value(0.0) / Value(0.0), lambda: (Value(0.0).sqrt() * 2).backward(),
                lambda: autodiff.sqrt(-4.0), lambda: Value(1000.0).exp()]
    for fail in failures:
        with pytest.raises((ValueError, OverflowError)) as info:
            fail()
        frames = traceback.extract_tb(info.value.__traceback__)
        assert len(frames) >= 2
        for frame in frames:
            assert frame.line, (frame.filename, frame.lineno)
        assert any(f.filename == str(PACKAGE / "ops.py") for f in frames), [f.filename for f in frames]


def test_pdb_steps_into_an_op_and_into_backward_on_real_lines(tmp_path):
    script = tmp_path / "learner.py"
    script.write_text("from autodiff import Value\nx, y = Value(2.0), Value(3.0)\nbreakpoint()\nz = x * y\n"
                      "z.backward()\nprint('grad', x.grad)\n")
    commands = "step\nstep\nreturn\nnext\nstep\nstep\ncontinue\n"
    run = subprocess.run([sys.executable, str(script)], input=commands, capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONBREAKPOINT": ""})
    out = run.stdout
    assert "grad 3.0" in out, out
    assert "ops.py" in out and "mul()" in out, out  # pdb stepped into ops.mul, the function of x * y
    assert "-> x = self.data" in out, out  # and shows its first line
    assert "engine.py" in out and "backward()" in out, out
    assert "<autodiff" not in out


IMPORT_CHECK = r"""
import builtins, os, sys
package = {roots!r}
calls = []
for name in ("exec", "eval", "compile"):
    real = getattr(builtins, name)
    def counting(*args, _real=real, _name=name, **kwargs):
        caller = sys._getframe(1).f_code.co_filename
        if any(os.path.abspath(caller).startswith(root) for root in package):
            calls.append((_name, caller, sys._getframe(1).f_lineno))
        return _real(*args, **kwargs)
    setattr(builtins, name, counting)
import pkgutil, importlib
import autodiff, nn
for pkg in (autodiff, nn):
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(pkg.__name__ + "." + info.name)
x = autodiff.Value(0.5)
(x * 2 + x.tanh()).backward()
print("CALLS", calls)
"""


def test_importing_autodiff_and_nn_runs_no_source_text():
    roots = [str(ROOT / "autodiff") + "/", str(ROOT / "nn") + "/"]
    run = subprocess.run([sys.executable, "-B", "-c", IMPORT_CHECK.format(roots=roots)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert "CALLS []" in run.stdout, run.stdout


def test_the_import_check_can_fail(tmp_path):
    bad = tmp_path / "autodiff"
    bad.mkdir()
    (bad / "__init__.py").write_text("exec('x = 1')\n")
    (tmp_path / "nn").mkdir()
    (tmp_path / "nn" / "__init__.py").write_text("")
    roots = [str(bad) + "/", str(tmp_path / "nn") + "/"]
    code = IMPORT_CHECK.format(roots=roots).replace("x = autodiff.Value(0.5)\n(x * 2 + x.tanh()).backward()\n", "")
    run = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert "CALLS [('exec'" in run.stdout, (run.stdout, run.stderr)


def test_ops_py_is_what_the_generator_writes_from_the_table_today():
    assert (PACKAGE / "ops.py").read_text() == generate.source()
    check = subprocess.run([sys.executable, str(PACKAGE / "generate.py"), "--check"], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert check.returncode == 0, check.stderr


def test_a_changed_table_gives_a_different_ops_py_and_the_check_says_so(tmp_path):
    table = generate.read_table()
    table["tanh"] = ("tanh", "tanh_(x)", "1.0 - out * out")
    text = generate.source(table)
    assert text != generate.source() and "d = 1.0 - out * out" in text and "1 - out ** 2" not in text
    copy = tmp_path / "autodiff"
    copy.mkdir()
    engine_py = (PACKAGE / "engine.py").read_text().replace('"1 - out ** 2"', '"1.0 - out * out"')
    (copy / "engine.py").write_text(engine_py)
    (copy / "ops.py").write_text((PACKAGE / "ops.py").read_text())
    (copy / "generate.py").write_text((PACKAGE / "generate.py").read_text())
    check = subprocess.run([sys.executable, str(copy / "generate.py"), "--check"], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 1 and "python autodiff/generate.py" in check.stderr
    write = subprocess.run([sys.executable, str(copy / "generate.py")], capture_output=True, text=True, timeout=60)
    assert write.returncode == 0 and "d = 1.0 - out * out" in (copy / "ops.py").read_text()
    assert not [p for p in copy.iterdir() if p.name.endswith(".tmp")]  # written whole, through a temporary file


def test_each_op_of_the_table_is_applied_and_stepped_by_its_own_functions():
    for key, op in zip(engine.TABLE, engine.OPS):
        assert op.backward is getattr(ops, f"{key}_backward")
        assert op.formulas == engine.TABLE[key][1:] and op.name == engine.TABLE[key][0]
        assert inspect.getsource(op.backward).startswith(f"def {key}_backward(node, g):")
    tanh = engine.OPS[list(engine.TABLE).index("tanh")]
    assert tanh.rules[0](0.5, 0.25) == 1 - 0.25 ** 2  # the table's formula, as a function of x and out


def test_the_engine_reads_top_down_value_table_leaves_backward():
    lines = (PACKAGE / "engine.py").read_text().splitlines()
    where = {key: next(i for i, line in enumerate(lines) if line.startswith(start)) for key, start in (
        ("Value", "class Value:"), ("table", "TABLE = {"), ("leaves", "class Parameter(Value):"),
        ("backward", "def backward(root, seed):"))}
    assert where["Value"] < where["table"] < where["leaves"] < where["backward"], where
    assert len(lines) < 650  # the core in one sitting (the applied ops are in ops.py, no_grad in grad_mode.py)
    assert "exec(" not in "\n".join(lines) and "APPLY" not in "\n".join(lines)
