"""Every op: its value against `math`, its local derivatives against central differences, its errors."""
import math
from fractions import Fraction

import pytest

import autodiff
from autodiff import Value

H = 1e-6


def central(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(b))


# (name, the op on a Value, the same function in plain math, points away from kinks)
UNARY = [
    ("neg",          lambda x: -x,                lambda x: -x,                        [-1.5, 0.0, 2.0]),
    ("abs",          abs,                         abs,                                 [-1.5, 0.7]),
    ("exp",          lambda x: x.exp(),           math.exp,                            [-3.0, 0.0, 2.5]),
    ("log",          lambda x: x.log(),           math.log,                            [0.1, 1.0, 5.0]),
    ("sqrt",         lambda x: x.sqrt(),          math.sqrt,                           [0.25, 2.0, 9.0]),
    ("tanh",         lambda x: x.tanh(),          math.tanh,                           [-3.0, -0.5, 0.0, 2.0]),
    ("sigmoid",      lambda x: x.sigmoid(),       lambda x: 1 / (1 + math.exp(-x)),    [-4.0, 0.0, 1.5]),
    ("relu",         lambda x: x.relu(),          lambda x: max(x, 0.0),               [-2.0, 0.5, 3.0]),
    ("leaky_relu",   lambda x: x.leaky_relu(),    lambda x: x if x > 0 else 0.01 * x,  [-2.0, 0.5]),
    ("leaky_relu.2", lambda x: x.leaky_relu(0.2), lambda x: x if x > 0 else 0.2 * x,   [-2.0, 0.5]),
    ("sin",          lambda x: x.sin(),           math.sin,                            [-1.0, 0.0, 2.0]),
    ("cos",          lambda x: x.cos(),           math.cos,                            [-1.0, 0.0, 2.0]),
    ("x**3",         lambda x: x ** 3,            lambda x: x ** 3,                    [-2.0, 0.5, 1.5]),
    ("x**-2",        lambda x: x ** -2,           lambda x: x ** -2,                   [-1.5, 0.5]),
    ("x**0.5",       lambda x: x ** 0.5,          lambda x: x ** 0.5,                  [0.3, 2.0]),
    ("x**0",         lambda x: x ** 0,            lambda x: 1.0,                       [-1.0, 2.0]),
    ("2**x",         lambda x: 2 ** x,            lambda x: 2 ** x,                    [-1.0, 0.5, 3.0]),
    ("x+2",          lambda x: x + 2,             lambda x: x + 2,                     [1.0]),
    ("2-x",          lambda x: 2 - x,             lambda x: 2 - x,                     [1.0]),
    ("x-2",          lambda x: x - 2,             lambda x: x - 2,                     [1.0]),
    ("3*x",          lambda x: 3 * x,             lambda x: 3 * x,                     [1.5]),
    ("x/4",          lambda x: x / 4,             lambda x: x / 4,                     [1.5]),
    ("4/x",          lambda x: 4 / x,             lambda x: 4 / x,                     [1.5, -0.5]),
]

BINARY = [
    ("+",        lambda x, y: x + y,   lambda x, y: x + y,   [(1.5, -2.0), (0.0, 3.0)]),
    ("-",        lambda x, y: x - y,   lambda x, y: x - y,   [(1.5, -2.0)]),
    ("*",        lambda x, y: x * y,   lambda x, y: x * y,   [(1.5, -2.0), (0.0, 3.0)]),
    ("/",        lambda x, y: x / y,   lambda x, y: x / y,   [(1.5, -2.0), (0.0, 3.0)]),
    ("**",       lambda x, y: x ** y,  math.pow,             [(1.5, 2.5), (0.5, -1.2), (3.0, 0.0)]),
    ("leaky",    lambda x, s: x.leaky_relu(s), lambda x, s: x if x > 0 else s * x, [(-2.0, 0.1), (1.0, 0.3)]),
]

UNARY_CASES = [(name, f, ref, x) for name, f, ref, xs in UNARY for x in xs]
BINARY_CASES = [(name, f, ref, x, y) for name, f, ref, pts in BINARY for x, y in pts]


@pytest.mark.parametrize("name, f, ref, x", UNARY_CASES, ids=[f"{c[0]}@{c[3]}" for c in UNARY_CASES])
def test_unary_value_and_derivative(name, f, ref, x):
    v = Value(x)
    out = f(v)
    assert isinstance(out, Value)
    assert close(out.data, ref(x), 1e-12)
    out.backward()
    assert close(v.grad, central(ref, x)), (v.grad, central(ref, x))


