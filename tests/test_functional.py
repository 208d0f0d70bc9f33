"""grad, value_and_grad and hessian: known derivatives to any order, composition, and leaving .grad alone."""
import math

import pytest

import autodiff
from autodiff import Value, grad, hessian, no_grad, primitive, value_and_grad


def nth(f, n):
    for _ in range(n):
        f = grad(f)
    return f


@pytest.mark.parametrize("x", [-1.5, 0.5, 2.0])
@pytest.mark.parametrize("n, expected", [
    (0, lambda x: x ** 3), (1, lambda x: 3 * x ** 2), (2, lambda x: 6 * x), (3, lambda x: 6.0), (4, lambda x: 0.0),
])
def test_cube_to_every_order(n, expected, x):
    assert nth(lambda t: t ** 3, n)(x) == pytest.approx(expected(x), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("n", range(9))
def test_sin_derivatives_cycle(n):
    x = 0.7
    cycle = [math.sin, math.cos, lambda t: -math.sin(t), lambda t: -math.cos(t)]
    assert nth(autodiff.sin, n)(x) == pytest.approx(cycle[n % 4](x), rel=1e-12)


@pytest.mark.parametrize("x, y", [(0.3, 0.4), (-1.0, 2.0), (1.5, -0.5)])
def test_exp_cos_gradient_and_hessian(x, y):
    f = lambda a, b: a.exp() * b.cos()  # noqa: E731
    ex = math.exp(x)
    assert grad(f, argnums=(0, 1))(x, y) == pytest.approx((ex * math.cos(y), -ex * math.sin(y)), rel=1e-12)
    expected = [[ex * math.cos(y), -ex * math.sin(y)], [-ex * math.sin(y), -ex * math.cos(y)]]
    h = hessian(f, argnums=(0, 1))(x, y)
    for row, want in zip(h, expected):
        assert row == pytest.approx(want, rel=1e-12)
    # a third mixed derivative through composition: d/dx of d2f/dy2 = -e^x cos y
    d3 = grad(lambda a, b: grad(grad(f, 1), 1)(a, b), 0)(x, y)
    assert d3 == pytest.approx(-ex * math.cos(y), rel=1e-12)


def rosenbrock(*xs):
    return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(len(xs) - 1))


def rosenbrock_hessian(xs):
    n = len(xs)
    h = [[0.0] * n for _ in range(n)]
    for i in range(n - 1):
        h[i][i] += 1200 * xs[i] ** 2 - 400 * xs[i + 1] + 2
        h[i][i + 1] += -400 * xs[i]
        h[i + 1][i] += -400 * xs[i]
        h[i + 1][i + 1] += 200
    return h


@pytest.mark.parametrize("xs", [[1.0, 1.0], [-1.2, 1.0], [0.5, -0.3, 2.0, 1.1]])
def test_rosenbrock_hessian_matches_the_analytic_one(xs):
    got = hessian(rosenbrock, argnums=tuple(range(len(xs))))(*xs)
    want = rosenbrock_hessian(xs)
    assert len(got) == len(xs) and all(len(row) == len(xs) for row in got)
    for g_row, w_row in zip(got, want):
        assert g_row == pytest.approx(w_row, rel=1e-12, abs=1e-9)
        assert all(type(v) is float for v in g_row)


def test_floats_in_floats_out_and_argnums():
    f = lambda x, y, z: x * y + z ** 2  # noqa: E731
    assert type(grad(f)(1.0, 2.0, 3.0)) is float
    assert grad(f)(1.0, 2.0, 3.0) == 2.0
    assert grad(f, argnums=2)(1.0, 2.0, 3.0) == 6.0
    assert grad(f, argnums=-1)(1.0, 2.0, 3.0) == 6.0
    assert grad(f, argnums=(0, 2))(1.0, 2.0, 3.0) == (2.0, 6.0)
    assert grad(lambda x: x * x)(3) == 6.0  # ints are numbers too
    value, g = value_and_grad(f, argnums=(1,))(1.0, 2.0, 3.0)
    assert (value, g) == (11.0, (1.0,)) and type(value) is float


