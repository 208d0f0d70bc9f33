"""The errors of the engine, and the checks at its boundary: every refusal names the op, the operands and what to do.

engine.py keeps the algorithm; what it needs to turn bad input, Python's bare arithmetic errors and a rule's odd
result into a clear message lives here.
"""
import math
import numbers
import reprlib

from .guards import Traced

__all__ = ["DomainError", "RangeError", "show", "real", "not_a_float", "operands", "finite", "IEEE", "forward_error",
           "non_finite_result", "bad_data", "refuse_comparison", "forward_number", "undefined_derivative", "non_finite_derivative", "derivative_number"]


class DomainError(ValueError):
    """An input outside an op's domain (log of 0, division by zero, ...)."""

    __module__ = "autodiff"  # where users import it from


class RangeError(OverflowError):
    """A result too large for a float (exp of 1000, ...)."""

    __module__ = "autodiff"


def show(x):
    """A short repr of anything a user passed, for messages (a Value in full: its label says which it is)."""
    return repr(x) if _is_value(x) else reprlib.repr(x)


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def bad_data(where, node):
    """The error for a Value whose .data was set to something that is not a number."""
    return TypeError(f"{where}: {node!r} has .data = {show(node.data)} ({type(node.data).__name__}), which is not a "
                     f"real number; a Value's .data must be a float (v.data = 3.0; a bool or complex is refused)")


def leaf_float(leaf):
    """A leaf's .data that is not a float, made the float the pass computes with: an int or a numpy number becomes
    its float (the same number, so every grad is a float); a bool, a complex number or anything else is refused."""
    x = leaf.data
    if isinstance(x, Traced):
        return
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise bad_data("backward", leaf)
    try:
        leaf.data = float(x)
    except OverflowError:
        raise bad_data("backward", leaf) from None


def grad_float(g, order):
    """A leaf's grad that came out of a pass as another kind of number (an op node's .data set by hand to a numpy
    float32): its float; a complex one is refused, naming the node whose .data is not a float."""
    if isinstance(g, numbers.Real) and not isinstance(g, bool):
        return float(g)
    culprit = next((n for n in order if type(n.data) is not float), None)
    raise bad_data("backward", culprit) if culprit is not None else TypeError(f"backward: a grad came out as {g!r}")


def _is_value(x):
    return hasattr(x, "parents") and hasattr(x, "data")


def real(x, op):
    """`x` as a float, or a TypeError that names the op and what was given instead."""
    if type(x) is float:
        return x
    if isinstance(x, Traced):  # a number of a compile trace, made a constant (Value(p.data)): it must stay the same
        x.tracer.pin(x)
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{op}: {show(x)} is too large for a float") from None
    if _is_value(x):
        raise TypeError(f"{op}: got a Value where a plain number is needed; use .data for its number, "
                        f"or .detach() for a new leaf")
    raise TypeError(f"{op}: expected a real number (int or float) or a Value, got {type(x).__name__} {show(x)}")


def not_a_float(number):
    return TypeError(f"float(), int() or round() of a Value ({number!r}): a Value does not become a plain number, "
                     f"as that would cut it out of the graph and lose its gradient (math.sin(v) does this). Use v.data "
                     f"for the number (round(v.data, 2), f\"{{v:.2f}}\"), or autodiff.sin(v) (exp, log, sqrt, tanh, "
                     f"sigmoid, relu, leaky_relu, sin, cos) for a differentiable op")


def refuse_comparison(symbol):
    """A Value's <, <=, > or >=: a TypeError that says to compare the numbers (a comparison has no gradient)."""
    def compare(self, other):
        raise TypeError(f"comparing a Value and {type(other).__name__} {show(other)} (<, <=, >, >=): a Value is "
                        f"not ordered, because a comparison has no gradient; compare the numbers: v.data > 0, "
                        f"and max(vs, key=lambda v: v.data) for the largest Value")
    compare.__name__ = compare.__qualname__ = f"__{ {'<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge'}[symbol] }__"
    return compare


