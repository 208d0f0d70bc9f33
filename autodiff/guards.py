"""What a compiled trace assumed, checked on every call (guards, torch.compile's word for it).

`autodiff.compile` runs a function once on Values and replays the graph it built. Python may have decided
something from the numbers of that run: an `if p.data > 0`, a `max` of two `.data`, the kink of a relu inside a
derivative taken within the loss. While a trace runs, every Value's `.data` is a `Traced` number: a float that
remembers where it came from (a node of the graph, or arithmetic, abs, min or max of such numbers) and records each
decision made from it as a `Guard`: the comparison, as an expression of the graph's nodes, and how it came out.
The replay evaluates each guard again from its own numbers (one comparison each) and, if one comes out differently,
the call is traced again for that path (compile.py and batch.py keep the programs).

A number leaves that reach through a `math` function (`math.exp(p.data)`) or `float()`; `int()`, `round()`,
`math.floor` and `math.ceil` of a traced number are guarded as equalities (their result must stay the same). The
numbers the engine itself computes with (ops.py, engine.py, floats.py, ...) are not decisions of the function: the
op's program replays them. A number read by an op's local derivative on Values (`value(x) > 0` in relu's rule,
inside autodiff.grad within the loss) is a decision of the graph's shape, and is guarded.

The function's own closure cells and the globals its code names, when they hold numbers (or lists and tuples of
numbers), are part of what a trace assumed too: `scope_of(fn)` reads them, and a call whose numbers differ traces
again.
"""
import contextlib
import functools
import gc
import math
import numbers
import os
import sys
import threading
import types

from . import grad_mode

__all__ = ["Traced", "Guard", "Trace", "tracing", "scope_of", "numbers_in_scope", "values_in_scope"]

_HERE = os.path.dirname(os.path.abspath(__file__))
INTERNAL = {os.path.join(_HERE, f) for f in ("engine.py", "ops.py", "floats.py", "errors.py", "grad_mode.py",
                                              "guards.py", "functional.py", "trees.py", "explain.py")}
_lock = threading.Lock()


class Guard:
    """One decision of a trace: `kind` ("<", "<=", ">", ">=", "==", "!=", "bool", "int", "round", "floor", "ceil",
    "trunc") applied to the expression `left` (and `right`), which came out `outcome`; `where` is the file and line
    of the function's code that made it."""

    __slots__ = ("kind", "left", "right", "outcome", "where")

    def __init__(self, kind, left, right, outcome, where):
        self.kind, self.left, self.right, self.outcome, self.where = kind, left, right, outcome, where

    def __repr__(self):
        return f"<guard {self.kind} at {self.where}: {self.outcome!r}>"

    def nodes(self):
        """The graph's Values the guard reads."""
        return [e for e in _walk(self.left) + _walk(self.right) if type(e) is not float]

    def source(self, name, array=False):
        """The guard's test as Python, true when the decision comes out as in the trace: `name(node)` names a
        Value's number in the program; with array=True the test is elementwise (arrays of samples)."""
        left = _source(self.left, name)
        if self.kind in ("<", "<=", ">", ">=", "==", "!="):
            test = f"({left} {self.kind} {_source(self.right, name)})"
        elif self.kind == "bool":
            test = f"({left} != 0)"
        else:  # int, round, floor, ceil, trunc: the integer it gave
            function = {"int": "trunc"}.get(self.kind, self.kind)
            if array:
                return f"(xp.{function}(_a({left})) == {float(self.outcome)!r})"
            function = "round" if function == "round" else f"math.{function}"
            return f"({function}({left}) == {self.outcome!r})"
        if self.outcome:
            return test
        return f"xp.logical_not(_b({test}))" if array else f"(not {test})"


def _walk(expr):
    """The leaves of an expression: Values (a node's number) and floats (constants)."""
    out, stack = [], [expr]
    while stack:
        e = stack.pop()
        if type(e) is tuple:
            stack.extend(e[1:])
        elif e is not None:
            out.append(e)
    return out


