"""The engine: Values, the op table, and the one backward pass that applies the chain rule.

A Value records its parents and the op that made it. An op is a forward on plain floats plus one local-derivative
rule per input; a node's local chain rule is its op's rules applied to its parents. Keeping the op (one shared
object) rather than a fresh closure per node means that no node refers back to itself, so a graph is freed by
reference counting the moment it is dropped, and the cyclic garbage collector has nothing to do.

The rules are written with operators and the functions of this module, which accept floats *and* Values: the same
rule gives a float in an ordinary backward pass and a differentiable Value for higher-order derivatives.
"""
import contextlib
import contextvars
import math
import numbers
import reprlib

__all__ = ["Value", "Parameter", "Constant", "Op", "primitive", "no_grad",
           "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos"]

# The .grad of a Value that no backward() has reached: equal to 0.0 in every way, but a distinct object, so that a
# drawing can show "not computed yet" instead of a zero that was never computed. (Arithmetic on it, or assigning any
# other 0.0, gives a different float object.)
_NOT_COMPUTED = float("0")

# Per thread and per async task: no_grad() in one thread never switches off recording in another.
_grad_enabled = contextvars.ContextVar("autodiff_grad_enabled", default=True)


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back through it."""

    __slots__ = ("data", "grad", "label", "parents", "_op", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: np.float64(2) * Value(3) is a Value

    def __init__(self, data, label=""):
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {_show(label)}")
        self.data = _real(data, "Value")
        self.grad = _NOT_COMPUTED
        self.label = label
        self.parents = ()  # the Values this one was computed from, in argument order, with multiplicity
        self._op = None  # the Op that made this Value; None for a leaf

    @property
    def op(self):
        """The name of the op that made this Value; '' for a leaf."""
        return "" if self._op is None else self._op.name

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self):
        return self.data

    def tree(self, max_nodes=200):
        """The graph as an indented text tree (label, op, data, grad), for terminals: print(v.tree())."""
        from .draw import tree
        return tree(self, max_nodes)

    def detach(self):
        """A new leaf with the same data, cut off from this Value's graph."""
        return Value(self.data)

    def backward(self, grad=1.0):
        """Fill .grad of every Value this one depends on with d(self)/d(that Value), times `grad`.

        Leaves accumulate across calls, like PyTorch; every other node shows the latest pass.
        """
        order = _topo(self)
        grads = _backprop(order, {self: _real(grad, "backward")}, higher=False)
        for node, g in grads.items():  # every node reached, but the Constants
            if node._op is None:
                node.grad += g  # leaves accumulate: reset with zero_grad() or .grad = 0.0
            else:
                node.grad = g  # intermediates show the latest pass

    # Operators: numbers on either side become Constants; each line is one op from the table below.
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other): return div(other, self)
    def __pow__(self, other): return _pow(self, other) if isinstance(other, Value) else _pow_const(self, other)
    def __rpow__(self, other): return _pow(other, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __abs__(self): return _abs(self)

    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def tanh(self): return tanh(self)
    def sigmoid(self): return sigmoid(self)
    def relu(self): return relu(self)
    def leaky_relu(self, slope=0.01): return leaky_relu(self, slope)
    def sin(self): return sin(self)
    def cos(self): return cos(self)


class Parameter(Value):
    """A leaf Value that a model learns (nn's weights and biases are Parameters); drawings style them as such."""

    __slots__ = ()


class Constant(Value):
    """A plain number inside an expression (the 2 in `x * 2`): a leaf that no gradient is computed for.

    Constants are shared: every expression that uses the same number uses one Constant (fewer objects make graphs
    faster to build and to free), so a Constant is read-only.
    """

    __slots__ = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"a Constant ({self.data!r}) is shared by every expression that uses that number, "
                             f"so it cannot change; use a Value for a number you want to change")


_constants = {}  # number -> its shared Constant


