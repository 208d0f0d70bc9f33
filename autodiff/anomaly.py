"""detect_anomaly(): backward() checks, before its pass, that the graph's numbers are still the ones it was built
with (PyTorch's name for its checking mode).

A node keeps no copy of the numbers its op saw: backward() reads the local derivatives from the parents' .data as
they are when it runs (that is what keeps a node small and the pass fast). So a .data changed between the forward
pass and backward() silently mixes two points: `y = (x * x).tanh()`, then `x.data = 2.0`, gives a grad that belongs
to neither. Inside `with autodiff.detect_anomaly():` every backward() first runs each op of the graph again on its
parents' current numbers and refuses the pass, naming the Value, if one gives another number than the node holds.
This costs about one more forward pass per backward(), so it is a mode to switch on while looking for the bug.
An optimizer's step changes .data after backward(), which is fine: the next forward pass builds a new graph.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import weakref
from typing import Any, Iterator

__all__ = ["detect_anomaly", "check_unchanged"]

checking: contextvars.ContextVar[bool] = contextvars.ContextVar("autodiff_detect_anomaly", default=False)  # per thread and task
_built: "weakref.WeakKeyDictionary[Any, tuple[Any, ...]]" = weakref.WeakKeyDictionary()  # node -> its numbers


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside this block (per thread and task; it works as a decorator too), every op notes the numbers it was
    given and gave, and backward() first checks that none of its graph's numbers changed since, raising a
    RuntimeError naming the Value if one did. (A graph built outside the block is checked by running its ops again:
    a change that gives the same result, a * b with b = 0, is only seen when the graph is built inside it.)"""
    from . import grad_mode
    token = checking.set(True)
    with grad_mode.lock:
        grad_mode.paused += 1  # the ops' one check sends them to engine.slow_node, which calls note()
    try:
        yield
    finally:
        with grad_mode.lock:
            grad_mode.paused -= 1
        checking.reset(token)


def note(node: Any) -> None:
    """A node made inside detect_anomaly(): its number and its parents' numbers, as they are now."""
    _built[node] = (node.data, *[p.data for p in node.parents])


def _same(a: Any, b: Any) -> bool:
    """The same float, bit for bit (nan is nan, -0.0 is not 0.0)."""
    return type(a) is type(b) and (a == b and (a != 0 or math.copysign(1, a) == math.copysign(1, b)) or a != a and b != b)


def check_unchanged(order: list[Any]) -> None:
    """Every op node of the graph (in topological order) checked against the numbers it was built with: those
    noted when it was made (inside detect_anomaly()), or else what its op gives again on its parents' numbers now.
    A RuntimeError at the first node that differs."""
    from .engine import Constant
    for node in order:
        op = node.grad_fn
        if op is None:
            continue
        parents = node.parents
        xs = [p.data for p in parents]
        held = node.data
        built = _built.get(node)
        if built is not None:
            if all(_same(a, b) for a, b in zip(built, (held, *xs))):
                continue
            changed = [p for p, was, now in zip(parents, built[1:], xs) if not _same(was, now)]
            what = (f"its input {changed[0]!r} was {built[1 + parents.index(changed[0])]!r} when it was made"
                    if changed else f"it was {built[0]!r} when it was made")
        else:
            try:
                now = op.forward(*[float(x) for x in xs])
                now = float(now) if isinstance(now, numbers.Real) and not isinstance(now, bool) else now
            except (ArithmeticError, ValueError, TypeError) as e:
                now = e
            if type(held) is float and _same(held, now):
                continue
            what = f"its inputs {_numbers(xs)} now give {now!r}" if isinstance(now, float) else \
                f"its op fails on its inputs now {_numbers(xs)} ({now})"
        leaves = list(dict.fromkeys(p for p in parents if p.grad_fn is None and type(p) is not Constant))
        suspects = f" (its leaf inputs now: {', '.join(map(repr, leaves))})" if leaves else ""
        raise RuntimeError(f"backward: {node!r}, made by {op.name}, holds {held!r}, but {what}: a .data of this "
                           f"graph was changed after the forward pass{suspects}. Build the graph again after "
                           f"changing .data (an optimizer changes it after backward(), which is fine)")


def _numbers(xs: list[Any]) -> str:
    return "(" + ", ".join(repr(x) for x in xs) + ")"
