"""The engine, top-down: the Value, the op table, and the backward pass that applies the chain rule.

A Value records its parents and the Op that made it (`grad_fn`). An Op is a forward on floats and one local
derivative per input, written as formulas of the inputs `x`, `y` and the output `out`: the table below is the one
place that knows them. ops.py is the table written out as plain Python (the function that applies each op, and
its step of backward()), by `python autodiff/generate.py`; pictures, `z.chain_rule()`, explain and
`autodiff.compile` read the formulas themselves. A node holds a shared Op, not a closure of its own, so no node
refers back to itself (a dropped graph is freed at once by reference counting), and the parents of one- and
two-input ops sit in two slots of the Value: one object per node for the garbage collector to track, which is most
of what makes a pure-Python engine fast.

Also here: the leaves (Parameter, Constant), the backward pass. Elsewhere: floats.py (log_, ...), grad_mode.py.
"""
import math
import numbers
import threading

from .errors import (IEEE, DomainError, RangeError, bad_data, check_arity, derivative_number, finite, forward_error,
                     forward_number, grad_float, leaf_float, non_finite_derivative, non_finite_result, not_a_float,
                     primitive_misuse, real, refuse_comparison, refuse_truth, show, undefined_derivative)
from .anomaly import check_unchanged, checking, note
from .floats import power_slope
from .grad_mode import no_grad, recording, tracing
from .guards import Traced

__all__ = ["Value", "Parameter", "Constant", "Op", "primitive", "no_grad", "DomainError", "RangeError", "grad_computed",
           "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos"]


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back through it."""

    __slots__ = ("data", "grad", "label", "grad_fn", "_x", "_y", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: np.float64(2) * Value(3) is a Value

    def __init__(self, data, label=""):
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {show(label)}")
        self.data = real(data, "Value")
        self.label = label  # .grad stays unset until a pass computes it: it reads 0.0 (see __getattr__)
        self.grad_fn = None  # the Op that made this Value; None for a leaf
        self._x = self._y = None  # the parents (see .parents); more than two sit in _x as a tuple

    @property
    def parents(self):
        """The Values this one was computed from, in argument order, with multiplicity (numbers as Constants)."""
        op = self.grad_fn
        return () if op is None else (self._x, self._y) if op.n == 2 else (self._x,) if op.n == 1 else self._x

    def __getattr__(self, name):  # only for a slot never set: an op's result has no label, no grad yet
        if name == "grad":
            return 0.0  # no backward() has reached this Value yet (grad_computed tells)
        if name == "label":
            return ""
        if name == "_y":
            return None
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def op(self):
        """The name of the op that made this Value; '' for a leaf."""
        return "" if self.grad_fn is None else self.grad_fn.name

    def chain_rule(self):
        """This node's local chain rule: a function of grad(self) that gives what to add to each parent's grad.

        >>> x, y = Value(2.0, label="x"), Value(-3.0, label="y")
        >>> z = x * y; z.label = "z"
        >>> z.chain_rule()
        chain rule of z = x * y:
          grad(x) += grad(z) * y   (= -3.0)
          grad(y) += grad(z) * x   (= 2.0)
        >>> z.chain_rule()(1.0)
        [(Value(data=2.0, grad=0.0, label='x'), -3.0), (Value(data=-3.0, grad=0.0, label='y'), 2.0)]
        """
        return ChainRule(self)

    def backward(self, grad=1.0):
        """Fill .grad of every Value this one depends on with d(self)/d(that Value), times `grad`.

        Leaves accumulate across calls, like PyTorch; every other node shows the latest pass.
        """
        backward(self, real(grad, "backward"))

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self):  # and so every math function given a Value: math.sin(v) would silently cut the graph
        raise not_a_float(self.data)

    __int__ = __float__
    __lt__, __le__, __gt__, __ge__ = map(refuse_comparison, ("<", "<=", ">", ">="))  # say: compare .data
    __bool__ = refuse_truth  # `if v:` would be True even for Value(0.0): say to test v.data

    def tree(self, max_nodes=200):
        """The graph as an indented text tree (label, op, data, grad), for terminals: print(v.tree())."""
        from .text import tree
        return tree(self, max_nodes)

    def detach(self):
        """A new leaf with the same data, cut off from this Value's graph."""
        return Value(self.data)

    # The operators (+ - * / ** neg abs) and methods (exp log sqrt tanh sigmoid relu leaky_relu sin cos) are the
    # ops of the table below, applied by the functions of ops.py (bound at the end of this file: Value.__mul__ is
    # ops.mul). Numbers on either side become Constants.
    def __pos__(self): return self


