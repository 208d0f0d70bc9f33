"""What a compiled trace assumed, checked on every call (guards, torch.compile's word for it).

`autodiff.compile` runs a function once on Values and replays the graph it built. Python may have decided
something from the numbers of that run: an `if p.data > 0`, a `max` of two `.data`, a test of a zero exponent in
power's rule inside a derivative taken within the loss. While a trace runs, every Value's `.data` is a `Traced` number: a float that
remembers where it came from (a node of the graph, or arithmetic, abs, min or max of such numbers) and records each
decision made from it as a `Guard`: the comparison, as an expression of the graph's nodes, and how it came out.
The replay evaluates each guard again from its own numbers (one comparison each) and, if one comes out differently,
the call is traced again for that path (compile.py and batch.py keep the programs).

A number leaves that reach through a `math` function (`math.exp(p.data)`) or `float()`; `int()`, `round()`,
`math.floor` and `math.ceil` of a traced number are guarded as equalities (their result must stay the same). The
numbers the engine itself computes with (ops.py, engine.py, floats.py, ...) are not decisions of the function: the
op's program replays them. A number read by an op's local derivative on Values (`value(y)` in power's rule,
inside autodiff.grad within the loss) is a decision of the graph's shape, and is guarded; relu's, abs's and
leaky_relu's rules make their choice as an op there (step, sign, slope, below: engine.TABLE), which needs no guard.

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

__all__ = ["Traced", "Guard", "Trace", "tracing", "scope_of", "numbers_in_scope", "values_in_scope", "what_changes",
           "traced_call"]

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
        return [e for e in _walk(self.left) + _walk(self.right) if type(e) not in (float, int)]

    def computed(self, name):
        """The sources of the guard's sides that are arithmetic of the graph's numbers (to check them finite: a
        division by zero there is an error of the function's own, eagerly)."""
        return [_source(e, name) for e in (self.left, self.right) if type(e) is tuple]

    def source(self, name, array=False):
        """The guard's test as Python, true when the decision comes out as in the trace: `name(node)` names a
        Value's number in the program; with array=True the test is elementwise (arrays of samples)."""
        left = _source(self.left, name)
        if self.kind == "same":  # a pinned number: equal, and the same zero (0.0 or -0.0)
            v = self.right
            if v != 0 or type(v) is not float:
                return f"({left} == {_source(v, name)})"
            sign = math.copysign(1.0, v) < 0
            if array:
                return f"(({left} == 0.0) & (xp.signbit(_a({left})) == {sign}))"
            return f"({left} == 0.0 and (math.copysign(1.0, {left}) < 0) == {sign})"
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


def what_changes(guard, key, programs):
    """Why calls keep needing new programs, for the warning past max_programs: the decision that failed (its line
    in the function), the numbers fn reads from its scope, or the data shapes (key: (shapes, scope snapshot))."""
    if guard is not None:
        return f"the decision at {guard.where} (a comparison of a traced number) keeps changing"
    if any(k[0] == key[0] for k in programs if k != key):
        return "the numbers it reads from its scope (" + ", ".join(name for name, _ in key[1]) + ") keep changing"
    return "the data shapes keep changing"


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
    if type(expr) is int:
        return repr(expr)  # exact, however large (a float would round 2**53 + 3)
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
        self.made = []  # the Traced numbers of the graph's Values: their link to the graph is cut when the trace ends

    def number(self, x, node):
        """The number of a Value of the trace, as a Traced that knows its node."""
        t = _float(Traced, x)
        t.expr, t.tracer = node, self
        self.made.append(t)
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
        """A traced number made into a constant (Value(p.data), p * q.data), or used where only its exact value
        can be followed (a dict key, a set member, round(x, 2)): it must stay the same number."""
        if self.active and tracing.get() is self:
            self.guards.append(Guard("same", t.expr, float(t), True, _where()))

    def swap_in(self, values, swapped):
        """Give these Values (parameters, captured Values, data) traced numbers, noting in `swapped` what to swap
        back (swap_out)."""
        for v in values:
            old = v.data
            t = self.number(float(old), v)
            swapped.append((v, old, t))
            v.data = t


def traced_call(fn, params, data, call):
    """call(the data as Values) in a new trace, with the parameters' numbers and those of the Values fn reads from
    its scope traced too (and given back after): (the trace, what call returned, the data's Values in order)."""
    from .engine import Constant
    from .grad_mode import recording_on
    from .trees import as_values
    trace, swapped, inputs = Trace(), [], []
    mine = set(params)
    try:
        with recording_on(), tracing_on(trace):
            captured = [v for v in values_in_scope(fn) if v not in mine and type(v) is not Constant]
            trace.swap_in([*params, *captured], swapped)  # their numbers decide too
            values = [as_values(d, inputs) for d in data]
            trace.swap_in(inputs, [])
            out = call(values)
    finally:
        swap_out(swapped)
    return trace, out, inputs


def swap_out(swapped):
    """The numbers swap_in replaced, back (unless something else wrote .data meanwhile); never a Traced."""
    for v, old, t in reversed(swapped):
        if v.data is t:
            v.data = float(old) if isinstance(old, Traced) else old


def _where():
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in INTERNAL:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


tracing = grad_mode.tracing


_one_trace = threading.RLock()  # one trace at a time: two threads tracing the same parameters would swap each
                               # other's numbers (a trace inside a trace, in the same thread, is fine)


@contextlib.contextmanager
def tracing_on(trace):
    """Trace in this context (thread, task): every op's result gets a Traced number."""
    with _one_trace:
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
            for t in trace.made:  # a number kept beyond the trace is a plain number: it holds no graph
                t.expr = None
            trace.made = []


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
    """The expression of an operand: a Traced's own, or a plain number's (an int exactly, however large)."""
    if isinstance(x, Traced):
        return x.expr if x.expr is not None else float(x)
    return x if type(x) is int else float(x)


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
        if self.tracer.active and tracing.get() is self.tracer:
            if args:  # round(x, 2): a float whose rounding is followed as an equality of x itself
                self.tracer.pin(self)
            else:
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
    __array_ufunc__ = None  # numpy defers to these operators: np.float64(1.0) < p.data is recorded too

    def __hash__(self):  # a dict key or set member (p.data in {1.0, 2.0}): only its exact value can be followed
        if self.tracer.active and sys._getframe(1).f_code.co_filename not in INTERNAL:
            self.tracer.pin(self)
        return float.__hash__(self)

    def __divmod__(self, other):
        return _divmod(self, other, False)

    def __rdivmod__(self, other):
        return _divmod(self, other, True)

    def is_integer(self):
        if self.tracer.active:
            self.tracer.pin(self)
        return float.is_integer(self)
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


def _divmod(t, other, reflected):
    a, b = (other, t) if reflected else (t, other)
    q, r = float(a) // float(b), float(a) % float(b)
    if not t.live(sys._getframe(2)):
        return q, r
    x, y = (_expr(other), t.expr) if reflected else (t.expr, _expr(other))
    return _traced(q, ("//", x, y), t.tracer, type(t)), _traced(r, ("%", x, y), t.tracer, type(t))


class Decided(Traced):
    """A traced number read by an op's local derivative for its condition: its decisions are recorded."""

    __slots__ = ()
    forced = True


# ----- what the function reads from its scope ------------------------------------------------------------------

def scope_of(fn):
    """(name, value) of what fn's own code reads besides its arguments: its closure cells, the module globals its
    code names (comprehensions and lambdas inside it included), its defaults, a partial's arguments, a bound
    method's object; not what the functions it calls read."""
    out = []
    while isinstance(fn, functools.partial):
        out += [(f"partial argument {i}", a) for i, a in enumerate(fn.args)]
        out += [(f"partial argument {k}", v) for k, v in (fn.keywords or {}).items()]
        fn = fn.func
    call = next((vars(c)["__call__"] for c in type(fn).__mro__ if "__call__" in vars(c)), None)
    if not hasattr(fn, "__code__") and not hasattr(fn, "__func__") and isinstance(call, types.FunctionType):
        out.append(("the callable object", fn))  # an object with a __call__ of its own: its attributes
        fn = call
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        out.append(("self", owner))
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return out
    out += [(f"default {i}", d) for i, d in enumerate(getattr(fn, "__defaults__", None) or ())]
    out += [(f"default {k}", d) for k, d in (getattr(fn, "__kwdefaults__", None) or {}).items()]
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
    """The names a code object (and the code objects inside it) looks up, once each, in order: globals, and the
    attributes it reads."""
    names, stack = [], [code]
    while stack:
        c = stack.pop()
        names += c.co_names
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return tuple(dict.fromkeys(names))


class _Same:
    """An object in a snapshot, compared by identity (a Value, a function, a model): rebinding a name to another
    object is a change; the snapshot keeps it alive, so its id is never reused."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is _Same and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def _frozen(x, attributes, depth=0):
    """A hashable snapshot of what fn may read of x: numbers by value (0.0 and -0.0, nan as a marker), lists,
    tuples and dicts item by item, an array by its bytes, an object's attributes that fn's code names (at the top
    level), anything else by identity."""
    if isinstance(x, numbers.Real) and not isinstance(x, Traced) and type(x).__module__ in ("builtins", "numpy"):
        if x != x:
            return ("nan",)
        return (type(x).__name__, x, math.copysign(1.0, x) if x == 0 and not isinstance(x, int) else 1.0)
    if isinstance(x, (str, bytes, type(None))):
        return x
    if depth < 6:
        if isinstance(x, (list, tuple)) and len(x) <= 1_000_000:
            return (type(x).__name__, tuple(_frozen(v, attributes, depth + 1) for v in x))
        if type(x) is dict and len(x) <= 100_000:
            return ("dict", tuple((_frozen(k, attributes, depth + 1), _frozen(v, attributes, depth + 1))
                                  for k, v in x.items()))
    if hasattr(x, "tobytes") and hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, Traced):
        try:  # a numpy array (or anything that reads out its bytes the same way)
            return ("array", str(x.dtype), tuple(x.shape), x.tobytes())
        except (TypeError, ValueError, AttributeError, RuntimeError):
            pass
    from .engine import Value
    if depth == 0 and not isinstance(x, (Value, type, types.FunctionType, types.BuiltinFunctionType)):
        fields = getattr(x, "__dict__", None)
        if isinstance(fields, dict) or isinstance(x, types.ModuleType):
            read = [(a, _frozen(getattr(x, a), attributes, 1)) for a in attributes
                    if isinstance(fields, dict) and a in fields]
            return (_Same(x), tuple(read))
    return _Same(x)


def numbers_in_scope(fn):
    """The snapshot of what fn reads from its scope (scope_of): a program traced with one snapshot serves only
    calls with an equal one."""
    names = _global_names(_code(fn)) if _code(fn) is not None else ()
    return tuple((name, _frozen(value, names)) for name, value in scope_of(fn))


def _code(fn):
    while isinstance(fn, functools.partial):
        fn = fn.func
    call = next((vars(c)["__call__"] for c in type(fn).__mro__ if "__call__" in vars(c)), None)
    if not hasattr(fn, "__code__") and not hasattr(fn, "__func__") and isinstance(call, types.FunctionType):
        fn = call
    return getattr(getattr(fn, "__func__", fn), "__code__", None)


def values_in_scope(fn):
    """The Values fn may read from its scope: in its closure cells, named globals, defaults, a partial's
    arguments, the attributes its code names of the objects there (directly, or in lists, tuples and dicts)."""
    from .engine import Value
    names = set(_global_names(_code(fn))) if _code(fn) is not None else set()
    found, stack = {}, [(v, 0) for _, v in scope_of(fn)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, Value):
            found[id(v)] = v
        elif depth > 6:
            continue
        elif isinstance(v, (list, tuple)) and len(v) <= 100_000:
            stack.extend((item, depth + 1) for item in v)
        elif type(v) is dict and len(v) <= 100_000:
            stack.extend((item, depth + 1) for item in v.values())
        elif depth == 0 and isinstance(getattr(v, "__dict__", None), dict) and not isinstance(v, (type, types.FunctionType)):
            stack.extend((item, depth + 1) for a, item in vars(v).items() if a in names)
    return list(found.values())
