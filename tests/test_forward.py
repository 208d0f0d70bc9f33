"""Forward mode, vjp, jacobian, hvp and containers of arguments: against torch.func in float64, against each other,
composed to higher orders, and their errors."""
import math
import random

import pytest
from hypothesis import given, settings

import autodiff
from autodiff import (GradcheckError, Value, grad, gradcheck, hessian, hvp, jacobian, jvp, primitive, value_and_grad,
                      vjp)
from programs import KINKED, UNARY, programs, run

FEW = settings(max_examples=60, deadline=None, derandomize=True)
ALL_UNARY = {**UNARY, **KINKED}


def outputs_of(steps, n_out=3):
    """The program's last n_out nodes, as a list-valued function (each times 1.0: never an input itself)."""
    def f(*xs):
        return [node * 1.0 for node in run(steps, list(xs), UNARY)[-n_out:]]
    return f


def torch_outputs_of(torch, steps, n_out=3):
    def f(*xs):
        return torch.stack([node * 1.0 for node in run(steps, list(xs), UNARY, torch)[-n_out:]])
    return f


def close(ours, theirs, rel=1e-9):
    return abs(ours - theirs) <= rel * max(1.0, abs(theirs))


def tensors(torch, xs):
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


def directions(xs, seed):
    rng = random.Random(seed)
    return tuple(rng.uniform(-1, 1) for _ in xs)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[test]'")


# ----- against torch.func ------------------------------------------------------------------------------------------

@FEW
@given(programs(UNARY))
def test_jvp_and_vjp_match_torch_func(torch, program):
    steps, xs = program
    f, tf = outputs_of(steps), torch_outputs_of(torch, steps)
    v = directions(xs, len(steps))
    value, tangent = jvp(f, tuple(xs), v)
    t_value, t_tangent = torch.func.jvp(tf, tensors(torch, xs), tensors(torch, v))
    assert all(close(a, b.item(), 1e-12) for a, b in zip(value, t_value))
    assert all(close(a, b.item()) for a, b in zip(tangent, t_tangent))

    out, vjp_fn = vjp(f, *xs)
    t_out, t_vjp = torch.func.vjp(tf, *tensors(torch, xs))
    u = [0.5, -1.25, 2.0][:len(out)]
    ours, theirs = vjp_fn(u), t_vjp(torch.tensor(u, dtype=torch.float64))
    assert all(close(a, b.item(), 1e-12) for a, b in zip(out, t_out))
    assert len(ours) == len(xs) and all(close(a, b.item()) for a, b in zip(ours, theirs))


@FEW
@given(programs(UNARY))
def test_jacobian_in_both_modes_matches_jacrev_and_jacfwd(torch, program):
    steps, xs = program
    f, tf = outputs_of(steps), torch_outputs_of(torch, steps)
    args = tensors(torch, xs)
    argnums = tuple(range(len(xs)))
    for mode, theirs in (("rev", torch.func.jacrev(tf, argnums=argnums)(*args)),
                         ("fwd", torch.func.jacfwd(tf, argnums=argnums)(*args))):
        ours = jacobian(f, argnums=argnums, mode=mode)(*xs)
        n_out = min(3, len(xs) + len(steps))
        assert len(ours) == n_out and all(len(row) == len(xs) for row in ours)
        for i in range(n_out):
            for j in range(len(xs)):
                assert close(ours[i][j], theirs[j][i].item()), (mode, i, j)


@FEW
@given(programs(UNARY))
def test_hessian_and_hvp_match_torch_func(torch, program):
    steps, xs = program
    f = outputs_of(steps, 1)
    scalar = lambda *a: f(*a)[0]  # noqa: E731
    tscalar = lambda *a: torch_outputs_of(torch, steps, 1)(*a)[0]  # noqa: E731
    args = tensors(torch, xs)
    argnums = tuple(range(len(xs)))
    theirs = torch.func.hessian(tscalar, argnums=argnums)(*args)
    ours = hessian(scalar, argnums=argnums)(*xs)
    for i in range(len(xs)):
        for j in range(len(xs)):
            assert close(ours[i][j], theirs[i][j].item())
    v = directions(xs, 7)
    t_grad = torch.func.grad(tscalar, argnums=argnums)
    t_hvp = torch.func.jvp(lambda *a: torch.stack(t_grad(*a)), args, tensors(torch, v))[1]
    assert all(close(a, b.item()) for a, b in zip(hvp(scalar)(tuple(xs), v), t_hvp))