# ---------------------------------------------------------------------------------------------------------------
# The op table. Each row: the op's name, its forward on floats, then d(out)/d(input) for each input, as formulas of
# the inputs x, y and the output out. One formula gives a float in backward() and, evaluated on Values, a
# differentiable Value for higher orders; value(x) is x's number (for a condition). At a kink (relu, abs at 0) the
# derivative is the one-sided value PyTorch uses. The forwards that refuse some inputs follow the table.

TABLE = {
    # Python name: (name,     forward,                 d/dx,                                    d/dy)
    "add":      ("+",          "x + y",                 "1.0",                                   "1.0"),
    "sub":      ("-",          "x - y",                 "1.0",                                   "-1.0"),
    "mul":      ("*",          "x * y",                 "y",                                     "x"),
    "div":      ("/",          "div_(x, y)",            "1 / y",                                 "-out / y"),
    "power":    ("**",         "pow_(x, y)",            "y * x ** (y - 1) if value(y) else 0.0", "out * log(x) if value(x) else 0.0"),
    "vpower":   ("**",         "vpow_(x, y)",           "y * x ** (y - 1) if value(y) else 0.0", "out * log(x) if value(x) else 0.0"),
    "leaky":    ("leaky_relu", "x if x > 0 else y * x", "1.0 if value(x) > 0 else y",            "0.0 if value(x) > 0 else x"),

    "neg":      ("neg",        "-x",                    "-1.0"),
    "absolute": ("abs",        "abs(x)",                "1.0 if value(x) > 0 else -1.0 if value(x) < 0 else 0.0"),
    "exp":      ("exp",        "exp_(x)",               "out"),              # (e^x)' = e^x
    "log":      ("log",        "log_(x)",               "1 / x"),
    "sqrt":     ("sqrt",       "sqrt_(x)",              "0.5 / out"),        # 1 / (2 sqrt(x))
    "tanh":     ("tanh",       "tanh_(x)",              "1 - out ** 2"),
    "sigmoid":  ("sigmoid",    "sigmoid_(x)",           "out * (1 - out)"),
    "relu":     ("relu",       "0.0 if x <= 0 else x",  "0.0 if value(x) <= 0 else 1.0"),
    "sin":      ("sin",        "sin_(x)",               "cos(x)"),
    "cos":      ("cos",        "cos_(x)",               "-sin(x)"),

    # The choices of the rules above, as ops: at higher orders relu's d/dx is the node step(x), not a number.
    "step":     ("step",       "0.0 if x <= 0 else 1.0", "0.0"),                                  # relu's d/dx
    "sign":     ("sign",       "1.0 if x > 0 else -1.0 if x < 0 else 0.0", "0.0"),                # abs's d/dx
    "slope":    ("slope",      "1.0 if x > 0 else y",   "0.0",                     "0.0 if value(x) > 0 else 1.0"),
    "below":    ("below",      "0.0 if x > 0 else y",   "0.0",                     "0.0 if value(x) > 0 else 1.0"),
}
# div: d/dy is -x / y**2, written -out / y so that y**2 cannot overflow or underflow by itself (1 / 2e154).
# power: x ** a number (its d/dy is never needed); vpower: x ** a Value. Both are flat where the base or the
# exponent is 0 (0 ** y for y > 0, x ** 0). The forwards with a trailing _ are in floats.py: they refuse an input
# outside the op's domain with an error that names the op (div_(x, 0.0), log_(-1.0)).
# step, sign, slope, below: a rule that tests value(x) gives a number in backward(); on Values (a derivative taken
# as a Value, as grad and hessian do) it is the op that makes the same test, so that the choice is a node of the
# derivative's graph, made again whenever the graph is run again (a compiled loss that takes a derivative). relu's
# d/dx is step(x); abs's, sign(x); leaky_relu's are slope(x, y) and below(x, x). power's test of a zero exponent or
# base stays a test of a number (in a compiled trace, a guard checked on every call): its other branch, log(0) or
# 0 ** -1, cannot be computed beside it.