def _source(expr, name):
    if type(expr) is float:
        return repr(expr) if math.isfinite(expr) else "inf" if expr > 0 else "(-inf)" if expr < 0 else "nan"
    if type(expr) is not tuple:
        return name(expr)  # a Value: the program's name for its number
    kind = expr[0]
    if kind == "neg":
        return f"(-{_source(expr[1], name)})"
    if kind == "abs":
        return f"abs({_source(expr[1], name)})"
    return f"({_source(expr[1], name)} {kind} {_source(expr[2], name)})"


class Trace:
    """The decisions of one trace, in the order made."""

    def __init__(self):
        self.guards = []
        self.active = True

    def number(self, x, node):
        """The number of a Value of the trace, as a Traced that knows its node."""
        t = _float(Traced, x)
        t.expr, t.tracer = node, self
        return t

    def record(self, kind, left, right, outcome, forced):
        frame = sys._getframe(2)  # the caller of the comparison
        if not forced and frame.f_code.co_filename in INTERNAL:
            return
        while frame is not None and frame.f_code.co_filename in INTERNAL:  # the line of the function's own code
            frame = frame.f_back
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"
        self.guards.append(Guard(kind, left, right, outcome, where))

    def pin(self, t):
        """A traced number made into a constant (Value(p.data), p * q.data): it must stay the same number."""
        if self.active and tracing.get() is self:
            self.guards.append(Guard("==", t.expr, float(t), True, _where()))


def _where():
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in INTERNAL:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


tracing = grad_mode.tracing


@contextlib.contextmanager
def tracing_on(trace):
    """Trace in this context (thread, task): every op's result gets a Traced number."""
    token = tracing.set(trace)
    with grad_mode.lock:
        grad_mode.paused += 1  # the ops' one check sends them to engine.slow_node, which gives the Traced numbers
    try:
        yield trace
    finally:
        with grad_mode.lock:
            grad_mode.paused -= 1
        tracing.reset(token)
        trace.active = False


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off while a trace is made and written out (and back on after, if it was
    on): a trace makes a graph's worth of objects at once, which the collector would scan again and again for
    nothing (a third of the time of a trace). The engine itself never switches it off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_float = float.__new__


def _expr(x):
    """The expression of an operand: a Traced's own, or a plain number's."""
    return x.expr if isinstance(x, Traced) else float(x)


def _traced(x, expr, tracer, cls):
    t = _float(cls, x)
    t.expr, t.tracer = expr, tracer
    return t


def _arith(kind, reflected=False):
    base = getattr(float, f"__{'r' if reflected else ''}{kind}__")
    symbol = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**"}[kind]

    def op(self, other):
        r = base(self, other)
        if type(r) is not float or not self.tracer.active:
            return r
        if not self.forced and sys._getframe(1).f_code.co_filename in INTERNAL:
            return r  # the engine's own arithmetic: its program replays it
        a, b = (_expr(other), self.expr) if reflected else (self.expr, _expr(other))
        return _traced(r, (symbol, a, b), self.tracer, type(self))
    op.__name__ = f"__{'r' if reflected else ''}{kind}__"
    return op


def _compare(kind):
    base = getattr(float, {"<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__", "==": "__eq__",
                           "!=": "__ne__"}[kind])

    def op(self, other):
        r = base(self, other)
        if r is NotImplemented or not isinstance(other, (numbers.Real, Traced)):
            return r
        if self.tracer.active and tracing.get() is self.tracer:
            self.tracer.record(kind, self.expr, _expr(other), r, self.forced)
        return r
    op.__name__ = base.__name__
    return op


def _integer(kind):
    base = {"int": float.__int__, "round": float.__round__, "floor": float.__floor__, "ceil": float.__ceil__,
            "trunc": float.__trunc__}[kind]

    def op(self, *args):
        r = base(self, *args)
        if not args and self.tracer.active and tracing.get() is self.tracer:
            self.tracer.record(kind, self.expr, None, r, self.forced)
        return r
    op.__name__ = base.__name__
    return op


