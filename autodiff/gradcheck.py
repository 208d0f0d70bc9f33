"""gradcheck: compare the engine's derivatives with central differences, for use in unit tests."""
import math
import numbers
from typing import Any, Callable, Iterable

from .engine import Value, no_grad
from .errors import real, show
from .functional import grad, hessian, value_and_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Derivatives that disagree with central differences; the message is a table, worst first."""

    def __init__(self, message: str, rows: Iterable[tuple[Any, ...]] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)  # (input, analytic, numeric, abs error, allowed), worst first


def gradcheck(f: Callable[..., Any], inputs: Iterable[float | Value], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, order: int = 1) -> bool:
    """Check f's gradient (and, with order=2, its second derivatives) at `inputs` against central differences.

    `f` takes floats or Values and returns a Value. Returns True, or raises GradcheckError with a table.

    >>> gradcheck(lambda x, y: x * y.exp(), [2.0, 0.5])
    True
    """
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0 or (name == "eps" and v == 0):
            raise ValueError(f"gradcheck: {name} must be a {'positive' if name == 'eps' else 'non-negative'} "
                             f"number, got {show(v)}")
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {show(order)}")
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"gradcheck: inputs must be a list of numbers, got {type(inputs).__name__} {show(inputs)}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError("gradcheck: inputs is empty; give the point to check as a list of numbers")
    xs = [x.data if isinstance(x, Value) else real(x, f"gradcheck (input {i})") for i, x in enumerate(inputs)]
    names = [f"{i} ({x.label})" if isinstance(x, Value) and x.label else str(i) for i, x in enumerate(inputs)]

    def value(point):
        with no_grad():
            out = f(*[Value(x) for x in point])
        return _number(out)

    value(xs)  # f returns a Value or a number (else a TypeError that names gradcheck)
    df = value_and_grad(f, argnums=tuple(range(len(xs))))  # a pass that leaves every .grad alone (of inputs,
    first, second = list(df(*xs)[1]), list(df(*xs)[1])    # and of a model's parameters that f captures)
    if not all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(first, second)):
        raise GradcheckError("gradcheck: two passes at the same point gave different gradients: "
                             f"{first} then {second}; a derivative rule must not keep state between calls")

    numeric = [(value(_shift(xs, i, eps)) - value(_shift(xs, i, -eps))) / (2 * eps) for i in range(len(xs))]
    rows = [(names[i], first[i], numeric[i]) for i in range(len(xs))]
    what = "first derivatives"
    if order == 2:
        df = grad(f, argnums=tuple(range(len(xs))))
        analytic2 = hessian(f)(*xs)
        for j in range(len(xs)):
            up, down = df(*_shift(xs, j, eps)), df(*_shift(xs, j, -eps))
            for i in range(len(xs)):
                rows.append((f"{names[i]}, {names[j]}", analytic2[i][j], (up[i] - down[i]) / (2 * eps)))
        what = "first and second derivatives"
    _compare(rows, atol, rtol, eps, what)
    return True


def _number(out):
    if isinstance(out, Value):
        return out.data
    if isinstance(out, bool) or not isinstance(out, numbers.Real):
        raise TypeError(f"gradcheck: f must return a Value or a number, got {type(out).__name__} {show(out)}")
    return float(out)


def _shift(xs, i, h):
    return xs[:i] + [xs[i] + h] + xs[i + 1:]


def _compare(rows, atol, rtol, eps, what):
    """Raise GradcheckError listing every derivative outside atol + rtol * |numeric|, worst first."""
    table = []
    for name, analytic, numeric in rows:
        err, allowed = abs(analytic - numeric), atol + rtol * abs(numeric)
        if not err <= allowed:  # also catches nan
            table.append((name, analytic, numeric, err, allowed))
    if not table:
        return
    table.sort(key=lambda r: -(r[3] / r[4]) if r[4] and r[3] == r[3] else -math.inf)
    header = ("input", "analytic", "numeric", "abs error", "allowed")
    lines = [header] + [(r[0], *(f"{v:.10g}" for v in r[1:])) for r in table]
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    text = "\n".join("  " + "  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(line, widths)))
                     for line in lines)
    raise GradcheckError(f"gradcheck: {len(table)} of {len(rows)} {what} disagree with central differences "
                         f"(eps={eps:g}, allowed = {atol:g} + {rtol:g} * |numeric|), worst first:\n{text}", table)