def value(x):
    """The number inside a Value, or the number itself: what a rule's condition looks at (in a compile trace, a
    number whose comparisons are guarded: the condition decides the shape of a derivative's graph)."""
    x = x.data if isinstance(x, Value) else x
    return x if type(x) is float or not hasattr(x, "decided") else x.decided()


# ---------------------------------------------------------------------------------------------------------------
# Ops: a row of the table, made executable.

class Op:
    """A differentiable operation: a forward on floats and one local-derivative rule per input.

    Built from a row of the table (`Op("*", "x * y", "y", "x")`: the formulas are kept in .formulas), or by
    `primitive` from functions of the inputs.
    """

    def __init__(self, name, forward, *rules, functions=None, backward=None):
        self.name, self.n = name, len(rules)
        self.formulas = (forward, *rules) if isinstance(forward, str) else None  # None for a primitive
        if self.formulas is None:
            self.forward = forward
            self.rules = tuple(_ignoring_out(d, name, i) for i, d in enumerate(rules))  # (they take the inputs only)
        else:  # the forward and d/d(input i) as functions of the inputs (and of out, for the rules)
            self.forward, *rules = functions or _formula_functions(self.formulas, name)
            self.rules = tuple(rules)
        if backward is not None:
            self.backward = backward  # one node's step of backward() on floats, written out (the table's: ops.py)

    def __repr__(self):
        return f"<autodiff op {self.name}>"

    def __reduce__(self):
        if getattr(self, "__qualname__", None):
            return self.__qualname__  # pickled by name, as functions are: the table's ops, a module's primitives
        if self.formulas:
            return Op, (self.name, *self.formulas)  # an Op made from formulas is made again from them
        raise TypeError(f"cannot pickle the op {self.name}: define its primitive at the top level of a module")

    def __call__(self, *args):
        """Apply the op: numbers in give a float out; any Value in gives a Value that records its parents.

        (The table's ops are applied by the functions of ops.py, written out for speed; this is every other way.)
        """
        if len(args) != self.n:
            given = "" if self.formulas else (", one for each derivative function given to primitive(); give "
                                              "one derivative per input")
            raise TypeError(f"{self.name} takes {self.n} input(s), got {len(args)}{given}")
        xs = [_number(a.data) if isinstance(a, Value) else real(a, self.name) for a in args]
        try:
            out = self.forward(*xs)
        except (ArithmeticError, ValueError, TypeError, AttributeError) as e:
            raise self.forward_error(e, xs) from None
        if type(out) is not float or out - out:
            out = self.result(out, xs)
        if not any(isinstance(a, Value) for a in args):
            return out
        parents = tuple(a if isinstance(a, Value) else constant(x) for a, x in zip(args, xs))
        if self.n > 2:
            return slow_node(out, self, parents)
        return slow_node(out, self, *parents)  # one or two parents sit in the node's two slots, as in ops.py

    def forward_error(self, e, xs):
        error = forward_error(self.name, e, xs)
        if error is not e:
            error.__suppress_context__ = True  # the message says it all: no Python (34, '...') above it
        return error

    def result(self, out, xs):
        """A forward's result that is not a finite float: made a float, and refused if it is not finite although
        every operand is (an inf or nan operand gives what IEEE arithmetic gives)."""
        if type(out) is not float:  # (a numpy float32 or an int as .data: the forward again, on their floats)
            out = forward_number(self.name, out, xs, self.forward)
        if out - out and finite(xs):
            raise non_finite_result(self.name, out, xs)
        return out

    def local_grads(self, node, higher=False, wanted=None):
        """d(node)/d(parent) for each parent, at the node's point; None for a Constant parent (no one needs it), and
        for a parent not in `wanted` when it is given (compile's passes: only the parameters' paths).

        With higher=True the rules run on the parent Values and the node itself, so a derivative can be a Value
        that is differentiable again.
        A derivative that is not finite (or a rule that fails) at finite operands raises an error naming the op;
        at an inf or nan operand it is IEEE arithmetic's answer (nan where the formula fails).
        """
        parents = node.parents
        xs = [p if higher and type(p) is not Constant else p.data for p in parents]
        out = node if higher else node.data
        numbers = [p.data for p in parents] if higher else xs
        grads = []
        for i, (p, rule) in enumerate(zip(parents, self.rules)):
            if type(p) is Constant or wanted is not None and p not in wanted:
                grads.append(None)  # nobody asks for the gradient of a number; skipping it spares x**2 a log(x)
                continue
            try:
                d = rule(*xs, out)
            except (ArithmeticError, ValueError) as e:
                if finite(numbers):
                    d = self._rescued(i, numbers, node.data, higher)
                    if d is None:
                        raise undefined_derivative(self.name, i, numbers, e, self.formula(i)) from e
                else:
                    d = _ieee(rule, xs, out)
            if type(d) is not float:
                d = derivative_number(self.name, i, numbers, d, higher)
            v = d.data if type(d) is not float else d
            if v - v and finite(numbers):
                d = self._rescued(i, numbers, node.data, higher)
                if d is None:
                    raise non_finite_derivative(self.name, i, numbers, v, self.formula(i))
            grads.append(d)
        return grads

    def formula(self, i):
        """The formula of the derivative with respect to input i (None for a primitive), for messages."""
        return self.formulas and self.formulas[1 + i]

    def _rescued(self, i, numbers, out, higher):
        """power's d/dx where x ** (y - 1) overflows but y * x ** (y - 1) does not (floats.power_slope)."""
        return power_slope(*numbers, out) if self.name == "**" and i == 0 and not higher else None

    def non_finite(self, node, i):
        """backward()'s slow path for a derivative that is not finite (or failed: nan): local_grads raises the
        error if every operand is finite; otherwise it is IEEE arithmetic's answer."""
        return self.local_grads(node)[i]

    def backward(self, node, g):
        """One node's step of backward() on floats: each parent's .grad += g * d(node)/d(parent)."""
        for p, d in zip(node.parents, self.local_grads(node)):
            if d is not None:
                p.grad += g * d


