"""Derivatives as functions, JAX style: grad, value_and_grad, hessian. They compose to any order.

They never touch the .grad of a Value: gradients are kept in a dict that lives for one call. At the outermost level
(plain numbers in, no enclosing grad) the backward pass runs on floats and the results are floats. Inside another
grad, or when given Values, it runs on Values, so the result is itself differentiable.
"""
import contextlib
import contextvars
import functools
import numbers
from typing import Any, Callable

from .engine import Op, Value, backprop, recording_on, topological_order
from .errors import real, show

__all__ = ["grad", "value_and_grad", "hessian"]

_depth = contextvars.ContextVar("autodiff_grad_depth", default=0)  # how many grad calls enclose this one

# Each differentiated argument gets a fresh node, so that an inner grad cannot confuse its variable with an outer
# one that has the same Value (grad(lambda x: grad(lambda y: x * y)(x))(3.0) is 1, not 2x).
watch = Op("input", "x", "1.0")
watch.__module__, watch.__qualname__ = __name__, "watch"


@contextlib.contextmanager
def _differentiating():
    token = _depth.set(_depth.get() + 1)
    try:
        with recording_on():
            yield
    finally:
        _depth.reset(token)


def _argnums(argnums, fname):
    """(tuple of indices, whether a single one was asked for)."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return (argnums,), True
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(i, int) and not isinstance(i, bool) for i in argnums):
        return tuple(argnums), False
    raise TypeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")


def _resolve(nums, args, fname):
    n = len(args)
    if any(not -n <= i < n for i in nums):
        raise ValueError(f"{fname}: argnums {nums} out of range for a call with {n} positional argument(s)")
    idx = [i % n for i in nums]
    if len(set(idx)) != len(idx):
        raise ValueError(f"{fname}: argnums {nums} names an argument twice")
    return idx


def _inputs(args, idx, fname):
    """Replace the differentiated arguments by fresh nodes; return (new args, those nodes)."""
    args, wrt = list(args), []
    for i in idx:
        a = args[i]
        a = watch(a) if isinstance(a, Value) else Value(real(a, f"{fname} (argument {i})"))
        args[i] = a
        wrt.append(a)
    return args, wrt


def _grads(out, wrt, higher, fname):
    """d(out)/d(w) for each w in wrt, through only the nodes that depend on wrt."""
    if not isinstance(out, Value):
        if isinstance(out, bool) or not isinstance(out, numbers.Real):
            raise TypeError(f"{fname}: the function must return a scalar Value or a number, "
                            f"got {type(out).__name__} {show(out)}")
        return [0.0] * len(wrt)  # a constant function
    inputs, live, order = set(wrt), set(wrt), []
    for node in topological_order(out):
        if node not in inputs and any(p in live for p in node.parents):
            live.add(node)
            order.append(node)
    grads = backprop(order, {out: 1.0}, higher)
    return [grads.get(w, 0.0) for w in wrt]


def _result(x, higher):
    """A Value when differentiating further, else a float."""
    if higher:
        return x if isinstance(x, Value) else Value(x)
    return x.data if isinstance(x, Value) else float(x)


def _higher(args):
    return _depth.get() > 0 or any(isinstance(a, Value) for a in args)


def value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., tuple[Any, Any]]:
    """A function that returns (f(*args), the gradient of f with respect to the arguments in argnums)."""
    return _value_and_grad(f, argnums, "value_and_grad")


def _value_and_grad(f, argnums, _name):
    """value_and_grad, with errors that name the function the user called (grad or value_and_grad)."""
    nums, single = _argnums(argnums, _name)

    @functools.wraps(f)
    def value_and_df(*args, **kwargs):
        idx = _resolve(nums, args, _name)
        higher = _higher(args)
        args, wrt = _inputs(args, idx, "grad")
        with _differentiating():
            out = f(*args, **kwargs)
            grads = [_result(g, higher) for g in _grads(out, wrt, higher, "grad")]
        return _result(out, higher), grads[0] if single else tuple(grads)

    return value_and_df


def grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function that returns the derivative of f with respect to argument argnums (a tuple gives a tuple).

    >>> grad(lambda x: x ** 3)(2.0)
    12.0
    >>> grad(grad(lambda x: x ** 3))(2.0)
    12.0
    """
    vg = _value_and_grad(f, argnums, "grad")

    @functools.wraps(f)
    def df(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return df


def hessian(f: Callable[..., Any], argnums: int | tuple[int, ...] | None = None) -> Callable[..., list[list[Any]]]:
    """A function that returns the matrix of second derivatives of f, as a list of lists (all arguments by default).

    >>> hessian(lambda x, y: x * x * y)(1.0, 2.0)
    [[4.0, 2.0], [2.0, 0.0]]
    """
    if argnums is not None:
        argnums = _argnums(argnums, "hessian")[0]

    @functools.wraps(f)
    def hess(*args, **kwargs):
        nums = tuple(range(len(args))) if argnums is None else argnums
        idx = _resolve(nums, args, "hessian")
        higher = _higher(args)
        args, wrt = _inputs(args, idx, "hessian")
        with _differentiating():
            out = f(*args, **kwargs)
            first = _grads(out, wrt, True, "hessian")  # Values, so that they can be differentiated again
            rows = [_grads(g, wrt, higher, "hessian") for g in first]
        return [[_result(h, higher) for h in row] for row in rows]

    return hess