def test_keyword_arguments_pass_through():
    f = lambda x, scale=1.0: scale * x * x  # noqa: E731
    assert grad(f)(3.0, scale=2.0) == 12.0


def test_constant_and_unrelated_functions_have_zero_gradient():
    assert grad(lambda x: 5.0)(2.0) == 0.0
    w = Value(3.0)
    assert grad(lambda x: w * 2)(2.0) == 0.0
    assert grad(lambda x, y: x * 2, argnums=1)(1.0, 4.0) == 0.0
    assert hessian(lambda x, y: x + y, argnums=(0, 1))(1.0, 2.0) == ((0.0, 0.0), (0.0, 0.0))
    assert hessian(lambda x, y: x * x * y)(1.0, 2.0) == 4.0  # argnums=0, as in JAX


def test_user_values_keep_their_grad():
    w = Value(2.0)
    w.grad = 5.0
    x = Value(3.0)
    x.grad = 7.0
    f = lambda t: (t * w).exp() + w * w * t  # noqa: E731
    grad(f)(1.0)
    value_and_grad(f)(1.0)
    hessian(lambda a, b: a * b * w)(1.0, 2.0)
    g = grad(f)(x)  # a Value in: a differentiable Value out
    assert isinstance(g, Value)
    assert (w.grad, x.grad) == (5.0, 7.0)
    assert g.data == pytest.approx(2 * math.exp(6.0) + 4.0)


def test_grad_of_a_value_is_differentiable_with_backward():
    x = Value(2.0)
    dfdx = grad(lambda t: t ** 3)(x)  # 3 x^2, a Value that depends on x
    dfdx.backward()
    assert dfdx.data == 12.0 and x.grad == 12.0  # d/dx 3x^2 = 6x


def test_no_perturbation_confusion():
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1, not 2
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0
    # an inner grad called with a number still depends on the outer variable it closes over
    assert grad(lambda x: grad(lambda y: x * y)(2.0))(3.0) == 1.0
    assert grad(lambda x: grad(lambda y: x * y * y)(2.0))(3.0) == 4.0


def test_grad_works_under_no_grad():
    with no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0
        assert hessian(lambda x: x ** 3)(2.0) == 12.0


def test_user_primitive_to_every_order():
    @primitive(lambda x: 3 * x ** 2)
    def cube(x):
        return x ** 3

    assert [nth(cube, n)(2.0) for n in range(4)] == [8.0, 12.0, 12.0, 6.0]


@pytest.mark.parametrize("call, error, words", [
    (lambda: grad(lambda x: [x, x])(1.0), TypeError, ["grad", "list"]),
    (lambda: grad(lambda x: x, argnums=1)(1.0), ValueError, ["argnums", "1"]),
    (lambda: grad(lambda x: x, argnums=(0, 0))(1.0), ValueError, ["twice"]),
    (lambda: grad(lambda x: x, argnums="0"), TypeError, ["argnums"]),
    (lambda: grad(lambda x: x)("a"), TypeError, ["grad", "argument 0", "str"]),
    (lambda: hessian(lambda x: x)([1.0]), TypeError, ["hessian", "list"]),
], ids=["non-scalar", "out-of-range", "duplicate", "argnums-type", "bad-arg", "hessian-list"])
def test_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_module_functions_inside_grad():
    assert grad(autodiff.exp)(1.0) == pytest.approx(math.e, rel=1e-15)
    assert grad(grad(autodiff.sigmoid))(0.0) == pytest.approx(0.0, abs=1e-15)
    assert grad(grad(autodiff.tanh))(0.5) == pytest.approx(-2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2))
    assert grad(lambda x: autodiff.leaky_relu(x, 0.2))(-1.0) == 0.2