def _ieee(rule, xs, out):
    """A rule that failed at an inf or nan operand, evaluated as IEEE arithmetic would (nan if it still fails)."""
    try:
        return rule(*[IEEE(x) if type(x) is float else x for x in xs], IEEE(out) if type(out) is float else out)
    except (ArithmeticError, ValueError):
        return math.nan


def _ignoring_out(rule, name, i):
    def derivative(*args):  # a primitive's derivative takes the inputs only; given floats, x.cos() fails: say why
        try:
            return rule(*args[:-1])
        except AttributeError as e:
            raise primitive_misuse(name, i, args[:-1], e) from e
    return derivative


def _formula_functions(formulas, name):
    """An Op of one's own made from formula strings (`Op("sq", "x * x", "2 * x")`): its forward and its rules as
    functions, compiled from the formulas when it is made. (The table's ops have theirs written out in ops.py.)"""
    forward, *rules = formulas
    args = ", ".join("xy"[:len(rules)] if len(rules) <= 2 else [f"x{i}" for i in range(len(rules))])
    scope = vars(ops)  # the names the table's formulas use: value, the ops (log, cos, ...), the forwards of floats.py
    return [eval(compile(f"lambda {head}: {f}", f"<autodiff op {name}>", "eval"), scope)
            for head, f in [(args, forward)] + [(f"{args}, out", r) for r in rules]]


_new = object.__new__
_traced = float.__new__


def slow_node(out, op, px, py=None):
    """An op's result when a no_grad block or a compile trace is open somewhere (the ops check one number for
    both, grad_mode.paused): a plain leaf under no_grad; in a trace, a node whose number records the decisions
    made from it (guards.py); else an ordinary node."""
    if not recording.get():
        return Value(out)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, op, px, py
    trace = tracing.get()
    if trace is not None:  # (trace.number(out, node), written in: a trace makes one per op)
        t = node.data = _traced(Traced, out)
        t.expr, t.tracer = node, trace
        trace.made.append(t)
    elif checking.get():  # inside detect_anomaly(): the numbers it is made with, to check in backward()
        note(node)
    return node