@pytest.mark.parametrize("name, f, ref, x, y", BINARY_CASES, ids=[f"{c[0]}@{c[3]},{c[4]}" for c in BINARY_CASES])
def test_binary_value_and_derivatives(name, f, ref, x, y):
    a, b = Value(x), Value(y)
    out = f(a, b)
    assert out.parents == (a, b) or name == "leaky" and out.parents[0] is a
    assert close(out.data, ref(x, y), 1e-12)
    out.backward()
    assert close(a.grad, central(lambda t: ref(t, y), x))
    assert close(b.grad, central(lambda t: ref(x, t), y))


MODULE_FUNCS = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos"]


@pytest.mark.parametrize("name", MODULE_FUNCS)
@pytest.mark.parametrize("x", [0.5, 2.0])
def test_module_functions_take_floats_and_values(name, x):
    f = getattr(autodiff, name)
    on_float = f(x)
    assert type(on_float) is float
    on_value = f(Value(x))
    assert isinstance(on_value, Value) and on_value.op == name
    assert on_value.data == on_float == getattr(Value(x), name)().data


def test_module_leaky_relu_and_slope():
    assert autodiff.leaky_relu(-2.0) == pytest.approx(-0.02)
    assert autodiff.leaky_relu(-2.0, 0.5) == -1.0
    assert autodiff.leaky_relu(Value(-2.0), slope=0.5).data == -1.0


def test_integer_and_numpy_inputs_become_floats():
    np = pytest.importorskip("numpy", reason="numpy is not installed")
    for x in [3, np.float64(2.5), np.float32(1.5), np.int64(4), Fraction(1, 4), -0.0]:
        v = Value(x)
        assert type(v.data) is float and v.data == float(x)
    out = np.float64(2.0) * Value(3.0)  # numpy defers to Value instead of making an object array
    assert isinstance(out, Value) and out.data == 6.0
    out = np.float64(2.0) - Value(3.0)
    assert isinstance(out, Value) and out.data == -1.0


# ----- stability -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [-1000.0, -710.0, -50.0, 0.0, 50.0, 710.0, 1000.0, 1e308, -1e308])
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_are_finite_with_finite_gradients_everywhere(name, x):
    v = Value(x)
    out = getattr(v, name)()
    out.backward()
    assert math.isfinite(out.data) and math.isfinite(v.grad)
    lo = 0.0 if name == "sigmoid" else -1.0
    assert lo <= out.data <= 1.0


def test_sigmoid_tails_are_accurate():
    assert autodiff.sigmoid(-710.0) == pytest.approx(math.exp(-710.0), rel=1e-12)
    assert autodiff.sigmoid(-30.0) == pytest.approx(1 / (1 + math.exp(30.0)), rel=1e-14)
    assert autodiff.sigmoid(40.0) == 1.0


# ----- domain errors ---------------------------------------------------------------------------------------------

DOMAIN = [
    ("log of 0",            lambda: Value(0.0).log(),              ValueError,    ["log", "0.0"]),
    ("log of negative",     lambda: Value(-2.0).log(),             ValueError,    ["log", "-2.0", "positive"]),
    ("log of 0 (float)",    lambda: autodiff.log(0.0),             ValueError,    ["log", "0.0"]),
    ("sqrt of negative",    lambda: Value(-1.0).sqrt(),            ValueError,    ["sqrt", "-1.0"]),
    ("sqrt (float)",        lambda: autodiff.sqrt(-4),             ValueError,    ["sqrt", "-4"]),
    ("divide by 0",         lambda: Value(1.0) / 0,                ValueError,    ["/", "1.0", "zero"]),
    ("divide by Value 0",   lambda: 3.0 / Value(0.0),              ValueError,    ["/", "3.0", "zero"]),
    ("0 ** -1",             lambda: Value(0.0) ** -1,              ValueError,    ["**", "0.0", "-1"]),
    ("0 ** Value(-2)",      lambda: Value(0.0) ** Value(-2.0),     ValueError,    ["**", "0.0", "-2.0"]),
    ("neg ** 1/3",          lambda: Value(-8.0) ** (1 / 3),        ValueError,    ["**", "-8.0", "non-integer"]),
    ("neg ** Value",        lambda: Value(-2.0) ** Value(2.0),     ValueError,    ["**", "-2.0", "Value"]),
    ("neg number ** Value", lambda: (-2) ** Value(2.0),            ValueError,    ["**", "-2.0"]),
    ("exp overflow",        lambda: Value(1000.0).exp(),           OverflowError, ["exp", "1000.0"]),
    ("exp overflow float",  lambda: autodiff.exp(710),             OverflowError, ["exp", "710"]),
    ("pow overflow",        lambda: Value(1e200) ** 2,             OverflowError, ["**", "1e+200"]),
]