# ----- forward equals reverse, and compositions ----------------------------------------------------------------------

@settings(max_examples=150, deadline=None, derandomize=True)
@given(programs(ALL_UNARY))
def test_forward_mode_equals_reverse_mode(program):
    steps, xs = program
    f = lambda *a: [n * 1.0 for n in run(steps, list(a), ALL_UNARY)[-2:]]  # noqa: E731
    every = tuple(range(len(xs)))
    rev, fwd = jacobian(f, every, mode="rev")(*xs), jacobian(f, every, mode="fwd")(*xs)
    for r, w in zip(rev, fwd):
        assert all(close(a, b, 1e-12) for a, b in zip(r, w))
    v = directions(xs, 3)
    _, tangent = jvp(f, tuple(xs), v)
    assert all(close(t, sum(r[j] * v[j] for j in range(len(xs))), 1e-12) for t, r in zip(tangent, rev))


def test_forward_over_reverse_and_reverse_over_forward_give_the_hessian():
    f = lambda x, y: (x * y).sin() + x ** 3 * y.exp()  # noqa: E731
    H = hessian(f, argnums=(0, 1))(0.7, -0.4)
    g = grad(f, argnums=(0, 1))
    for v in [(1.0, 0.0), (0.0, 1.0), (0.3, -2.0)]:
        fwd_over_rev = jvp(g, (0.7, -0.4), v)[1]
        rev_over_fwd = grad(lambda x, y, v=v: jvp(f, (x, y), v)[1], argnums=(0, 1))(0.7, -0.4)
        exact = [H[i][0] * v[0] + H[i][1] * v[1] for i in range(2)]
        assert fwd_over_rev == pytest.approx(exact, rel=1e-12) and rev_over_fwd == pytest.approx(exact, rel=1e-12)
        assert hvp(f)((0.7, -0.4), v) == pytest.approx(exact, rel=1e-12)


def test_forward_mode_composes_with_itself_to_any_order():
    f = lambda x: x.sin() * x ** 2  # noqa: E731

    def d(g):  # the derivative by forward mode alone
        return lambda x: jvp(g, (x,), (1.0,))[1]

    x = 0.8
    exact = [math.sin(x) * x ** 2, math.cos(x) * x ** 2 + 2 * x * math.sin(x),
             -math.sin(x) * x ** 2 + 4 * x * math.cos(x) + 2 * math.sin(x),
             -math.cos(x) * x ** 2 - 6 * x * math.sin(x) + 6 * math.cos(x)]
    g = f
    for k in range(1, 4):
        g = d(g)
        assert g(x) == pytest.approx(exact[k], rel=1e-12), k
        assert grad(d(f))(x) == pytest.approx(exact[2], rel=1e-12)  # reverse over forward, too


def test_perturbations_are_not_confused_across_modes():
    # JAX's answers: a jvp inside grad over a closed-over x, and a jvp inside a jvp
    assert grad(lambda x: jvp(lambda y: x * y, (1.0,), (1.0,))[1])(3.0) == 1.0
    assert jvp(lambda x: x * jvp(lambda y: x + y, (1.0,), (1.0,))[1], (1.0,), (1.0,))[1] == 1.0
    assert jvp(lambda x: grad(lambda y: x * y)(2.0), (5.0,), (1.0,))[1] == 1.0


def test_forward_mode_uses_a_primitives_own_derivative():
    calls = []

    def slope(t):
        calls.append(t)
        return 3 * t ** 2

    @primitive(slope)
    def cube(t):
        return t ** 3

    assert jvp(lambda x: cube(x) * 2.0, (1.5,), (1.0,)) == (6.75, pytest.approx(13.5))
    assert calls  # forward mode read the primitive's derivative, not differences
    assert grad(lambda x: jvp(cube, (x,), (1.0,))[1])(1.5) == pytest.approx(9.0)  # 6x, through slope's graph


# ----- containers and argnums ---------------------------------------------------------------------------------------

def _loss(p, data):
    w, b = p["w"], p["b"]
    return sum((w[0] * x0 + w[1] * x1 + b[0] - y) ** 2 for (x0, x1), y in data)


