"""The non-finite policy, the same for every op, eager and compiled (docs/engine.md: "Infinities and nan").

An op whose operands are finite but whose result, or one of whose local derivatives, is not finite raises
RangeError (overflow) or DomainError (undefined), naming the op and the operands. Non-finite operands that the
user put in (inf, nan) propagate as IEEE arithmetic and PyTorch do, without an error.
"""
import math
from decimal import Decimal, localcontext

import pytest

import autodiff
from autodiff import DomainError, RangeError, Value, primitive

INF, NAN = math.inf, math.nan


@primitive(lambda x: 1.0)
def overflowing(x):
    return x * 1e308


@primitive(lambda x: 1.0)
def not_a_number(x):
    return x * math.inf - x * math.inf


# ----- a finite operand, a non-finite result -----------------------------------------------------------------------

FORWARD = [
    ("mul by a number",  lambda: Value(1e308) * 10,                   RangeError,  ["*", "1e+308", "10.0"]),
    ("mul of Values",    lambda: Value(1e200) * Value(1e200),         RangeError,  ["*", "1e+200"]),
    ("add",              lambda: Value(1e308) + Value(1e308),         RangeError,  ["+", "1e+308"]),
    ("radd",             lambda: 1e308 + Value(1e308),                RangeError,  ["+", "1e+308"]),
    ("sub",              lambda: Value(-1e308) - Value(1e308),        RangeError,  ["-", "-1e+308"]),
    ("rsub",             lambda: -1e308 - Value(1e308),               RangeError,  ["-", "-1e+308"]),
    ("div",              lambda: Value(1e300) / Value(1e-10),         RangeError,  ["/", "1e+300", "1e-10"]),
    ("rdiv",             lambda: 1e300 / Value(1e-10),                RangeError,  ["/", "1e+300"]),
    ("leaky_relu",       lambda: Value(-1e300).leaky_relu(1e10),      RangeError,  ["leaky_relu", "-1e+300"]),
    ("pow",              lambda: Value(10.0) ** 400,                  RangeError,  ["**", "10.0", "400"]),
    ("vpow",             lambda: Value(10.0) ** Value(400.0),         RangeError,  ["**", "10.0", "400"]),
    ("exp",              lambda: Value(1000.0).exp(),                 RangeError,  ["exp", "1000.0"]),
    ("primitive inf",    lambda: overflowing(Value(10.0)),            RangeError,  ["overflowing", "10.0"]),
    ("primitive nan",    lambda: not_a_number(Value(1.0)),            DomainError, ["not_a_number", "1.0", "nan"]),
    ("on floats",        lambda: autodiff.Op("twice", "x + x", "2.0")(1e308), RangeError, ["twice", "1e+308"]),
]