def refuse_modulo(x, y, modulo):
    """pow(v, y, m): Python's three-argument pow, which has no gradient."""
    return TypeError(f"pow() with a modulo (pow(v, {show(y.data if _is_value(y) else y)}, {show(modulo)})) is not "
                     f"differentiable and has no Value form: use v ** y, and take the remainder of the number: "
                     f"pow(v.data, y, m) or v.data ** y % m")


def refuse_truth(value):
    """bool(v), `if v:`: the truth of a Value is not a number's, so it is refused like <."""
    raise TypeError(f"the truth of a Value ({show(value.data)}) is ambiguous: `if v:` would be True even for "
                     f"Value(0.0). Test the number: `if v.data:`, `if v.data > 0:`")


def operands(xs):
    """The operands of an op as a message shows them: (1.0, 2.0)."""
    return "(" + ", ".join(repr(x.data if _is_value(x) else x) for x in xs) + ")"


def finite(xs):
    """Whether every operand is a finite number (x - x is 0.0 for a finite float, nan for inf and nan)."""
    return all(x - x == 0 for x in xs)


class IEEE(float):
    """A float whose / and ** answer as IEEE arithmetic does (inf, nan) where Python's raise: a derivative rule
    evaluated at an inf or nan operand (the other operand of a division or power may be IEEE or a plain float)."""

    def __truediv__(a, b):
        if b:
            return float(a) / b
        return math.nan if a == 0 or a != a or b != b else math.copysign(math.inf, a) * math.copysign(1.0, b)

    def __rtruediv__(b, a):
        return IEEE(a).__truediv__(b)

    def __pow__(a, b):
        try:
            return math.pow(a, b)  # C99's pow: inf and nan operands give inf, nan, 0 or 1
        except OverflowError:
            return math.inf if a > 0 or b % 2 != 1 else math.copysign(math.inf, a)
        except ValueError:  # 0 to a negative power, or a negative base to a non-integer one
            return math.inf if a == 0 else math.nan

    def __rpow__(b, a):
        return IEEE(a).__pow__(b)


def forward_error(name, e, xs):
    """Python's bare arithmetic error from a forward, as an error that names the op and its inputs."""
    if isinstance(e, (DomainError, RangeError)):
        return e  # a guarded forward's own message already names the op and the operand
    if isinstance(e, TypeError):
        bad = [x for x in xs if not _is_number(x)]
        return TypeError(f"{name}: an operand is {type(bad[0]).__name__} {show(bad[0])}, not a number; a Value's "
                         f".data must be a float (v.data = 3.0)") if bad else e
    if isinstance(e, OverflowError):
        return RangeError(f"{name}{operands(xs)}: the result is too large for a float; {SCALE}")
    if isinstance(e, AttributeError):  # a primitive's forward that calls x.cos() on the float it is given
        return TypeError(f"{name}{operands(xs)}: its forward failed with AttributeError: {e}. A primitive's forward "
                         f"is given floats: write math.cos(x) (or autodiff.cos(x)), not x.cos()")
    return DomainError(f"{name}{operands(xs)}: {e}")


SCALE = "scale the inputs down (normalize them, or work with logarithms)"


def non_finite_result(name, out, xs):
    """The error for a non-finite result from finite operands (from non-finite ones it is IEEE arithmetic)."""
    if out == out:
        return RangeError(f"{name}{operands(xs)}: the result overflows a float (it would be {out}); {SCALE}")
    return DomainError(f"{name}{operands(xs)}: the result is not a number (nan) although every operand is finite")