def _number(x):
    """A Value's number as a primitive's forward gets it: a float (in a trace, not a traced one: the op's program
    calls the forward again on every call, so its branches are not decisions of the function)."""
    return x if type(x) is float else float(x) if isinstance(x, float) else x


def primitive(*derivs, name=None):
    """Define a new op by its forward (on floats) and one derivative function per input.

    >>> @primitive(lambda x: 3 * x ** 2)
    ... def cube(x):
    ...     return x ** 3
    >>> cube(2.0)
    8.0
    >>> y = cube(Value(2.0)); y.backward(); y.parents[0].grad
    12.0
    """
    for i, d in enumerate(derivs):
        if not callable(d):
            raise TypeError(f"primitive: derivative {i} must be a function of the inputs, "
                            f"got {type(d).__name__} {show(d)}")

    def make(forward):
        import functools
        check_arity(forward, derivs, name or getattr(forward, "__name__", "primitive"))
        op = Op(name or forward.__name__, forward, *derivs)
        functools.update_wrapper(op, forward)
        return op

    return make


# ---------------------------------------------------------------------------------------------------------------
# Leaves: parameters, numbers, and the grad of a Value no pass has reached.

class Parameter(Value):
    """A leaf Value that a model learns (nn's weights and biases are Parameters); drawings style them as such.

    `modules`, when set (nn sets it), names the modules that hold it, innermost first: a drawing of a big graph
    folds each module into one box.
    """

    __slots__ = ("modules",)


class Constant(Value):
    """A plain number inside an expression (the 2 in `x * 2`): a leaf that no gradient is computed for.

    Constants are shared: every expression that uses the same number uses one Constant (fewer objects make graphs
    faster to build and to free), so a Constant is read-only. Constant(2.0) is that shared Constant.
    """

    __slots__ = ()

    def __new__(cls, data, *label):
        if label:
            raise TypeError(f"Constant({data!r}, ...): a Constant is shared by every use of its number, so it has "
                            f"no label of its own; use Value({data!r}, label=...) for a labelled leaf")
        return constant(real(data, "Constant"))

    def __init__(self, data, *label):
        pass  # made by constant()

    def __setattr__(self, name, value):
        raise AttributeError(f"a Constant ({self.data!r}) is shared by every expression that uses that number, "
                             f"so it cannot change; use a Value for a number you want to change")

    def __reduce__(self):
        return Constant, (self.data,)


def grad_computed(node):
    """Whether a pass (or the user) has set node.grad; until then it reads 0.0, and a drawing says "not computed".

    The grad slot of such a Value holds nothing, so copies and pickles keep the state.
    """
    return _is_set(_GRAD, node)


_GRAD = Value.__dict__["grad"]  # the slot itself, which reads without __getattr__'s 0.0


def _is_set(slot, node):
    try:
        slot.__get__(node)
        return True
    except AttributeError:
        return False


constants = {}  # number -> its shared Constant (ops.py looks a number up here first)


def constant(data):
    """The shared Constant of a number (a float)."""
    key = (data, math.copysign(1.0, data)) if data == 0 else data  # 0.0 and -0.0 are equal, but not the same
    c = constants.get(key)
    if c is None:
        c = _new(Constant)
        for name, v in (("data", data), ("label", ""), ("grad_fn", None), ("_x", None), ("_y", None)):
            object.__setattr__(c, name, v)
        if data == data:  # nan != nan: a nan is never shared
            if len(constants) >= 4096:  # numbers that never recur (data written into expressions) do not pile up
                constants.clear()
            constants[key] = c
    return c


class ChainRule:
    """A node's local chain rule, built on demand from its op and parents (and never stored): called with
    grad(node), it returns [(parent, grad(node) * d(node)/d(parent))] for every parent but the Constants."""

    def __init__(self, node, higher=False):
        self.node, self.higher = node, higher
        self.parents = node.parents
        self._local = None

    @property
    def local_grads(self):
        """d(node)/d(parent) for each parent (None for a Constant), computed on first use."""
        if self._local is None:
            op = self.node.grad_fn
            self._local = () if op is None else op.local_grads(self.node, self.higher)
        return self._local

    def __call__(self, g):
        return [(p, g * d) for p, d in zip(self.parents, self.local_grads) if d is not None]

    def __repr__(self):
        from .explain import chain_rule_text
        return chain_rule_text(self)