def _constant(data):
    c = _constants.get(data)
    if c is None:
        c = _new(Constant)
        for name, value in (("data", data), ("grad", _NOT_COMPUTED), ("label", ""), ("parents", ()), ("_op", None)):
            object.__setattr__(c, name, value)
        if data and data == data:  # 0.0 == -0.0 and nan != nan: those are not shared
            if len(_constants) >= 4096:  # numbers that never recur (data written into expressions) do not pile up
                _constants.clear()
            _constants[data] = c
    return c


_new = object.__new__


def _show(x):
    return reprlib.repr(x)


def _real(x, op):
    """`x` as a float, or a TypeError that names the op and what was given instead."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{op}: {_show(x)} is too large for a float") from None
    if isinstance(x, Value):
        raise TypeError(f"{op}: got a Value where a plain number is needed; use .data for its number, "
                        f"or .detach() for a new leaf")
    raise TypeError(f"{op}: expected a real number (int or float) or a Value, got {type(x).__name__} {_show(x)}")


def _val(x):
    """The number inside a Value, or the number itself (rules use it for conditions such as x > 0)."""
    return x.data if isinstance(x, Value) else x


class DomainError(ValueError):
    """An input outside an op's domain (log of 0, division by zero, ...)."""


class RangeError(OverflowError):
    """A result too large for a float (exp of 1000, ...)."""


class Op:
    """A differentiable operation: a forward on floats and one local-derivative rule per input."""

    def __init__(self, name, forward, *derivs):
        self.name, self.forward, self.derivs = name, forward, derivs

    def __repr__(self):
        return f"<autodiff op {self.name}>"

    def __call__(self, *args):
        """Apply the op: numbers in give a float out; any Value in gives a Value that records its parents."""
        xs, values, numbers_ = [], 0, 0
        for a in args:
            if isinstance(a, Value):
                xs.append(a.data)
                values += 1
            else:
                xs.append(a if type(a) is float else _real(a, self.name))
                numbers_ += 1
        try:
            out = self.forward(*xs)
        except (ArithmeticError, ValueError) as e:
            error = self._error(e, xs)
            if error is e:
                raise
            raise error from e
        if type(out) is not float:
            out = self._number(out, xs)
        if not values:
            return out  # plain numbers in, a plain number out
        if not _grad_enabled.get():
            return Value(out)  # a plain leaf: no parents, no op
        if numbers_:  # a number inside an expression becomes a Constant parent
            args = tuple([a if isinstance(a, Value) else _constant(x) for a, x in zip(args, xs)])
        v = _new(Value)  # Value(out) without __init__'s checks (out is a float): this runs once per op of every graph
        v.data = out
        v.grad = _NOT_COMPUTED
        v.label = ""
        v.parents = args
        v._op = self
        return v

    def _error(self, e, xs):
        """Python's bare arithmetic errors from a forward, as errors that name the op and its inputs."""
        if isinstance(e, (DomainError, RangeError)):
            return e  # already names the op and the operand
        if isinstance(e, OverflowError):
            return RangeError(f"{self.name}{_args(xs)}: the result is too large for a float ({e})")
        return DomainError(f"{self.name}{_args(xs)}: {e}")

    def _number(self, out, xs):
        if isinstance(out, numbers.Real) and not isinstance(out, bool):
            return float(out)
        raise TypeError(f"{self.name}{_args(xs)}: the forward returned {type(out).__name__} {_show(out)}, "
                        f"expected a real number")

    def _local(self, i, xs, higher=False):
        """The local derivative d(out)/d(input i) at xs: a float, or with higher=True maybe a Value."""
        try:
            d = self.derivs[i](*xs)
        except (ArithmeticError, ValueError) as e:
            raise self._undefined(i, xs, e) from e
        return d if type(d) is float else self._derivative(i, xs, d, higher)

    def _undefined(self, i, xs, e):
        return DomainError(f"{self.name}{_args(xs)}: the derivative with respect to input {i} is undefined here ({e})")

    def _derivative(self, i, xs, d, higher):
        """A rule's result as the pass needs it: a float, or in a higher-order pass also a Value."""
        if higher and isinstance(d, Value):
            return d
        if isinstance(d, numbers.Real) and not isinstance(d, bool):
            return float(d)
        if isinstance(d, Value):  # a rule that made a Value from plain numbers: keep the number
            return d.data
        raise TypeError(f"{self.name}{_args(xs)}: the derivative with respect to input {i} returned "
                        f"{type(d).__name__} {_show(d)}; a derivative rule must return a number or a Value")