P = {"w": [0.5, -0.25], "b": (0.1,)}
DATA = [((1.0, 2.0), 0.3), ((-1.0, 0.5), 1.0)]


def _flat_grad():
    return grad(lambda w0, w1, b: _loss({"w": [w0, w1], "b": (b,)}, DATA), argnums=(0, 1, 2))(0.5, -0.25, 0.1)


def test_gradients_come_back_in_the_arguments_structure():
    flat = _flat_grad()
    g = grad(_loss)(P, DATA)
    assert g == {"w": [pytest.approx(flat[0]), pytest.approx(flat[1])], "b": (pytest.approx(flat[2]),)}
    assert type(g["b"]) is tuple and list(g) == ["w", "b"]
    value, g2 = value_and_grad(_loss)(P, DATA)
    assert value == pytest.approx(_loss({"w": [Value(0.5), Value(-0.25)], "b": (Value(0.1),)}, DATA).data) and g2 == g
    nested = grad(lambda a: a[0][0] * a[1]["k"][1])([[2.0], {"k": [0.0, 3.0]}])
    assert nested == [[3.0], {"k": [0.0, 2.0]}]


def test_containers_in_jvp_vjp_jacobian_hessian_compile_and_gradcheck():
    flat = _flat_grad()
    value, tangent = jvp(_loss, (P, DATA), ({"w": [1.0, 0.0], "b": (0.0,)}, [((0.0, 0.0), 0.0)] * 2))
    assert tangent == pytest.approx(flat[0])
    out, vjp_fn = vjp(lambda p: [p["w"][0] * p["b"][0], p["w"][1]], P)
    assert vjp_fn([1.0, 1.0]) == ({"w": [0.1, 1.0], "b": (0.5,)},)
    row = jacobian(_loss, argnums=0, mode="fwd")(P, DATA)  # a scalar loss: the argument's structure
    assert row == {"w": [pytest.approx(flat[0]), pytest.approx(flat[1])], "b": (pytest.approx(flat[2]),)}
    assert jacobian(_loss, argnums=0)(P, DATA) == jacobian(_loss, argnums=0, mode="fwd")(P, DATA)
    H = hessian(lambda p: p["a"] ** 2 * p["b"])({"a": 1.0, "b": 2.0})
    assert H == {"a": {"a": 4.0, "b": 2.0}, "b": {"a": 2.0, "b": 0.0}}  # as JAX's hessian of a dict argument
    step = autodiff.compile(_loss)
    loss, g = step(P, [[list(x), y] for x, y in DATA])
    assert g == {"w": [pytest.approx(flat[0]), pytest.approx(flat[1])], "b": (pytest.approx(flat[2]),)}
    assert step({"w": [0.5, -0.25], "b": (0.1,)}, [[list(x), y] for x, y in DATA])[1] == g  # replayed
    assert gradcheck(_loss, [P, DATA], modes=("rev", "fwd"), order=2)


def test_argnums_pick_the_jacobians_columns():
    f = lambda x, y, z: [x * y * z, x + z]  # noqa: E731
    full = jacobian(f, argnums=(0, 1, 2))(2.0, 3.0, 5.0)  # as JAX: f's list of outputs, each a tuple per argnum
    assert full == [(15.0, 10.0, 6.0), (1.0, 0.0, 1.0)]
    assert jacobian(f)(2.0, 3.0, 5.0) == [15.0, 1.0]  # argnums=0 by default: one number per output
    assert jacobian(f, argnums=1)(2.0, 3.0, 5.0) == [10.0, 0.0]
    assert jacobian(f, argnums=(2, 0), mode="fwd")(2.0, 3.0, 5.0) == [(6.0, 15.0), (1.0, 1.0)]
    assert jacobian(f, argnums=-1)(2.0, 3.0, 5.0) == [6.0, 1.0]
    assert jacobian(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0) == (3.0, 2.0)  # a Value-returning f: a tuple
    assert jacobian(lambda x, y: {"p": x * y, "s": (x + y, x)})(2.0, 3.0) == {"p": 3.0, "s": (1.0, 1.0)}