# ---------------------------------------------------------------------------------------------------------------
# The backward pass.

def topological_order(*roots):
    """Every node the roots depend on, each after its parents, each once: an iterative depth-first walk, parents
    in order (the first root's nodes first, in its own order)."""
    order, seen, stack = [], set(), list(reversed(roots))
    pop, visit, finish = stack.pop, seen.add, order.append
    while stack:
        node = pop()
        if node is _DONE:  # back from the parents of the node beneath: its place in the order is here
            finish(pop())
        elif node not in seen:
            visit(node)
            op = node.grad_fn  # come back to it after its parents (pushed last first, so that they pop in order)
            if op is None:
                finish(node)
            elif op.n == 2:
                stack += (node, _DONE, node._y, node._x)
            elif op.n == 1:
                stack += (node, _DONE, node._x)
            else:
                stack += (node, _DONE, *reversed(node._x))
    return order


_DONE = object()
passes = threading.RLock()  # one backward pass at a time, and nn's zero_grad() and optimizer steps wait for it


def backward(root, seed):
    """root.backward(seed): the chain rule on floats, last node first, straight into every node's .grad.

    The walk is topological_order's, with every node's grad set to -0.0 as it is reached (x + -0.0 is x, bit for
    bit): the ops (in order) and the leaves (with their old grads, which are added back at the end) apart.
    If a rule fails, every leaf keeps the grad it had, and the ops' grads read "not computed".
    """
    if type(root) is Constant:
        return
    with passes:  # one pass at a time: passes in threads that share leaves would mix their accumulators
        if checking.get():  # autodiff.detect_anomaly(): is every number still the one the graph was built with?
            check_unchanged(topological_order(root))
        _backward(root, seed)


def _backward(root, seed):
    order, leaves, seen, stack = [], [], set(), [root]
    pop, visit, finish = stack.pop, seen.add, order.append
    try:
        while stack:
            node = pop()
            if node is _DONE:
                node = pop()
                node.grad = -0.0
                finish(node)
            elif node not in seen:
                visit(node)
                op = node.grad_fn
                if op is None:
                    if type(node) is not Constant:
                        if type(node.data) is not float:
                            leaf_float(node)
                        leaves.append((node, _old_grad(node)))
                        node.grad = -0.0
                elif op.n == 2:
                    stack += (node, _DONE, node._y, node._x)
                elif op.n == 1:
                    stack += (node, _DONE, node._x)
                else:
                    stack += (node, _DONE, *reversed(node.parents))
        root.grad = seed
        for node in reversed(order):
            op = node.grad_fn
            if op is mul_op:  # the two commonest steps, written in (as ops.mul_backward and ops.add_backward)
                g, px, py = node.grad, node._x, node._y
                if type(px) is not Constant:
                    px.grad += g * py.data
                if type(py) is not Constant:
                    py.grad += g * px.data
            elif op is add_op:
                g, px, py = node.grad, node._x, node._y
                if type(px) is not Constant:
                    px.grad += g
                if type(py) is not Constant:
                    py.grad += g
            else:
                op.backward(node, node.grad)  # the op's chain rule on floats (for the table's ops: ops.py)
        for leaf, old in leaves:
            g = (0.0 if old is None else old) + leaf.grad  # reset with zero_grad() or .grad = 0.0
            leaf.grad = g if type(g) is float else grad_float(g, order)  # (a numpy number set as an op's .data)
    except BaseException as e:  # even Ctrl-C: every leaf as it was, and no half-computed grad
        for leaf, old in leaves:
            if old is None:
                del leaf.grad
            else:
                leaf.grad = old
        for done in order:
            if grad_computed(done):
                del done.grad
        if isinstance(e, TypeError):
            for done in order + [leaf for leaf, _ in leaves]:  # a .data set by hand to something not a number?
                if not isinstance(done.data, float):
                    raise bad_data("backward", done) from e
        raise


