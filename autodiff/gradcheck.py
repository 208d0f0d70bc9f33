"""gradcheck: compare the engine's derivatives (reverse mode, forward mode, or both; first and second order) with
central differences, for use in unit tests."""
import functools
import math
import numbers
from typing import Any, Callable, Iterable, Sequence

from .engine import DomainError, RangeError, Value, no_grad
from .errors import real, show
from .functional import grad, hessian, hvp, jacobian
from .trees import flatten, paths, unflatten

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Derivatives that disagree with central differences; the message is a table, worst first."""

    def __init__(self, message: str, rows: Iterable[tuple[Any, ...]] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)  # (input, analytic, numeric, abs error, allowed), worst first


def gradcheck(f: Callable[..., Any], inputs: Iterable[Any], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, order: int = 1, modes: Sequence[str] = ("rev",)) -> bool:
    """Check f's derivatives (and, with order=2, its second derivatives) at `inputs` against central differences.

    `inputs` lists f's arguments: numbers, Values, or lists, tuples and dicts of them. `f` returns a Value, a number,
    or a list (tuple, dict) of them. `modes` says which derivatives to check: "rev" (reverse mode: backward passes,
    grad, hessian), "fwd" (forward mode: jvp, and jvp over grad for second derivatives), or both. Returns True, or
    raises GradcheckError with a table, worst first.

    >>> gradcheck(lambda x, y: x * y.exp(), [2.0, 0.5])
    True
    >>> gradcheck(lambda p: [p["a"] * p["b"], p["a"].sin()], [{"a": 0.3, "b": 2.0}], modes=("rev", "fwd"), order=2)
    True
    """
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0 or (name == "eps" and v == 0):
            raise ValueError(f"gradcheck: {name} must be a {'positive' if name == 'eps' else 'non-negative'} "
                             f"number, got {show(v)}")
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {show(order)}")
    if isinstance(modes, str) or not isinstance(modes, (tuple, list)) or not modes or \
            not set(modes) <= {"rev", "fwd"}:
        raise ValueError(f"gradcheck: modes must be a non-empty tuple of 'rev' and 'fwd', got {show(modes)}")
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"gradcheck: inputs must be a list of numbers, got {type(inputs).__name__} {show(inputs)}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError("gradcheck: inputs is empty; give the point to check as a list of numbers")
    trees, names, xs = [], [], []
    for i, x in enumerate(inputs):
        leaves, tree = flatten(x, f"gradcheck: input {i}")
        trees.append(tree)
        names += [f"{n} ({v.label})" if isinstance(v, Value) and v.label else n
                  for n, v in zip(paths(tree, str(i)), leaves)]
        xs += [v.data if isinstance(v, Value) else real(v, f"gradcheck (input {i})") for v in leaves]
    if not xs:
        raise ValueError("gradcheck: the inputs hold no numbers, so there is no derivative to check")

    shape = []  # the structure of f's result, for naming its outputs

    def flat_f(*numbers_):  # f of its arguments' numbers, one by one, returning the list of its outputs
        it = iter(numbers_)
        out = f(*[unflatten(tree, it) for tree in trees])
        leaves, tree = _outputs(out)
        shape[:] = [tree]
        return leaves

    def value(point):
        with no_grad():
            return [_number(o) for o in flat_f(*[Value(x) for x in point])]

    n_out = len(value(xs))  # f returns Values or numbers (else a TypeError that names gradcheck)
    if not n_out:
        raise ValueError("gradcheck: f returned no outputs to check")
    outputs = paths(shape[0], "output") if shape[0] is not None else ["output"]
    label = (lambda i, name: name) if n_out == 1 and shape[0] is None else (lambda i, name: f"{outputs[i]}, {name}")
    tag = {"rev": "", "fwd": " [fwd]"}  # a forward-mode row says so

    def first(mode):  # J[i][k] = d output i / d number k, computed by one mode; a pass leaves every .grad alone
        return jacobian(flat_f, argnums=tuple(range(len(xs))), mode=mode)(*xs)

    def probe(k, h, of=None):  # f (or of) with number k moved by h; an error there names the probe, not the point
        try:
            return (of or value)(_shift(xs, k, h))
        except (DomainError, RangeError) as e:
            smaller = f"a smaller eps (eps={abs(xs[k]) / 10:.1g})" if 0 < abs(xs[k]) <= eps else "a smaller eps"
            raise type(e)(f"gradcheck: its central difference probes input {names[k]} at {xs[k]!r} "
                          f"{'+' if h > 0 else '-'} eps = {xs[k] + h!r} (eps={eps:g}), outside f's domain: {e}. "
                          f"Check at a point farther than eps from the edge of the domain, or give {smaller}") from None

    center = value(xs)
    ups, downs = [probe(k, eps) for k in range(len(xs))], [probe(k, -eps) for k in range(len(xs))]
    numeric = [[(a - b) / (2 * eps) for a, b in zip(ups[k], downs[k])] for k in range(len(xs))]  # numeric[k][i]
    def sides(k, i):  # the one-sided differences of output i in number k, with eps and with eps / 2
        try:
            half_up, half_down = value(_shift(xs, k, eps / 2)), value(_shift(xs, k, -eps / 2))
        except (DomainError, RangeError):
            return None  # (a pole between the probes: not a kink)
        c = center[i]
        return ((c - downs[k][i]) / eps, (ups[k][i] - c) / eps, (c - half_down[i]) / (eps / 2),
                (half_up[i] - c) / (eps / 2))
    rows = []
    for mode in modes:
        once, again = first(mode), first(mode)
        if not all(a == b or (math.isnan(a) and math.isnan(b)) for r, s in zip(once, again) for a, b in zip(r, s)):
            raise GradcheckError("gradcheck: two passes at the same point gave different gradients: "
                                 f"{once} then {again}; a derivative rule must not keep state between calls")
        rows += [(label(i, names[k]) + tag[mode], once[i][k], numeric[k][i], functools.partial(sides, k, i))
                 for i in range(n_out) for k in range(len(xs))]
    what = "first derivatives"
    if order == 2:
        for i in range(n_out):
            fi = functools.partial(_output, flat_f, i)
            gradient = functools.partial(first_derivatives, fi)
            up = [probe(j, eps, gradient) for j in range(len(xs))]
            down = [probe(j, -eps, gradient) for j in range(len(xs))]
            for mode in modes:
                if mode == "rev":
                    analytic = hessian(fi, argnums=tuple(range(len(xs))))(*xs)  # reverse over reverse
                else:  # forward over reverse: column j is H times the j-th unit vector
                    columns = [hvp(fi)(tuple(xs), tuple(float(k == j) for k in range(len(xs))))
                               for j in range(len(xs))]
                    analytic = [[columns[j][k] for j in range(len(xs))] for k in range(len(xs))]
                for j in range(len(xs)):
                    for k in range(len(xs)):
                        rows.append((label(i, f"{names[k]}, {names[j]}") + tag[mode], analytic[k][j],
                                     (up[j][k] - down[j][k]) / (2 * eps), None))
        what = "first and second derivatives"
    _compare(rows, atol, rtol, eps, what)
    return True


def first_derivatives(f, point):
    """The gradient of scalar f at point (reverse mode), for the differences that check second derivatives."""
    return list(grad(f, argnums=tuple(range(len(point))))(*point))


def _output(flat_f, i, *numbers_):
    return flat_f(*numbers_)[i]


def _outputs(out):
    """f's result as (the list of its numbers and Values, its structure; None for a single Value or number)."""
    if isinstance(out, (list, tuple, dict)):
        return flatten(out, "gradcheck: f's result", "results")
    return [out], None


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
    table, kinks = [], []
    for name, analytic, numeric, sides in rows:
        err, allowed = abs(analytic - numeric), atol + rtol * abs(numeric)
        if not err <= allowed:  # also catches nan
            table.append((name, analytic, numeric, err, allowed))
            sides = sides and sides()
            # a kink: the two sides disagree, and each side is steady (the same with eps / 2); near a pole or a
            # sharp curve the one-sided differences move with eps too
            steady = sides and abs(sides[0] - sides[2]) + abs(sides[1] - sides[3]) < abs(sides[0] - sides[1]) / 4
            if steady and not abs(sides[0] - sides[1]) <= atol + rtol * max(map(abs, sides[:2])):
                kinks.append(f"  {name}: the one-sided differences disagree, {sides[0]:.6g} from the left and "
                             f"{sides[1]:.6g} from the right: f has a kink here (relu or abs at 0, say), where the "
                             f"derivative is one-sided and the central difference is neither; check at a point "
                             f"away from the kink")
    if not table:
        return
    table.sort(key=lambda r: -(r[3] / r[4]) if r[4] and r[3] == r[3] else -math.inf)
    header = ("input", "analytic", "numeric", "abs error", "allowed")
    lines = [header] + [(r[0], *(f"{v:.10g}" for v in r[1:])) for r in table]
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    text = "\n".join("  " + "  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(line, widths)))
                     for line in lines)
    hint = "\n" + "\n".join(kinks) if kinks else ""
    raise GradcheckError(f"gradcheck: {len(table)} of {len(rows)} {what} disagree with central differences "
                         f"(eps={eps:g}, allowed = {atol:g} + {rtol:g} * |numeric|), worst first:\n{text}{hint}",
                         table)