def forward_number(name, out, xs, forward=None):
    """A forward's result that is not a float (a user's primitive returned an int, say), as a float or a TypeError.
    If an operand is a real number but not a float (a numpy float32 or an int set as .data), the result is the
    forward's on their floats, as for any other Value."""
    if forward is not None and not all(isinstance(x, float) for x in xs) and all(
            isinstance(x, numbers.Real) and not isinstance(x, bool) for x in xs):
        try:
            out = forward(*[float(x) for x in xs])
        except (ArithmeticError, ValueError):
            pass
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        try:
            return float(out)
        except OverflowError:  # an int of hundreds of digits
            raise RangeError(f"{name}{operands(xs)}: the result {show(out)} is too large for a float") from None
    odd = [x for x in xs if isinstance(x, bool) or not isinstance(x, numbers.Real)]
    if odd:  # a .data set by hand to a complex number (or a bool)
        raise TypeError(f"{name}{operands(xs)}: the operand {show(odd[0])} is a {type(odd[0]).__name__}, not a "
                        f"real number; a Value's .data must be a float (v.data = 3.0)")
    raise TypeError(f"{name}{operands(xs)}: the forward returned {type(out).__name__} {show(out)}, "
                    f"expected a real number")


def _derivative(name, i, xs, formula):
    which = "" if len(xs) == 1 else f" with respect to {'xy'[i] if len(xs) == 2 else 'input'} (input {i})"
    return f"{name}{operands(xs)}: the derivative{which}" + (f", {formula}," if formula else "")


def undefined_derivative(name, i, xs, e, formula=None):
    """A derivative rule that raised at finite operands, as an error naming the op, the operands and the rule."""
    what = _derivative(name, i, xs, formula)
    if isinstance(e, ZeroDivisionError):
        return DomainError(f"{what} is infinite here (its formula divides by zero); keep the input off this point, "
                           f"for example by adding a small eps (sqrt(x + 1e-12))")
    if isinstance(e, OverflowError):
        return RangeError(f"{what} overflows a float here; {SCALE}")
    return DomainError(f"{what} is undefined here ({e})")


def non_finite_derivative(name, i, xs, d, formula=None):
    """The error for a local derivative that is not finite at finite operands."""
    what = _derivative(name, i, xs, formula)
    if d == d:
        return RangeError(f"{what} overflows a float here (it would be {d}); {SCALE}")
    return DomainError(f"{what} is not a number (nan) here although every operand is finite")


def derivative_number(name, i, xs, d, higher):
    """A rule's result as the pass needs it: a float, or in a higher-order pass also a Value."""
    if _is_value(d):
        return d if higher else d.data  # a rule that made a Value from plain numbers: keep the number
    if isinstance(d, numbers.Real) and not isinstance(d, bool):
        try:
            return float(d)
        except OverflowError:
            raise RangeError(f"{_derivative(name, i, xs, None)} is {show(d)}, too large for a float") from None
    raise TypeError(f"{name}{operands(xs)}: the derivative with respect to input {i} returned "
                    f"{type(d).__name__} {show(d)}; a derivative rule must return a number or a Value")


def _arity(f):
    """(the fewest, the most) positional arguments f takes; None if it has no signature or takes *args."""
    import inspect
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: trust the caller
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return sum(p.default is p.empty for p in positional), len(positional)


def check_arity(forward, derivs, name):
    """primitive's check, when it is defined: one derivative function per input, each taking every input."""
    arity = _arity(forward)
    n = len(derivs)
    if arity is not None and not arity[0] <= n <= arity[1]:  # (a forward with defaults takes fewer inputs)
        takes = arity[0] if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
        raise TypeError(f"primitive: {name} takes {takes} input(s) but {n} derivative function(s) were "
                        f"given; give one per input, in order")
    for i, d in enumerate(derivs):
        arity = _arity(d)
        if arity is not None and not arity[0] <= n <= arity[1]:
            takes = arity[0] if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
            raise TypeError(f"primitive {name}: derivative {i} takes {takes} argument(s), but a derivative "
                            f"function is given all {n} input(s) of {name}, in order (d{name}/d input {i} as a "
                            f"function of them all)")


def primitive_misuse(name, i, xs, e):
    """A primitive's derivative function that failed with an AttributeError: most often a method of a Value
    (x.cos()) called on the float it was given."""
    return TypeError(f"primitive {name}: derivative {i} failed at {operands(xs)} with AttributeError: {e}. A "
                     f"derivative function is given floats in backward() (and Values at higher orders): write "
                     f"autodiff.cos(x), autodiff.exp(x), ... (they take both), not x.cos()")
