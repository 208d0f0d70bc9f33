"""gradcheck passes on correct ops and catches planted wrong derivatives; primitive() defines ops that work everywhere."""
import math

import pytest

import autodiff
from autodiff import GradcheckError, Value, grad, gradcheck, hessian, primitive


@pytest.mark.parametrize("f, xs", [
    (lambda x: x * x, [3.0]),
    (lambda x, y: x * y.exp() - y / x, [2.0, 0.5]),
    (lambda x, y: (x ** y).log() + abs(x - y), [1.5, 2.5]),
    (lambda x, y, z: (x * y + z).tanh() * (z - x).sigmoid() + (y * y + 1).sqrt(), [0.3, -0.7, 1.1]),
    (lambda x: x.sin() * x.cos() + x.relu() + x.leaky_relu(0.3), [0.8]),
    (lambda x, y: 2 ** x + 3 / y - 1 - x ** -1.5, [0.5, 2.0]),
], ids=["square", "exp-div", "pow-log-abs", "tanh-sigmoid-sqrt", "trig-relu", "constants"])
@pytest.mark.parametrize("order", [1, 2])
def test_passes_on_correct_ops(f, xs, order):
    assert gradcheck(f, xs, order=order) is True


def test_catches_a_planted_wrong_derivative_with_a_table():
    @primitive(lambda x, y: y, lambda x, y: x + 1.0)  # d/dy is wrong: should be x
    def times(x, y):
        return x * y

    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: times(a, b), [2.0, 3.0])
    error = info.value
    assert isinstance(error, AssertionError)
    message = str(error)
    assert "1 of 2" in message
    for word in ["input", "analytic", "numeric", "abs error", "allowed"]:
        assert word in message
    assert [row[0] for row in error.rows] == ["1"]
    name, analytic, numeric, err, allowed = error.rows[0]
    assert analytic == 3.0 and numeric == pytest.approx(2.0, abs=1e-6) and err == pytest.approx(1.0, abs=1e-6)
    assert allowed == pytest.approx(1e-5 + 1e-3 * 2.0)
    assert "3" in message.splitlines()[2] and "1 " in message.splitlines()[2]


def test_table_is_worst_first_and_shows_labels():
    @primitive(lambda x: 1.1)  # off by 0.1
    def slightly(x):
        return x

    @primitive(lambda x: 5.0)  # off by 4
    def badly(x):
        return x

    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: slightly(a) + badly(b), [x, y])
    assert [row[0] for row in info.value.rows] == ["1 (y)", "0 (x)"]
    lines = str(info.value).splitlines()
    assert lines[2].lstrip().startswith("1 (y)") and lines[3].lstrip().startswith("0 (x)")
    assert (x.grad, y.grad) == (0.0, 0.0)  # gradcheck leaves the user's Values alone


def test_catches_a_rule_that_is_right_only_at_first_order():
    @primitive(lambda x: 3 * math.pow(x, 2))  # math.pow turns a Value into a float: the graph is cut
    def cube(x):
        return x ** 3

    assert gradcheck(cube, [1.5]) is True
    with pytest.raises(TypeError, match="cut it out of the graph"):  # not a silent 0 for every second derivative
        gradcheck(cube, [1.5], order=2)


def test_catches_a_rule_that_keeps_state_between_backward_passes():
    calls = []

    def drifting(x):
        calls.append(x)
        return 2 * x * len(calls)

    @primitive(drifting)
    def square(x):
        return x * x

    with pytest.raises(GradcheckError, match="two passes"):
        gradcheck(square, [1.0])


def test_a_nan_derivative_at_a_finite_point_is_an_error_naming_the_op():
    @primitive(lambda x: math.nan)
    def ident(x):
        return x

    with pytest.raises(autodiff.DomainError) as info:  # the non-finite policy: backward() itself refuses it
        gradcheck(ident, [1.0])
    assert "nan" in str(info.value) and "ident" in str(info.value)


def test_catches_nan_gradients_from_nan_inputs():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: x * y, [1.0, math.nan])
    assert "nan" in str(info.value)


def test_constant_function_passes():
    assert gradcheck(lambda x: Value(3.0), [1.0]) is True


@pytest.mark.parametrize("kwargs, error, word", [
    (dict(eps=0.0), ValueError, "eps"),
    (dict(atol=-1.0), ValueError, "atol"),
    (dict(order=3), ValueError, "order"),
], ids=["eps", "atol", "order"])
def test_bad_settings(kwargs, error, word):
    with pytest.raises(error, match=word):
        gradcheck(lambda x: x * x, [1.0], **kwargs)


