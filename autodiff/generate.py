"""Writes autodiff/ops.py, the ops of the table applied, from engine.TABLE: `python autodiff/generate.py`.

The table (autodiff/engine.py) is the one place that knows each op's forward and local derivatives. The engine's
hot path is those formulas written out as plain Python, one function per op and one per node of backward(): a
hand-written form that shares the operand and node code in helpers costs one more call per op, and made W6 (the
tiny GPT step of demos/benchmark.py) 3-14% slower with only mul, add and exp written that way. Writing that code by hand would say every
formula twice; writing it at import would hide it from `inspect`, `help`, `pdb` and tracebacks. So it is written
here, ahead of time, into a file that is committed and read like any other (as PyTorch writes its autograd code from
derivatives.yaml). tests/test_readable.py checks that ops.py is what this program writes today.

    python autodiff/generate.py           # rewrite autodiff/ops.py from the table
    python autodiff/generate.py --check   # exit 1 if autodiff/ops.py is not what the table gives

It reads the table from engine.py's text and imports nothing of the package, so it runs even when ops.py is
out of date or broken.
"""
import ast
import os
import re
import sys
import tempfile
from pathlib import Path

__all__ = ["read_table", "source", "main"]

HERE = Path(__file__).resolve().parent
OPS_PY = HERE / "ops.py"


def read_table(engine_py=HERE / "engine.py"):
    """engine.TABLE, read from the file's text: {key: (name, forward, d/dx[, d/dy])}."""
    tree = ast.parse(Path(engine_py).read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and [t.id for t in n.targets] == ["TABLE"])
    return ast.literal_eval(node.value)

# How each op is applied: the names of the functions that apply it and the Value operators they become. A unary op
# has one function, a Value's method that takes a number too (autodiff.tanh(2.0)); a binary op has a method (self is
# a Value) and, for an operator, a reflected form for a number on the left (2 * v calls v.__rmul__(2)).
APPLIED = {
    # key:      (method,  operator,         reflected, operator)
    "add":      ("add",   "__add__",        "radd",    "__radd__"),
    "sub":      ("sub",   "__sub__",        "rsub",    "__rsub__"),
    "mul":      ("mul",   "__mul__",        "rmul",    "__rmul__"),
    "div":      ("div",   "__truediv__",    "rdiv",    "__rtruediv__"),
    "power":    ("power", "__pow__",        None,      None),
    "vpower":   ("vpower", "__pow__",       "rvpower", "__rpow__"),
    "leaky":    ("leaky_relu", "leaky_relu", None,     None),
    "neg":      ("neg",   "__neg__",        None,      None),
    "absolute": ("absolute", "__abs__",     None,      None),
}  # every other op: its method has its name (exp, log, sqrt, tanh, sigmoid, relu, sin, cos)

# The ops that make a rule's test of value(x) as a node (at higher orders): functions of ops.py, not Value methods.
SELECTIONS = ("step", "sign", "slope", "below")
USED_BY = {"step": "relu's d/dx is", "sign": "abs's d/dx is", "slope": "leaky_relu's d/dx is",
           "below": "leaky_relu's d/dy is (below(x, x)), and slope's and below's d/dy (below(x, 1.0))"}

HEADER = '''\
"""The ops of the table, applied: written from engine.TABLE by `python autodiff/generate.py`; do not edit by hand.

For each op of the table, side by side:
  - the function that applies it: a Value's operator or method (x * y is mul(x, y)), with the op's forward written
    in; a two-input op also has its reflected form, for a number on the left (2 * x is rmul(x, 2));
  - its step of backward() on floats: each parent's .grad += g * d(out)/d(parent), g being the node's own grad;
  - the Op itself (engine.Op), which also holds the forward and the local derivatives as functions (on Values they
    give Values: higher-order derivatives) and the table's formulas as text (pictures, explain, compile).
A number on either side of an op becomes a shared Constant (engine.constant), a leaf that receives no gradient.
A result that is not a finite float is checked by the Op (an error naming the op if every operand was finite),
and so is a derivative (the `d - d` test: 0.0 for a finite float). Applying an op costs one call, and a node's
step in backward() one more (mul's and add's are written into engine.backward itself).
"""
import math

from . import grad_mode
from .engine import TABLE, Constant, Op, Value, constant, constants, slow_node, value
from .errors import real, refuse_modulo
from .floats import cos_, div_, exp_, log_, pow_, sigmoid_, sin_, sqrt_, tanh_, vpow_

__all__ = ["OPS"]

_new = object.__new__  # a Value without __init__'s checks: an op's output is a float already
'''