@pytest.mark.parametrize("what, call, error, words", FORWARD, ids=[f[0] for f in FORWARD])
def test_finite_operands_with_a_non_finite_result_raise(what, call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert "((" not in message  # not Python's (34, 'Numerical result out of range') inside our parentheses


def test_overflow_error_says_what_to_do():
    with pytest.raises(RangeError, match="scale"):
        Value(1e200) * Value(1e200)


def test_results_near_the_largest_float_are_still_fine():
    assert (Value(1e308) + Value(7e307)).data == 1e308 + 7e307
    assert (Value(1.3e154) * Value(1.3e154)).data == 1.3e154 * 1.3e154
    assert (Value(5e-324) * 0.5).data == 0.0  # underflow to 0 is a float's rounding, not an error


# ----- user infinities and nan propagate ----------------------------------------------------------------------------

torch = None


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle for IEEE results")


PROPAGATE = [  # (what, f of Values, inputs): every result must equal PyTorch's float64 result, value and grads
    ("inf * 2",       lambda x: x * 2,                 [INF]),
    ("inf - inf",     lambda x, y: x - y,              [INF, INF]),
    ("nan + 1",       lambda x: x + 1,                 [NAN]),
    ("0 * inf",       lambda x, y: x * y,              [0.0, INF]),
    ("inf / 0",       lambda x, y: x / y,              [INF, 0.0]),
    ("-inf / -0",     lambda x, y: x / y,              [-INF, -0.0]),
    ("1 / inf",       lambda x, y: x / y,              [1.0, INF]),
    ("exp(inf)",      lambda x: x.exp(),               [INF]),
    ("exp(-inf)",     lambda x: x.exp(),               [-INF]),
    ("log(inf)",      lambda x: x.log(),               [INF]),
    ("log(-inf)",     lambda x: x.log(),               [-INF]),
    ("log(nan)",      lambda x: x.log(),               [NAN]),
    ("sqrt(inf)",     lambda x: x.sqrt(),              [INF]),
    ("sqrt(-inf)",    lambda x: x.sqrt(),              [-INF]),
    ("sin(inf)",      lambda x: x.sin(),               [INF]),
    ("cos(-inf)",     lambda x: x.cos(),               [-INF]),
    ("tanh(-inf)",    lambda x: x.tanh(),              [-INF]),
    ("sigmoid(inf)",  lambda x: x.sigmoid(),           [INF]),
    ("relu(-inf)",    lambda x: x.relu(),              [-INF]),
    ("relu(nan)",     lambda x: x.relu(),              [NAN]),
    ("abs(-inf)",     lambda x: abs(x),                [-INF]),
    ("inf ** 2",      lambda x: x ** 2,                [INF]),
    ("0 ** -inf",     lambda x: x ** -INF,             [0.0]),
    ("-2 ** inf",     lambda x: x ** INF,              [-2.0]),
    ("-inf ** 2",     lambda x: x ** 2,                [-INF]),
    ("nan ** 0",      lambda x: x ** 0,                [NAN]),
    ("2 ** inf",      lambda x, y: x ** y,             [2.0, INF]),
]


def _torch_result(torch, f, inputs):
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    ops = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "sin": torch.sin, "cos": torch.cos,
           "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}

    class T:  # the tensor with the methods the lambdas call
        def __init__(self, t):
            self.t = t

        def __getattr__(self, name):
            return lambda: T(ops[name](self.t))

        def _b(self, other, fn):
            return T(fn(self.t, other.t if isinstance(other, T) else other))
        __mul__ = lambda s, o: s._b(o, lambda a, b: a * b)  # noqa: E731
        __sub__ = lambda s, o: s._b(o, lambda a, b: a - b)  # noqa: E731
        __add__ = lambda s, o: s._b(o, lambda a, b: a + b)  # noqa: E731
        __truediv__ = lambda s, o: s._b(o, lambda a, b: a / b)  # noqa: E731
        __pow__ = lambda s, o: s._b(o, lambda a, b: a ** b)  # noqa: E731
        __abs__ = lambda s: T(s.t.abs())  # noqa: E731

    out = f(*[T(x) for x in xs]).t
    out.backward()
    return out.item(), [0.0 if x.grad is None else x.grad.item() for x in xs]


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("what, f, inputs", PROPAGATE, ids=[p[0] for p in PROPAGATE])
def test_user_infinities_and_nan_propagate_as_in_pytorch(what, f, inputs):
    torch = _torch()
    expected, expected_grads = _torch_result(torch, f, inputs)
    xs = [Value(x) for x in inputs]
    out = f(*xs)
    out.backward()  # no error: the user put the inf or nan in
    assert same(out.data, expected), (out.data, expected)
    assert all(same(x.grad, g) for x, g in zip(xs, expected_grads)), ([x.grad for x in xs], expected_grads)


def test_propagation_through_a_longer_graph_and_on_floats():
    x = Value(INF)
    y = (x * 2 + 1).tanh() * 3
    y.backward()
    assert y.data == 3.0 and x.grad == 0.0
    assert math.isnan(autodiff.sin(INF)) and autodiff.exp(-INF) == 0.0 and math.isnan(autodiff.log(-INF))


def test_powers_at_inf_follow_ieee_where_pytorch_differs():
    # IEEE 754 (and C99's pow, math.pow, numpy) say (-inf) ** 0.5 is inf; PyTorch says nan. We follow IEEE.
    x = Value(-INF)
    out = x ** 0.5
    out.backward()
    assert out.data == math.pow(-INF, 0.5) == INF and x.grad == 0.5 * math.pow(-INF, -0.5)
    x, y = Value(0.0), Value(-INF)
    out = x ** y  # 0 ** -inf is inf; no error, whatever the derivatives are
    out.backward()
    assert out.data == INF and x.grad == -INF


# ----- a finite operand, a non-finite local derivative --------------------------------------------------------------

DERIVATIVE = [
    ("log at 1e-320",  lambda x: x.log(),                 1e-320, RangeError,  ["log", "1e-320", "derivative"]),
    ("1/y, y tiny",    lambda x: 1e-20 / x,               1e-310, RangeError,  ["/", "1e-310", "derivative"]),
    ("x / tiny",       lambda x: x / 1e-310,              1e-20,  RangeError,  ["/", "1e-310", "derivative"]),
    ("x ** -1.5",      lambda x: x ** -1.5,               1e-200, RangeError,  ["**", "1e-200", "derivative"]),
    ("sqrt at 0",      lambda x: x.sqrt(),                0.0,    DomainError, ["sqrt", "0.0", "infinite"]),
    ("0 ** 0.5",       lambda x: x ** 0.5,                0.0,    DomainError, ["**", "0.0", "infinite"]),
    ("primitive",      lambda x: steep(x),                1.0,    RangeError,  ["steep", "1.0", "derivative"]),
]


@primitive(lambda x: 1e308 * 10 * x)
def steep(x):
    return x


@pytest.mark.parametrize("what, f, x, error, words", DERIVATIVE, ids=[d[0] for d in DERIVATIVE])
def test_a_non_finite_local_derivative_at_finite_operands_raises_in_backward(what, f, x, error, words):
    v = Value(x)
    v.grad = 5.0
    out = f(v)
    assert math.isfinite(out.data)
    with pytest.raises(error) as info:
        out.backward()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert "float division by zero" not in message and "negative power" not in message
    assert v.grad == 5.0  # the leaf keeps what it had
    with pytest.raises(error):
        autodiff.grad(f)(x)


def test_sqrt_at_zero_says_the_derivative_is_infinite_and_what_to_do():
    with pytest.raises(DomainError) as info:
        Value(0.0).sqrt().backward()
    assert "infinite" in str(info.value) and "eps" in str(info.value)


def test_an_overflowing_gradient_product_is_ieee_not_an_error():
    # the local derivatives are finite; only their product with a huge seed is not: that is the float's limit
    x = Value(3.0)
    (x * 1e10).backward(1e300)
    assert x.grad == INF


# ----- derivatives at extreme magnitudes, against exact decimal arithmetic -----------------------------------------

MAGNITUDES = [1e-300, 1e-160, 1e154, 1e300]
TINY = Decimal("2.2250738585072014e-308")  # the smallest normal float


def _exact(fn):
    with localcontext() as ctx:
        ctx.prec, ctx.Emax, ctx.Emin = 60, 10 ** 6, -10 ** 6
        return fn()


def _check(compute, exact):
    """Either the float equals the exact value to 1e-14 relative, or the exact value is no float and it raised."""
    if abs(exact) > Decimal("1.7976931348623157e308"):
        with pytest.raises(RangeError):
            compute()
        return
    got = compute()
    # relative to the exact value, or below the normal floats (where spacing is 5e-324) to the smallest normal one
    assert abs(Decimal(got) - exact) <= max(abs(exact), TINY) * Decimal("1e-14"), (got, exact)


def _check_grads(f, xs, exact):
    """backward() of f at xs gives every exact derivative, or raises RangeError if one of them is no float."""
    if any(abs(e) > Decimal("1.7976931348623157e308") for e in exact):
        with pytest.raises(RangeError):
            vs = [Value(x) for x in xs]
            f(*vs).backward()
        return
    vs = [Value(x) for x in xs]
    f(*vs).backward()
    for v, e in zip(vs, exact):
        _check(lambda v=v: v.grad, e)


@pytest.mark.parametrize("x", MAGNITUDES)
@pytest.mark.parametrize("a", [2.0, 3.0, 0.5, -0.5, -1.0, -2.0])
def test_power_rule_at_extreme_magnitudes(x, a):
    exact_out = _exact(lambda: Decimal(x) ** Decimal(a))
    if abs(exact_out) > Decimal("1.7976931348623157e308"):
        with pytest.raises(RangeError):
            Value(x) ** a
        return
    dx = _exact(lambda: Decimal(a) * Decimal(x) ** (Decimal(a) - 1))
    _check_grads(lambda v: v ** a, [x], [dx])
    # x ** a Value: d/dx as above, d/dy = x ** y * log(x)
    _check_grads(lambda v, w: v ** w, [x, a], [dx, _exact(lambda: Decimal(x) ** Decimal(a) * Decimal(x).ln())])


@pytest.mark.parametrize("x", MAGNITUDES)
def test_log_sqrt_and_division_rules_at_extreme_magnitudes(x):
    _check_grads(lambda v: v.log(), [x], [_exact(lambda: 1 / Decimal(x))])
    _check_grads(lambda v: v.sqrt(), [x], [_exact(lambda: 1 / (2 * Decimal(x).sqrt()))])
    for y in MAGNITUDES:
        exact_out = _exact(lambda y=y: Decimal(x) / Decimal(y))
        if abs(exact_out) > Decimal("1.7976931348623157e308"):
            with pytest.raises(RangeError):
                Value(x) / Value(y)
            continue
        _check_grads(lambda a, b: a / b, [x, y], [_exact(lambda y=y: 1 / Decimal(y)),
                                                  _exact(lambda y=y: -Decimal(x) / Decimal(y) ** 2)])


# ----- compile follows the same policy ------------------------------------------------------------------------------

def test_compile_raises_where_eager_raises():
    with pytest.raises(RangeError, match=r"\*"):
        autodiff.compile(lambda p: p[0] * 1e308 * 10)([1.0])
    step = autodiff.compile(lambda p: (-(p[0] * p[1])).relu() + p[0])  # the overflow is hidden by relu
    assert step([2.0, 3.0]) == (2.0, [1.0, 0.0])
    with pytest.raises(RangeError, match=r"\*"):
        step([1e200, 1e200])
    log = autodiff.compile(lambda p: p[0].log())
    assert log([1.0]) == (0.0, [1.0])
    with pytest.raises(RangeError, match="log"):
        log([1e-320])
    sqrt = autodiff.compile(lambda p: p[0].sqrt())
    sqrt([4.0])
    with pytest.raises(DomainError, match="infinite"):
        sqrt([0.0])


def test_compile_propagates_user_infinities_like_eager():
    step = autodiff.compile(lambda p, x: (p[0] * x).exp() + p[1] * x)
    assert step([1.0, 2.0], 1.0) == (math.exp(1.0) + 2.0, [math.exp(1.0), 1.0])
    for params, x in [([INF, 2.0], 1.0), ([1.0, 2.0], -INF), ([NAN, 1.0], 2.0)]:
        value, grads = step(params, x)
        leaves = [Value(p) for p in params]
        out = (leaves[0] * x).exp() + leaves[1] * x
        out.backward()
        assert same(value, out.data) and all(same(g, v.grad) for g, v in zip(grads, leaves))


def test_compile_keeps_the_policy_when_another_input_is_not_finite():
    # an inf in one parameter does not excuse an overflow from finite operands elsewhere
    step = autodiff.compile(lambda p: p[0] * p[0] + p[1])
    assert step([1.0, 1.0]) == (2.0, [2.0, 1.0])
    with pytest.raises(RangeError, match=r"\*\(1e\+200, 1e\+200\)"):
        step([1e200, INF])
    hidden = autodiff.compile(lambda p: (p[1] / 1e-160).tanh() + p[0] * 0)
    hidden([1.0, 1.0])
    with pytest.raises(RangeError, match="/"):
        hidden([INF, 1e300])  # tanh hides the overflow in the loss; the check does not


@pytest.mark.parametrize("fn, point", [(lambda p: INF / p[0], [0.0]), (lambda p: (-INF) ** p[0], [0.0]),
                                       (lambda p: p[0] * Value(INF) / p[1], [0.0, 0.0])],
                         ids=["inf / 0", "-inf ** p", "inf Value"])
def test_compile_with_non_finite_constants_gives_the_eager_ieee_result(fn, point):
    step = autodiff.compile(fn)
    value, grads = step(point)
    leaves = [Value(x) for x in point]
    out = fn(leaves)
    out.backward()
    assert same(value, out.data) and all(same(g, v.grad) for g, v in zip(grads, leaves))


def test_compile_errors_show_the_engine_error_alone():
    step = autodiff.compile(lambda p: p[0] ** 2)
    step([1.0])
    with pytest.raises(RangeError) as info:
        step([1e200])
    import traceback
    text = "".join(traceback.format_exception(info.value))
    assert "(34, 'Numerical result out of range')" not in text and "During handling" not in text, text
    assert text.count("RangeError") == 1


def test_a_primitive_returning_a_huge_int_is_a_range_error_naming_it():
    huge = primitive(lambda x: 1.0)(lambda x: 10 ** 400)
    with pytest.raises(RangeError, match="huge|<lambda>"):
        huge(Value(1.0))
    steep_int = primitive(lambda x: 10 ** 400)(lambda x: x)
    with pytest.raises(RangeError, match="derivative"):
        steep_int(Value(1.0)).backward()