@pytest.mark.parametrize("inputs, error", [("ab", TypeError), ([], ValueError), (["a"], TypeError), (3.0, TypeError)])
def test_bad_inputs(inputs, error):
    with pytest.raises(error, match="gradcheck"):
        gradcheck(lambda x: x * x, inputs)


def test_f_must_return_values_or_numbers():
    for bad in (lambda x: "x", lambda x: None, lambda x: [x, "y"]):
        with pytest.raises(TypeError, match="gradcheck"):
            gradcheck(bad, [1.0])
    assert gradcheck(lambda x: [x, x * x], [1.0])  # a list of outputs is checked output by output


# ----- primitive ---------------------------------------------------------------------------------------------------

def test_primitive_in_every_tool():
    @primitive(lambda x, y: y * x ** (y - 1), lambda x, y: x ** y * autodiff.log(x))
    def power(x, y):
        """x to the y."""
        return x ** y

    assert power.__name__ == "power" and power.__doc__ == "x to the y."
    assert power(2.0, 3.0) == 8.0
    x, y = Value(2.0), Value(3.0)
    out = power(x, y)
    assert out.op == "power" and out.parents == (x, y) and out.data == 8.0
    out.backward()
    assert (x.grad, y.grad) == (12.0, pytest.approx(8 * math.log(2)))
    assert grad(power, argnums=(0, 1))(2.0, 3.0) == (12.0, pytest.approx(8 * math.log(2)))
    assert hessian(power)(2.0, 3.0) == pytest.approx(12.0)
    assert gradcheck(power, [2.0, 3.0], order=2)
    mixed = power(x, 2)  # a number is a Constant input, like in the built-in ops
    assert mixed.parents[0] is x and mixed.parents[1].data == 2.0


def test_primitive_with_a_custom_name():
    op = primitive(lambda x: 1.0, name="shift")(lambda x: x + 1)
    assert op(Value(1.0)).op == "shift"


@pytest.mark.parametrize("make, words", [
    (lambda: primitive(lambda x: 1.0)(lambda x, y: x), ["2 input", "1 derivative"]),
    (lambda: primitive(lambda x: 1.0, lambda x: 1.0)(lambda x: x), ["1 input", "2 derivative"]),
    (lambda: primitive(3.0), ["derivative 0", "float"]),
], ids=["too-few", "too-many", "not-callable"])
def test_primitive_definition_errors(make, words):
    with pytest.raises(TypeError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_primitive_forward_errors_name_the_op():
    @primitive(lambda x: 1.0)
    def bad(x):
        return "oops"

    @primitive(lambda x: 1.0)
    def domain(x):
        return math.log(x)

    @primitive(lambda x: 1.0)
    def divide(x):
        return 1 / x

    with pytest.raises(TypeError, match="bad.*str"):
        bad(Value(1.0))
    with pytest.raises(ValueError, match=r"domain\(-1.0\).*math domain error"):
        domain(Value(-1.0))
    with pytest.raises(ValueError, match=r"divide\(0.0\)"):
        divide(0.0)


def test_primitive_derivative_that_returns_garbage_names_the_op():
    @primitive(lambda x: "one")
    def ident(x):
        return x

    for call in (lambda: ident(Value(1.0)).backward(), lambda: grad(ident)(1.0), lambda: grad(grad(ident))(1.0)):
        with pytest.raises(TypeError, match="ident.*derivative.*str"):
            call()


def test_primitive_derivative_errors_name_the_op():
    @primitive(lambda x: 1 / x)
    def odd(x):
        return x

    x = Value(0.0)
    out = odd(x)
    with pytest.raises(ValueError, match=r"odd\(0.0\).*derivative"):
        out.backward()


def test_leaves_the_grad_of_every_captured_value_as_it_found_it():
    import nn
    model = nn.MLP(2, [3, 1])
    params = model.parameters()
    params[0].grad = 0.5  # a grad the user has (half-way through accumulating, say)
    before = [(autodiff.grad_computed(p), p.grad) for p in params]
    w, b = Value(2.0), Value(1.0)
    assert gradcheck(lambda x, y: model([x, y])[0].tanh() * w + b, [0.3, -0.7], order=2)
    assert [(autodiff.grad_computed(p), p.grad) for p in params] == before
    assert not autodiff.grad_computed(w) and not autodiff.grad_computed(b)