UNARY = '''
def {f}(self):
    """The op {name}: out = {forward}; d(out)/dx = {dx}.

    {where}; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "{name}")
    try:
        out = {forward}
    except (ArithmeticError, ValueError, TypeError) as e:
        raise {op}.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = {op}.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, {op}, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, {op}, self
    return node
'''

BINARY = '''
def {f}(self, other{modulo}):
    """The op {name}: out = {forward}; d(out)/dx = {dx}; d(out)/dy = {dy}.

    {where}: x is self, y is other (a Value or a number).
    """
{dispatch}    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "{name}")
        other = constants[y] if y in constants else constant(y)
    try:
        out = {forward}
    except (ArithmeticError, ValueError, TypeError) as e:
        raise {op}.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = {op}.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, {op}, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, {op}, self, other
    return node
'''

REFLECTED = '''
def {r}(self, other):
    """The op {name} with a number on the left, as in 2 {symbol} v ({where}): {f}(the number's Constant, self).

    out = {forward}; d(out)/dx = {dx}; d(out)/dy = {dy}: x is other (the number), y is self.
    """
    return {f}(other if isinstance(other, Value) else constant(real(other, "{name}")), self)
'''

EITHER = '''
def {f}(self, slope=0.01):
    """The op {name}: out = {forward}; d(out)/dx = {dx}; d(out)/dy = {dy}.

    {where}: x is self, y is the slope; either may be a Value or a number (numbers only: a float).
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "{name}")
    y = slope.data if isinstance(slope, Value) else slope if type(slope) is float else real(slope, "{name}")
    try:
        out = {forward}
    except (ArithmeticError, ValueError, TypeError) as e:
        raise {op}.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = {op}.result(out, (x, y))
    if not isinstance(self, Value):
        if not isinstance(slope, Value):
            return out
        self = constant(x)
    if not isinstance(slope, Value):
        slope = constant(y)  # the slope is an input like any other: a Constant unless it is a Value
    if grad_mode.paused:
        return slow_node(out, {op}, self, slope)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, {op}, self, slope
    return node
'''

CHOICE = '''
def {f}(x, y):
    """The op {name}: out = {forward}; d(out)/dx = {dx}; d(out)/dy = {dy}.

    {where}; x and y may be Values or numbers (numbers only: a float).
    """
    a = x.data if isinstance(x, Value) else x if type(x) is float else real(x, "{name}")
    b = y.data if isinstance(y, Value) else y if type(y) is float else real(y, "{name}")
    out = {forward_ab}
    if not isinstance(x, Value) and not isinstance(y, Value):
        return out
    x = x if isinstance(x, Value) else constant(a)
    y = y if isinstance(y, Value) else constant(b)
    if grad_mode.paused:
        return slow_node(out, {op}, x, y)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, {op}, x, y
    return node
'''

POWER_DISPATCH = '''\
    if modulo is not None:
        raise refuse_modulo(self, other, modulo)
    if isinstance(other, Value) and type(other) is not Constant:
        return vpower(self, other)  # a Value exponent: the op that also differentiates by the exponent
'''


def on_floats(formula):
    """A formula as it runs on floats, where value(x), a number's condition on a Value, is x itself."""
    return re.sub(r"(?<!\w)value\((\w+)\)", r"\1", formula)


def _step(key, row):
    """The op's step of backward() on floats."""
    name, forward, *rules = row
    names = "xy"[:len(rules)]
    floats = [on_floats(r) for r in rules]
    used = [v for v in (*names, "out") if any(re.search(rf"\b{v}\b", r) for r in floats)]
    summary = "; ".join(f"grad({v}) += g * {_grouped(r)}" for v, r in zip(names, floats))
    lines = [f"def {key}_backward(node, g):",
             f'    """{name}\'s step of backward() on floats: {summary}."""',
             f"    {', '.join('p' + v for v in names)} = {', '.join('node._' + v for v in names)}"]
    if used:
        sources = {"x": "px.data", "y": "py.data", "out": "node.data"}
        lines.append(f"    {', '.join(used)} = {', '.join(sources[v] for v in used)}")
    for i, (v, rule) in enumerate(zip(names, floats)):
        lines.append(f"    if type(p{v}) is not Constant:")
        if rule in ("1.0", "-1.0"):
            lines.append(f"        p{v}.grad {'-' if rule[0] == '-' else '+'}= g")
        elif re.fullmatch(r"x|y|out|0\.0", rule):  # an operand's number (finite unless the user put in an inf or nan), or 0
            lines.append(f"        p{v}.grad += g * {rule}")
        else:
            lines += ["        try:",
                      f"            d = {rule}",
                      "        except (ArithmeticError, ValueError):",
                      "            d = math.nan",
                      "        if d - d:  # not finite: an error naming the op, unless an operand is not finite",
                      f"            d = {key}_op.non_finite(node, {i})",
                      f"        p{v}.grad += g * d"]
    return "\n".join(lines) + "\n"