def _args(xs):
    return "(" + ", ".join(repr(_val(x)) for x in xs) + ")"


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
                            f"got {type(d).__name__} {_show(d)}")

    def make(forward):
        import functools
        import inspect
        try:
            params = inspect.signature(forward).parameters.values()
        except (TypeError, ValueError):  # some builtins have no signature: trust the caller
            params = None
        if params is not None and not any(p.kind == p.VAR_POSITIONAL for p in params):
            n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            if n != len(derivs):
                raise TypeError(f"primitive: {forward.__name__} takes {n} input(s) but {len(derivs)} derivative "
                                f"function(s) were given; give one per input, in order")
        op = Op(name or forward.__name__, forward, *derivs)
        functools.update_wrapper(op, forward)
        return op

    return make


# ---------------------------------------------------------------------------------------------------------------
# Forwards that need a check or a stable formula. Every one names the op and the operand when it refuses.

def _div(x, y):
    if y == 0:
        raise DomainError(f"/: cannot divide {x!r} by zero; keep the denominator away from 0 (e.g. add a small eps)")
    return x / y


def _power(x, y):
    if x == 0 and y < 0:
        raise DomainError(f"**: 0.0 to the negative power {y!r} is undefined (division by zero)")
    if x < 0 and y != int(y):
        raise DomainError(f"**: a negative base {x!r} to the non-integer power {y!r} has no real value")
    return x ** y


def _power_of_value(x, y):
    if x < 0:
        raise DomainError(f"**: a negative base {x!r} to a Value power is not differentiable (d/dy x**y = x**y * "
                          f"log(x)); use a positive base, or a plain number as the exponent")
    return _power(x, y)


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        raise RangeError(f"exp: exp({x!r}) overflows a float (inputs above about 709.78 do)") from None


def _log(x):
    if x <= 0:
        raise DomainError(f"log: log({x!r}) is undefined; log needs a positive number")
    return math.log(x)


def _sqrt(x):
    if x < 0:
        raise DomainError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a number >= 0")
    return math.sqrt(x)


def _sigmoid(x):
    if x >= 0:  # two forms, so that exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _periodic(name, f):
    def forward(x):
        if math.isinf(x):
            raise DomainError(f"{name}: {name}({x!r}) is undefined; {name} needs a finite number")
        return f(x)
    return forward


def _sign(x):
    x = _val(x)
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def _dpow_base(x, y):
    return 0.0 if _val(y) == 0 else y * x ** (y - 1)


def _dpow_exponent(x, y):
    return 0.0 if _val(x) == 0 else x ** y * log(x)  # 0 ** y is flat in y for y > 0


def _dsigmoid(x):
    s = sigmoid(x)
    return s * (1 - s)


# ---------------------------------------------------------------------------------------------------------------
# The op table. Each row: name, forward on floats, then d(out)/d(input) per input. The rules are written with
# operators and the functions of this table, so they work on floats (backward) and on Values (higher order).
# A rule for a kink (relu, abs at 0) uses the one-sided value PyTorch uses.

#            name           forward                                  d/dx                          d/dy
add        = Op("+",        lambda x, y: x + y,                      lambda x, y: 1.0,             lambda x, y: 1.0)
sub        = Op("-",        lambda x, y: x - y,                      lambda x, y: 1.0,             lambda x, y: -1.0)
mul        = Op("*",        lambda x, y: x * y,                      lambda x, y: y,               lambda x, y: x)
div        = Op("/",        _div,                                    lambda x, y: 1 / y,           lambda x, y: -x / y ** 2)
_pow_const = Op("**",       _power,                                  _dpow_base,                   _dpow_exponent)
_pow       = Op("**",       _power_of_value,                         _dpow_base,                   _dpow_exponent)
_leaky     = Op("leaky_relu", lambda x, s: x if x > 0 else s * x,    lambda x, s: 1.0 if _val(x) > 0 else s,
                                                                     lambda x, s: 0.0 if _val(x) > 0 else x)