def add_grad(leaf, g):
    """leaf.grad += g, as backward() adds a pass's gradient into a leaf it reaches (a grad not computed is 0.0)."""
    old = _old_grad(leaf)
    leaf.grad = (0.0 if old is None else old) + g


def add_grads(leaves, grads):
    """add_grad for each leaf, one pass at a time (as backward(): threads that share leaves add every share); a leaf
    whose .grad is not a number is refused before any leaf changes."""
    with passes:
        olds = [_old_grad(leaf) for leaf in leaves]
        for leaf, old, g in zip(leaves, olds, grads):
            leaf.grad = (0.0 if old is None else old) + g


def _old_grad(leaf):
    """What a leaf's grad was before the pass: a float, or None if not computed (or set to None, as in PyTorch)."""
    old = _GRAD.__get__(leaf) if grad_computed(leaf) else None
    if old is None or type(old) is float:
        return old
    if isinstance(old, numbers.Real) and not isinstance(old, bool):
        try:
            return float(old)  # an int or a numpy number: its float (the grad the pass writes is a float)
        except OverflowError:
            pass
    raise TypeError(f"backward: the leaf {leaf!r} has .grad = {show(old)} ({type(old).__name__}); a grad must be "
                    f"a number: set it to 0.0 (or None) before backward()")


def backprop(order, grads, higher=False, trace=None):
    """The chain rule as a pass that leaves every .grad alone: last node first, each node's chain_rule() gives
    what to add to its parents' grads. `grads` maps nodes to d(root)/d(node) and starts with the seed.

    With higher=True the local derivatives are computed from the parent Values themselves, so every grad is a
    Value that can be differentiated again (grad, hessian). `trace`, a list, receives (node, chain rule, parents'
    grads after it) for every node whose rule runs, in order (animate).
    """
    for node in reversed(order):
        g = grads.get(node)
        if g is None or node.grad_fn is None:
            continue
        rule = ChainRule(node, higher)
        for p, contribution in rule(g):
            grads[p] = grads[p] + contribution if p in grads else contribution  # fan-out: contributions add up
        if trace is not None:
            trace.append((node, rule, [(p, grads[p]) for p in rule.parents if type(p) is not Constant]))
    return grads


# ---------------------------------------------------------------------------------------------------------------
# The ops, applied: ops.py is the table above written out as Python, one function per op (and per reflected
# operator) and one step of backward() per op. It imports this module, so it comes last.

from . import copies, ops  # noqa: E402
from .compat import apply_chain_rule, format_value, op_symbol, prev, refuse_round  # noqa: E402  (micrograd's names)
from .ops import OPS, add_op, mul_op  # noqa: E402,F401  (backward() writes these two steps in)
from .ops import exp, log, sqrt, tanh, sigmoid, relu, leaky_relu, sin, cos  # noqa: E402  (autodiff.exp, ...)

Value.__add__, Value.__radd__ = ops.add, ops.radd
Value.__sub__, Value.__rsub__ = ops.sub, ops.rsub
Value.__mul__, Value.__rmul__ = ops.mul, ops.rmul
Value.__truediv__, Value.__rtruediv__ = ops.div, ops.rdiv
Value.__pow__, Value.__rpow__ = ops.power, ops.rvpower  # power: a number exponent (a Value one: vpower)
Value.__neg__, Value.__abs__ = ops.neg, ops.absolute
Value.exp, Value.log, Value.sqrt, Value.tanh, Value.sigmoid = exp, log, sqrt, tanh, sigmoid
Value.relu, Value.leaky_relu, Value.sin, Value.cos = relu, leaky_relu, sin, cos
Value.__reduce__, Value.__setstate__ = copies.reduce_value, copies.set_state  # graphs of any depth: copies.py
Value.__copy__, Value.__deepcopy__ = copies.copy_value, copies.deepcopy_value
Value._prev, Value._op, Value._backward = property(prev), property(op_symbol), apply_chain_rule  # micrograd's names
Value.__format__, Value.__round__ = format_value, refuse_round  # f"{v:.4f}" formats v.data; round(v) is refused
