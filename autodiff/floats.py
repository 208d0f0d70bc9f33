"""The forwards on floats that refuse an input: the table's `div_(x, y)`, `log_(x)`, ... (a trailing _ marks them).

Python's own `x / y` or `math.log(x)` would raise a bare ZeroDivisionError or "math domain error"; these raise an
error that names the op and the operand, and say what to do. They refuse finite operands only: an inf or nan that
the user put in gives IEEE arithmetic's answer, as in PyTorch.
"""
import math

from .errors import DomainError, RangeError

__all__ = ["div_", "pow_", "vpow_", "exp_", "log_", "sqrt_", "sigmoid_", "sin_", "cos_", "tanh_", "power_slope"]


def div_(x, y):
    if y == 0:
        if x - x:  # inf or nan / 0 (x - x is 0.0 for a finite x)
            return x * math.copysign(math.inf, y)
        raise DomainError(f"/: cannot divide {x!r} by zero; keep the denominator away from 0 (e.g. add a small eps)")
    return x / y


def pow_(x, y):
    if x == 0 and y < 0 or x < 0 and y != y // 1:
        if x - x or y - y:
            return math.pow(x, y)  # C99's pow for an inf or nan operand (Python's ** refuses 0.0 ** -inf)
        if x == 0:
            raise DomainError(f"**: {x!r} to the negative power {y!r} is undefined (division by zero)")
        raise DomainError(f"**: a negative base {x!r} to the non-integer power {y!r} has no real value")
    return x ** y


def vpow_(x, y):
    if x < 0 and not (x - x or y - y):
        raise DomainError(f"**: a negative base {x!r} to a Value power is not differentiable (d/dy x**y = x**y * "
                          f"log(x)); use a positive base, or a plain number as the exponent")
    return pow_(x, y)


def exp_(x):
    try:
        return math.exp(x)
    except OverflowError:
        raise RangeError(f"exp: exp({x!r}) overflows a float (inputs above about 709.78 do)") from None


def log_(x):
    if x <= 0:
        if x - x:
            return math.nan  # log(-inf)
        raise DomainError(f"log: log({x!r}) is undefined; log needs a positive number")
    return math.log(x)


def sqrt_(x):
    if x < 0:
        if x - x:
            return math.nan  # sqrt(-inf)
        raise DomainError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a number >= 0")
    return math.sqrt(x)


def sigmoid_(x):
    if x >= 0:  # two forms, so that exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sin_(x):
    return math.nan if math.isinf(x) else math.sin(x)  # IEEE: sin(inf) is nan (Python's math raises)


def cos_(x):
    return math.nan if math.isinf(x) else math.cos(x)


tanh_ = math.tanh  # finite for every input, and so is its derivative


def power_slope(x, y, out):
    """d(x ** y)/dx where the table's y * x ** (y - 1) overflows in x ** (y - 1) although the product is finite
    (x = 1e-310, y = 1e-10: 1e300): the same number written as y / x * out (out = x ** y), to a few roundings; None
    if that is not finite either (x = 0 with y < 1: the derivative is infinite)."""
    for form in (lambda: y / x * out, lambda: y * (out / x), lambda: y * out / x):
        try:
            d = form()
        except ArithmeticError:
            continue
        if d - d == 0:
            return d
    return None
