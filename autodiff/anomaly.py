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
from typing import Any, Iterator

__all__ = ["detect_anomaly", "check_unchanged"]

checking: contextvars.ContextVar[bool] = contextvars.ContextVar("autodiff_detect_anomaly", default=False)  # per thread and task


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside this block (per thread and task; it works as a decorator too), backward() first checks that no .data
    of its graph changed since the graph was built, and raises a RuntimeError naming the Value if one did."""
    token = checking.set(True)
    try:
        yield
    finally:
        checking.reset(token)


def check_unchanged(order: list[Any]) -> None:
    """Run every op of the graph (in topological order) again on its parents' numbers: a RuntimeError at the first
    node whose number differs from what it holds (or whose number is not a float)."""
    from .engine import Constant
    for node in order:
        op = node.grad_fn
        if op is None:
            continue
        parents = node.parents
        xs = [p.data for p in parents]
        try:
            now = op.forward(*[float(x) for x in xs])
        except (ArithmeticError, ValueError, TypeError) as e:
            now = e
        held = node.data
        if type(held) is float and type(now) is float and (now == held and math.copysign(1, now) == math.copysign(
                1, held) or now != now and held != held):
            continue
        leaves = list(dict.fromkeys(p for p in parents if p.grad_fn is None and type(p) is not Constant))
        suspects = f" (its leaf inputs now: {', '.join(map(repr, leaves))})" if leaves else ""
        now = repr(now) if isinstance(now, float) else f"an error ({now})"
        raise RuntimeError(f"backward: {node!r}, made by {op.name}, holds {held!r}, but its inputs {_numbers(xs)} "
                           f"now give {now}: a .data of this graph was changed after the forward pass{suspects}. "
                           f"Build the graph again after changing .data (an optimizer changes it after backward(), "
                           f"which is fine)")


def _numbers(xs: list[Any]) -> str:
    return "(" + ", ".join(repr(x) for x in xs) + ")"