@pytest.mark.parametrize("what, call, error, words", DOMAIN, ids=[d[0] for d in DOMAIN])
def test_domain_errors_name_the_op_and_operand(what, call, error, words):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) not in (ZeroDivisionError, ArithmeticError)
    assert "math domain error" != str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("make, words", [
    (lambda x: x.sqrt(), ["sqrt", "0.0", "derivative"]),     # sqrt'(0) is infinite
    (lambda x: x ** 0.5, ["**", "0.0", "derivative"]),
], ids=["sqrt", "pow"])
def test_derivative_undefined_at_a_point_is_a_clear_error(make, words):
    x = Value(0.0)
    out = make(x)
    assert out.data == 0.0
    with pytest.raises(ValueError) as info:
        out.backward()
    for word in words:
        assert word in str(info.value)


def test_kinks_use_pytorch_conventions():
    for f, expected in [(lambda x: x.relu(), 0.0), (abs, 0.0), (lambda x: x.leaky_relu(0.1), 0.1)]:
        x = Value(0.0)
        f(x).backward()
        assert x.grad == expected
    x = Value(0.0)
    (x ** 2).backward()
    assert x.grad == 0.0
    x, y = Value(0.0), Value(2.0)
    (x ** y).backward()
    assert (x.grad, y.grad) == (0.0, 0.0)


# ----- type errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, typename", [
    (True, "bool"), ("1.0", "str"), (None, "NoneType"), (1j, "complex"), ([1.0], "list"), ((1.0,), "tuple"),
    ({"a": 1}, "dict"), (Value(1.0), "Value"),
], ids=["bool", "str", "None", "complex", "list", "tuple", "dict", "Value"])
def test_value_rejects_non_real_data_naming_the_type(bad, typename):
    with pytest.raises(TypeError, match=typename):
        Value(bad)


@pytest.mark.parametrize("call, words", [
    (lambda: Value(1.0) + "a", ["+", "str"]),
    (lambda: "a" + Value(1.0), ["+", "str"]),
    (lambda: Value(1.0) * None, ["*", "NoneType"]),
    (lambda: [1] - Value(1.0), ["-", "list"]),
    (lambda: Value(1.0) / 2j, ["/", "complex"]),
    (lambda: Value(1.0) ** "2", ["**", "str"]),
    (lambda: Value(1.0) + True, ["+", "bool"]),
    (lambda: autodiff.exp("1"), ["exp", "str"]),
    (lambda: autodiff.tanh(None), ["tanh", "NoneType"]),
    (lambda: Value(1.0, label=3), ["label", "int"]),
    (lambda: Value(1.0).backward(grad="1"), ["backward", "str"]),
], ids=["add-str", "radd-str", "mul-None", "rsub-list", "div-complex", "pow-str", "add-bool", "exp-str", "tanh-None",
        "label", "seed"])
def test_bad_operands_are_type_errors_naming_the_op(call, words):
    with pytest.raises(TypeError) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_huge_int_is_a_clear_overflow():
    with pytest.raises(OverflowError, match="Value"):
        Value(10 ** 400)


@pytest.mark.parametrize("x, y", [(1.0, 2e154), (1e-300, 1e-160), (3.0, 1e300), (1e154, 1e154), (1e160, 1e160),
                                  (-2.5, 1e-150), (7.0, -3e200)])
def test_division_gradients_at_extreme_magnitudes_are_exact(x, y):
    # d(x/y)/dy = -x / y**2: written as -(x / y) / y, so that y**2 cannot overflow or underflow on its own
    a, b = Value(x), Value(y)
    (a / b).backward()
    exact_dx = float(1 / Fraction(y))
    exact_dy = float(-Fraction(x) / Fraction(y) ** 2)
    assert a.grad == pytest.approx(exact_dx, rel=1e-15)
    assert b.grad == pytest.approx(exact_dy, rel=1e-15, abs=1e-320)
    step = autodiff.compile(lambda p: p[0] / p[1])  # compile reads the same rule
    assert step([x, y])[1] == [a.grad, b.grad]


def test_softmax_of_huge_exponentials_backpropagates():
    a, b = Value(400.0), Value(401.0)
    ea, eb = a.exp(), b.exp()
    p = ea / (ea + eb)
    p.backward()
    s = 1 / (1 + math.exp(1.0))  # p = sigmoid(a - b), so dp/da = s (1 - s) = -dp/db
    assert a.grad == pytest.approx(s * (1 - s), rel=1e-12) and b.grad == pytest.approx(-s * (1 - s), rel=1e-12)