# ----- errors -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,)), ValueError, ["2 primal", "1 tangent"]),
    (lambda: jvp(lambda p: p[0], ([1.0, 2.0],), ([1.0],)), ValueError, ["tangent 0", "list of 1", "list of 2"]),
    (lambda: jvp(lambda p: p["a"], ({"a": 1.0},), ({"b": 1.0},)), ValueError, ["tangent 0", "'b'", "'a'"]),
    (lambda: jvp(lambda x: x, 1.0, 1.0), TypeError, ["primals", "tuple"]),
    (lambda: jvp(lambda x: x, (1.0,), ("a",)), TypeError, ["tangent 0"]),
    (lambda: grad(lambda x: [x, x])(1.0), TypeError, ["scalar", "jacobian"]),
    (lambda: vjp(lambda x: [x, x], 1.0)[1](1.0), ValueError, ["cotangent", "a number", "list of 2"]),
    (lambda: jacobian(lambda x: x, mode="forward")(1.0), ValueError, ["mode", "'rev'", "'fwd'"]),
    (lambda: grad(lambda p: p[0])(["a"]), TypeError, ["argument 0[0]", "str"]),
    (lambda: hvp(lambda x: x * x)((), ()), ValueError, ["empty"]),
    (lambda: gradcheck(lambda x: x, [1.0], modes=("reverse",)), ValueError, ["modes"]),
])
def test_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_gradcheck_catches_a_wrong_derivative_in_each_mode():
    @primitive(lambda t: 2 * t ** 2)  # wrong on purpose: 3 t^2
    def cube(t):
        return t ** 3

    for modes in (("rev",), ("fwd",), ("rev", "fwd")):
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: [cube(x) * y, y * 2.0], [1.5, 0.5], modes=modes)
        names = [row[0] for row in info.value.rows]
        assert names == [f"output[0], 0{' [fwd]' if m == 'fwd' else ''}" for m in modes], names
    with pytest.raises(GradcheckError, match=r"\[fwd\]"):
        gradcheck(lambda x: cube(x), [1.5], modes=("fwd",))

    @primitive(lambda t: 3 * t ** 2)  # right first derivative, made of a wrong formula for the second
    def cube2(t):
        return t ** 3

    assert gradcheck(lambda x: cube2(x), [1.5], modes=("rev", "fwd"), order=2)


def test_a_cotangent_or_tangent_that_is_a_value_is_differentiated_through():
    out, vjp_fn = vjp(lambda y: y * y * y, 2.0)
    assert grad(lambda c: vjp_fn(c)[0])(3.0) == 12.0  # as torch.func: d/dc (c * 3 y^2)
    assert grad(lambda c: vjp_fn(c)[0] * c)(3.0) == 72.0
    assert jvp(lambda c: vjp_fn(c)[0], (3.0,), (1.0,)) == (36.0, 12.0)
    assert isinstance(grad(lambda x, d: x * d[0])(2.0, [Value(3.0)]), Value)  # a Value in a container counts


def test_dict_keys_of_a_tangent_or_cotangent_may_come_in_any_order():
    f = lambda p: p["a"] * p["b"]  # noqa: E731
    assert jvp(f, ({"a": 2.0, "b": 3.0},), ({"b": 0.0, "a": 1.0},)) == (6.0, 3.0)
    out, vjp_fn = vjp(lambda p: {"u": p * 2.0, "v": p * 3.0}, 1.0)
    assert vjp_fn({"v": 1.0, "u": 0.0}) == (3.0,)


def test_errors_name_the_function_that_was_called():
    with pytest.raises(TypeError, match="^hvp: .*scalar"):
        hvp(lambda x: [x, x])((1.0,), (1.0,))
    with pytest.raises(TypeError, match="^value_and_grad: "):
        value_and_grad(lambda x: [x])(1.0)
    with pytest.raises(TypeError, match="result.* is a str 'a'; results must be"):
        jvp(lambda x: [x, "a"], (1.0,), (1.0,))
    with pytest.raises(TypeError, match="is an ndarray|is a set"):
        grad(lambda x: x)({1.0})


def test_gradcheck_names_rows_by_labels_and_output_keys_and_refuses_nothing_to_check():
    @primitive(lambda t: 2 * t ** 2)  # wrong on purpose
    def cube(t):
        return t ** 3

    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda p: {"y": cube(p[1]) + p[0]}, [[Value(0.5, label="a"), Value(1.5, label="w")]])
    assert [row[0] for row in info.value.rows] == ["output['y'], 0[1] (w)"]
    with pytest.raises(ValueError, match="no numbers"):
        gradcheck(lambda p: 1.0, [[]])