neg        = Op("neg",      lambda x: -x,                            lambda x: -1.0)                # -x
_abs       = Op("abs",      abs,                                     _sign)                         # |x|' = sign(x)
exp        = Op("exp",      _exp,                                    lambda x: exp(x))              # e^x
log        = Op("log",      _log,                                    lambda x: 1 / x)               # ln x
sqrt       = Op("sqrt",     _sqrt,                                   lambda x: 0.5 / sqrt(x))       # x^(1/2)
tanh       = Op("tanh",     math.tanh,                               lambda x: 1 - tanh(x) ** 2)    # stable in math
sigmoid    = Op("sigmoid",  _sigmoid,                                _dsigmoid)                     # s' = s(1 - s)
relu       = Op("relu",     lambda x: 0.0 if x <= 0 else x,          lambda x: 1.0 if _val(x) > 0 else 0.0)
sin        = Op("sin",      _periodic("sin", math.sin),              lambda x: cos(x))
cos        = Op("cos",      _periodic("cos", math.cos),              lambda x: -sin(x))


def leaky_relu(x, slope=0.01):
    """x for x > 0, else slope * x; the slope is an input like any other (a Constant unless it is a Value)."""
    return _leaky(x, slope)


# ---------------------------------------------------------------------------------------------------------------
# The backward pass.

def _topo(root):
    """Every node `root` depends on, each after its parents: an iterative depth-first walk, parents in order."""
    order, seen, done, stack = [], set(), set(), [root]
    while stack:
        node = stack.pop()
        if node in done:
            continue
        if node in seen or not node.parents:  # a leaf, or back from its parents: its place in the order is here
            done.add(node)
            order.append(node)
        else:  # first visit: come back to it after its parents (pushed last first, so they pop in order)
            seen.add(node)
            stack.append(node)
            stack.extend(reversed(node.parents))
    return order


def _backprop(order, grads, higher, trace=None):
    """The chain rule, the one loop for every pass: last node first, push its grad to its parents.

    `grads` maps nodes to d(root)/d(node) and starts with the seed. With higher=True the local derivatives are
    computed from the parent Values themselves, so every grad is a Value that can be differentiated again.
    `trace`, a list, receives one entry per node whose rules run, in order.
    """
    for node in reversed(order):
        g = grads.get(node)
        op = node._op
        if g is None or op is None:
            continue
        parents = node.parents
        xs = [p if type(p) is not Constant else p.data for p in parents] if higher else [p.data for p in parents]
        for i, p in enumerate(parents):
            if type(p) is Constant:
                continue  # nobody asks for the gradient of a number; skipping it also spares x**2 a log(x)
            try:
                d = op.derivs[i](*xs)  # the local derivative d(node)/d(parent)
            except (ArithmeticError, ValueError) as e:
                raise op._undefined(i, xs, e) from e
            if type(d) is not float:
                d = op._derivative(i, xs, d, higher)
            contribution = g * d  # the chain rule
            grads[p] = grads[p] + contribution if p in grads else contribution  # fan-out: contributions add up
        if trace is not None:  # animate() records each step: the node, and its parents' grads after it
            trace.append((node, [(p, grads[p]) for p in parents if type(p) is not Constant]))
    return grads


# ---------------------------------------------------------------------------------------------------------------
# Switching recording off.

class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator (`@no_grad` or `@no_grad()`): inside it, ops make plain leaves, no graph."""

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)  # bare @no_grad: decorate func right away

    def __init__(self, func=None):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(False))
        return self

    def __exit__(self, *exc):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def _recreate_cm(self):
        return type(self)()  # a decorated function gets a fresh manager per call: safe in threads and recursion


@contextlib.contextmanager
def _recording():
    """Switch recording on for a while (grad() needs a graph even when called under no_grad)."""
    token = _grad_enabled.set(True)
    try:
        yield
    finally:
        _grad_enabled.reset(token)