def _grouped(formula):
    return f"({formula})" if " " in formula else formula


def _pattern(forward):
    """A regular expression of a selection's forward: its x and y stand for the rule's variables or numbers."""
    seen = []

    def variable(m):
        if m[1] in seen:
            return f"(?P={m[1]})"
        seen.append(m[1])
        return rf"(?P<{m[1]}>[\w.-]+)"
    return re.sub(r"\b([xy])\b", variable, re.escape(forward))


def selection(rule, table):
    """The call of the op that makes a rule's test as a node (relu's `0.0 if value(x) <= 0 else 1.0` is step(x)),
    or the rule itself when it tests nothing or no op of SELECTIONS makes its test."""
    if "value(" not in rule:
        return rule
    for key in SELECTIONS:
        match = re.fullmatch(_pattern(table[key][1]), on_floats(rule))
        if match:
            return f"{key}({', '.join(match.groupdict().values())})"
    return rule


def _op(key, row, table):
    """The Op: the table's row, its formulas as functions, and its step of backward()."""
    forward, *rules = row[1:]
    args = ", ".join("xy"[:len(rules)])
    functions = [f"lambda {args}: {forward}"] + [f"lambda {args}, out: {selection(r, table)}" for r in rules]
    pad = " " * len(f"{key}_op = Op(")
    inner = ",\n".join(pad + "            " + f for f in functions[1:])
    return (f"{key}_op = Op(*TABLE[{key!r}], backward={key}_backward,\n"
            f"{pad}functions=({functions[0]},\n{inner}))\n")


def _section(key, row, table):
    name, forward, *rules = row
    title = f"# {key} ({name}) "
    header = [title + "-" * (117 - len(title))]
    header.append(f"#   out = {forward}")
    header += [f"#   d(out)/d{v} = {r}" for v, r in zip("xy", rules)]
    method, operator, reflected, roperator = APPLIED.get(key, (key, key, None, None))
    fields = dict(f=method, r=reflected, name=name, forward=forward, op=f"{key}_op",
                  dx=rules[0], dy=rules[-1], symbol=name, dispatch="", modulo="")
    if key in SELECTIONS:
        where = f"What {USED_BY[key]} at higher orders (a function of autodiff.ops, not a Value method)"
        if len(rules) == 1:
            body = UNARY.format(**fields, where=where)
        else:
            forward_ab = re.sub(r"\b([xy])\b", lambda m: "ab"["xy".index(m[1])], forward)
            body = CHOICE.format(**fields, where=where, forward_ab=forward_ab)
    elif len(rules) == 1:
        where = f"Value.{operator}" if operator.startswith("__") else f"Value.{operator}, and autodiff.{operator}"
        body = UNARY.format(**fields, where=where)
    elif key == "leaky":
        body = EITHER.format(**fields, where="Value.leaky_relu, and autodiff.leaky_relu")
    else:
        where = f"Value.{operator}" + (", when the exponent is a number or a Constant" if key == "power" else "")
        if key == "power":
            fields["dispatch"], fields["modulo"] = POWER_DISPATCH, ", modulo=None"  # pow(v, 2, 3): refused
        elif key == "vpower":
            where = "Value.__pow__, when the exponent is a Value"
        body = BINARY.format(**fields, where=where)
        if reflected:
            body += "\n" + REFLECTED.format(**fields, where=f"Value.{roperator}")
    return "\n\n" + "\n".join(header) + "\n" + body + "\n\n" + _step(key, row) + "\n\n" + _op(key, row, table)


def source(table=None):
    """The text of ops.py, from the table as it is now."""
    TABLE = read_table() if table is None else table
    text = HEADER + "".join(_section(key, row, TABLE) for key, row in TABLE.items())
    names = ", ".join(f"{key}_op" for key in TABLE)
    text += ("\n\n# Every op, in the table's order; each pickles by its name here, as a function does.\n"
             f"OPS = [{names}]\n"
             "for _key, _op in zip(TABLE, OPS):\n"
             "    _op.__module__, _op.__qualname__ = __name__, _key + \"_op\"\n")
    return text


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = source()
    if argv == ["--check"]:
        if OPS_PY.read_text() != text:
            print(f"{OPS_PY} is not what the table gives: run python autodiff/generate.py", file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    fd, temporary = tempfile.mkstemp(dir=HERE, prefix=".ops.py.", suffix=".tmp")  # whole, or not at all
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(temporary, OPS_PY)
    except BaseException:
        os.unlink(temporary)
        raise
    print(f"wrote {OPS_PY} ({text.count(chr(10))} lines) from the table in engine.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