class Traced(float):
    """A number of a traced Value, or computed from one: a float that records the decisions made from it.

    .expr is what it is in the graph's terms: a Value (that node's number), a float (a constant), or (op, a, b)."""

    __slots__ = ("expr", "tracer")
    forced = False  # (Decided: recorded even when the engine's own code decides)

    def live(self, frame):
        """Whether arithmetic made in this frame is followed (the engine's own is not: its program replays it)."""
        return self.tracer.active and (self.forced or frame.f_code.co_filename not in INTERNAL)

    def decided(self):
        """This number, as an op's local derivative reads it for a condition (engine.value): recorded always."""
        return _traced(self, self.expr, self.tracer, Decided)

    __add__, __radd__ = _arith("add"), _arith("add", True)
    __sub__, __rsub__ = _arith("sub"), _arith("sub", True)
    __mul__, __rmul__ = _arith("mul"), _arith("mul", True)
    __truediv__, __rtruediv__ = _arith("truediv"), _arith("truediv", True)
    __floordiv__, __rfloordiv__ = _arith("floordiv"), _arith("floordiv", True)
    __mod__, __rmod__ = _arith("mod"), _arith("mod", True)
    __pow__, __rpow__ = _arith("pow"), _arith("pow", True)
    __lt__, __le__, __gt__, __ge__ = _compare("<"), _compare("<="), _compare(">"), _compare(">=")
    __eq__, __ne__ = _compare("=="), _compare("!=")
    __hash__ = float.__hash__
    __int__, __round__, __floor__, __ceil__, __trunc__ = map(_integer, ("int", "round", "floor", "ceil", "trunc"))

    def __neg__(self):
        r = float.__neg__(self)
        return _traced(r, ("neg", self.expr), self.tracer, type(self)) if self.live(sys._getframe(1)) else r

    def __pos__(self):
        return self

    def __abs__(self):
        r = float.__abs__(self)
        return _traced(r, ("abs", self.expr), self.tracer, type(self)) if self.live(sys._getframe(1)) else r

    def __bool__(self):
        r = float.__ne__(self, 0.0)
        if self.tracer.active and tracing.get() is self.tracer:
            self.tracer.record("bool", self.expr, None, r, self.forced)
        return r

    def __reduce__(self):  # a copy or pickle of a traced number is the number
        return float, (float(self),)


class Decided(Traced):
    """A traced number read by an op's local derivative for its condition: its decisions are recorded."""

    __slots__ = ()
    forced = True


# ----- what the function reads from its scope ------------------------------------------------------------------

def scope_of(fn):
    """(name, value) of fn's closure cells and of the module globals its own code names (comprehensions and
    lambdas inside it included, not the functions it calls)."""
    fn = getattr(fn, "__func__", fn)  # a bound method
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    out = []
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            out.append((name, cell.cell_contents))
        except ValueError:  # a cell not filled yet
            pass
    scope = getattr(fn, "__globals__", {})
    for name in _global_names(code):
        if name in scope:
            out.append((name, scope[name]))
    return out


@functools.lru_cache(maxsize=256)
def _global_names(code):
    """The names a code object (and the code objects inside it) looks up, once each, in order."""
    names, stack = [], [code]
    while stack:
        c = stack.pop()
        names += c.co_names
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return tuple(dict.fromkeys(names))


_NAN = ("nan",)  # nan is not equal to itself: a snapshot holds this marker instead, so that it compares equal


def _frozen(x, depth=0):
    """A number, or a list or tuple of them (nested), as a hashable snapshot; None for anything else."""
    if isinstance(x, numbers.Real) and type(x) is not Traced:
        return _NAN if x != x else (type(x) is bool, x)
    if isinstance(x, (list, tuple)) and depth < 8:
        items = [_frozen(v, depth + 1) for v in x]
        return None if any(i is None for i in items) else (type(x) is tuple, tuple(items))
    return None


def numbers_in_scope(fn):
    """The snapshot of fn's numbers: ((name, frozen value), ...), what a program assumed of them."""
    out = []
    for name, value in scope_of(fn):
        frozen = _frozen(value)
        if frozen is not None:
            out.append((name, frozen))
    return tuple(out)


def values_in_scope(fn):
    """The Values in fn's closure cells and named globals (directly, or in lists, tuples and dicts)."""
    from .engine import Value
    found, stack = {}, [v for _, v in scope_of(fn)]
    while stack:
        v = stack.pop()
        if isinstance(v, Value):
            found[id(v)] = v
        elif isinstance(v, (list, tuple)) and len(v) <= 100_000:
            stack.extend(v)
        elif isinstance(v, dict) and len(v) <= 100_000:
            stack.extend(v.values())
    return list(found.values())
