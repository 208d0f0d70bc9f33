"""compile cannot go stale: every decision a trace made from its numbers is a guard, taken again on every call,
and a call that decides otherwise gets a program of its own (compiled: bit for bit as eager; batched: each sample
as eager alone, to 1e-12)."""
import math
import random
import warnings

import pytest

import autodiff
from autodiff import Parameter, Value

np = pytest.importorskip("numpy", reason="the batched replay needs numpy: pip install -e '.[batch]'")
pytest.importorskip("array_api_compat", reason="the batched replay needs array-api-compat: pip install -e '.[batch]'")

ALPHA = 1.0  # a global number a compiled function reads


def _eager(fn, params, *data):
    for p in params:
        p.grad = 0.0
    loss = fn(*data)
    loss.backward()
    return loss.data, [p.grad for p in params]


def _compiled(step, params, *data):
    for p in params:
        p.grad = 0.0
    return step(*data), [p.grad for p in params]


def test_an_if_on_data_takes_the_other_branch_when_the_data_changes():
    p = Value(1.0)
    fn = lambda: p * p if p.data > 0 else -p * 3  # noqa: E731
    step = autodiff.compile(fn, [p])
    assert _compiled(step, [p]) == (1.0, [2.0])
    p.data = -1.0
    assert _compiled(step, [p]) == _eager(fn, [p]) == (3.0, [-3.0])
    p.data = 2.0
    assert _compiled(step, [p]) == (4.0, [4.0])
    assert repr(step).endswith("2 program(s)>")  # one per path, each kept


def test_a_global_number_changed_between_calls_is_read_again():
    global ALPHA
    p = Value(2.0)
    step = autodiff.compile(lambda: p * p * ALPHA, [p])
    try:
        assert step() == 4.0
        ALPHA = 100.0
        assert _compiled(step, [p]) == (400.0, [400.0])
    finally:
        ALPHA = 1.0
    assert step() == 4.0


def test_closure_numbers_and_lists_changed_in_place_are_read_again():
    p = Value(2.0)
    scale, weights = 1.0, [1.0, 2.0]

    def fn():
        return p * scale + p * weights[0] * weights[1]

    step = autodiff.compile(fn, [p])
    assert step() == 6.0
    weights[1] = 10.0  # in place
    assert _compiled(step, [p]) == _eager(fn, [p]) == (22.0, [11.0])
    scale = 3.0  # noqa: F841 (read by fn through its closure)
    assert _compiled(step, [p]) == _eager(fn, [p]) == (26.0, [13.0])


def test_a_captured_value_that_is_not_a_parameter_is_read_afresh():
    p, q = Value(2.0), Value(3.0)
    step = autodiff.compile(lambda: p * q + (1.0 if q.data > 2.5 else 0.0) * p, [p])
    assert _compiled(step, [p]) == (8.0, [4.0])
    q.data = 1.0  # its number, and a decision made from it
    assert _compiled(step, [p]) == (2.0, [1.0])
    assert q.grad == 0.0  # not a parameter: no gradient


def test_a_list_that_fn_appends_to_does_not_make_every_call_trace_again():
    p, calls = Value(2.0), []

    def fn():
        calls.append(1)
        return p * p

    step = autodiff.compile(fn, [p])
    for _ in range(5):
        assert step() == 4.0
    assert len(calls) == 1 and repr(step).endswith("1 program(s)>")


@pytest.mark.parametrize("kink, rule", [
    (lambda t: t.relu(), lambda z: 1.0 if z > 0 else 0.0),
    (lambda t: abs(t), lambda z: 1.0 if z > 0 else -1.0 if z < 0 else 0.0),
    (lambda t: t.leaky_relu(0.1), lambda z: 1.0 if z > 0 else 0.1),
], ids=["relu", "abs", "leaky_relu"])
def test_a_kink_inside_a_derivative_of_the_loss_follows_the_sign(kink, rule):
    q = Parameter(1.0)

    def loss(x):  # d/dt kink(t q) at t = x is q * kink'(x q): the kink is decided by the data and the parameter
        return autodiff.grad(lambda t: kink(t * q))(x) * q + q * q

    step = autodiff.compile(loss, [q])
    for qv, x in [(1.0, 2.0), (-1.0, 2.0), (2.0, -3.0), (-2.0, -3.0), (0.5, 0.0), (1.0, 2.0)]:
        q.data = qv
        ref = _eager(loss, [q], Value(x))
        assert _compiled(step, [q], x) == ref
        assert ref[0] == pytest.approx(qv * qv * rule(x * qv) + qv * qv)
    assert repr(step).endswith("1 program(s)>")  # the kink's choice is an op of the program, made on every call
    batched = autodiff.compile(loss, [q], batch=True)
    xs = np.array([2.0, -3.0, 0.0, 1.5, -0.5])
    for qv in (1.0, -1.0):
        q.data = qv
        losses, grads = batched.per_sample(xs)
        for k, x in enumerate(xs):
            value, (g,) = _eager(loss, [q], Value(float(x)))
            assert losses[k] == pytest.approx(value, rel=1e-12, abs=1e-15)
            assert grads[k, 0] == pytest.approx(g, rel=1e-12, abs=1e-15)
    assert repr(batched).endswith("1 program(s)>")  # samples on either side of the kink share the program


def test_second_derivatives_through_kinks_with_a_value_slope_are_ops_of_one_program():
    a, s = Parameter(0.5), Parameter(0.2)

    def loss(x):  # the slope is a Value: leaky_relu's d/dy (below) and slope's own d/dy take part
        g = autodiff.grad(lambda t, u: (t * a).leaky_relu(u) + abs(t - u) * (t * u).relu(), argnums=(0, 1))(x, s)
        return g[0] * g[1] + g[1] * a

    step = autodiff.compile(loss, [a, s])
    batched = autodiff.compile(loss, [a, s], batch=True)
    rng = random.Random(3)
    for _ in range(20):
        a.data, s.data, x = rng.choice([-1, 1]) * rng.random(), rng.uniform(-1, 1), rng.uniform(-2, 2)
        assert _compiled(step, [a, s], x) == _eager(loss, [a, s], Value(x))
        xs = np.array([rng.uniform(-2, 2) for _ in range(7)] + [0.0])
        losses, grads = batched.per_sample(xs)
        for k, x in enumerate(xs):
            value, g = _eager(loss, [a, s], Value(float(x)))
            assert losses[k] == pytest.approx(value, rel=1e-12, abs=1e-15)
            assert grads[k].tolist() == pytest.approx(g, rel=1e-12, abs=1e-15)
    assert repr(step).endswith("1 program(s)>") and repr(batched).endswith("1 program(s)>")


def test_a_middle_sample_on_another_branch_gets_its_own_program():
    w = Parameter(0.5)
    fn = lambda x: w * x if x.data > 0 else w - 2 * x  # noqa: E731
    step = autodiff.compile(fn, [w], batch=True)
    losses, grads = step.per_sample(np.array([1.0, -1.0, 2.0]))
    assert losses.tolist() == [0.5, 2.5, 1.0] and grads[:, 0].tolist() == [1.0, 1.0, 2.0]
    w.grad = 0.0
    assert step(np.array([1.0, -1.0, 2.0])) == pytest.approx(4.0 / 3) and w.grad == pytest.approx(4.0 / 3)
    assert step.losses.tolist() == [0.5, 2.5, 1.0]


def test_max_min_int_and_round_of_traced_numbers_are_guarded():
    a, b = Value(1.0), Value(2.0)

    def fn():
        hi = max(a.data, b.data)
        lo = min(a.data * 2, b.data)
        picked = a if hi == a.data else b
        return picked * lo + a * int(b.data) + b * round(a.data * 3)

    step = autodiff.compile(fn, [a, b], max_programs=64)
    rng = random.Random(0)
    for _ in range(40):
        a.data, b.data = rng.uniform(-3, 3), rng.uniform(-3, 3)
        assert _compiled(step, [a, b]) == _eager(fn, [a, b])


def _random_program(seed, n_params=3, n_data=2):
    """A function of parameters and data with data-dependent branches: ifs on intermediate .data, a max chosen by
    comparing .data, kinks (relu, abs, leaky_relu), and a relu's derivative inside the loss."""
    rng = random.Random(seed)
    steps = []
    for _ in range(rng.randint(4, 9)):
        kind = rng.choice(["op", "op", "if", "max", "kink", "grad"])
        steps.append((kind, rng.randrange(100), rng.randrange(100), rng.uniform(-1, 1), rng.choice("+-*")))

    def fn(params, data):
        vals = list(params) + list(data)
        for kind, i, j, c, sym in steps:
            u, v = vals[i % len(vals)], vals[j % len(vals)]
            if kind == "op":
                new = u + v if sym == "+" else u - v if sym == "-" else u * v * 0.5
            elif kind == "if":
                new = u * 2 + c if u.data > c else v - u * c
            elif kind == "max":
                new = (u if u.data >= v.data else v) * 1.5
            elif kind == "kink":
                new = [u.relu(), abs(u), u.leaky_relu(0.2)][i % 3] + v * c
            else:
                new = autodiff.grad(lambda t, u=u: (t * u).relu())(c) * v  # a kink inside a derivative
            vals.append(new.tanh() if abs(new.data) > 50 else new)
        return vals[-1] + sum(p * p for p in params) * 0.01

    return fn


@pytest.mark.parametrize("seed", range(12))
def test_random_branchy_programs_compiled_equal_eager_bit_for_bit(seed):
    fn = _random_program(seed)
    params = [Parameter(0.0) for _ in range(3)]
    step = autodiff.compile(lambda x0, x1: fn(params, [x0, x1]), params, max_programs=256)
    rng = random.Random(100 + seed)
    for _ in range(25):
        for p in params:
            p.data = rng.uniform(-2, 2)
        x0, x1 = rng.uniform(-2, 2), rng.uniform(-2, 2)
        assert _compiled(step, params, x0, x1) == _eager(lambda a, b: fn(params, [a, b]), params, Value(x0), Value(x1))


@pytest.mark.parametrize("seed", range(6))
def test_random_branchy_programs_batched_equal_eager_sample_by_sample(seed):
    fn = _random_program(seed)
    params = [Parameter(0.0) for _ in range(3)]
    step = autodiff.compile(lambda x: fn(params, x), params, batch=True, max_programs=256)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        for p in params:
            p.data = float(rng.uniform(-2, 2))
        X = rng.uniform(-2, 2, size=(30, 2))
        losses, grads = step.per_sample(X)
        for k, x in enumerate(X):
            value, g = _eager(lambda a, b: fn(params, [a, b]), params, Value(float(x[0])), Value(float(x[1])))
            assert losses[k] == pytest.approx(value, rel=1e-12, abs=1e-13)
            assert grads[k].tolist() == pytest.approx(g, rel=1e-12, abs=1e-13)


def test_past_max_programs_calls_run_eagerly_and_the_warning_names_the_line():
    r = Value(0.0)
    fn = lambda: r * 2 if int(r.data) % 3 else r * 3  # noqa: E731
    line = test_past_max_programs_calls_run_eagerly_and_the_warning_names_the_line.__code__.co_firstlineno + 2
    step = autodiff.compile(fn, [r], max_programs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(7):
            r.data = float(k)
            assert _compiled(step, [r]) == _eager(fn, [r])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1  # once
    assert f"test_guards.py:{line}" in messages[0] and "max_programs" in messages[0]
    assert repr(step).endswith("2 program(s)>")


def test_the_warning_says_data_shapes_when_shapes_keep_changing():
    p = Value(1.0)
    step = autodiff.compile(lambda xs: p * sum(xs), [p], max_programs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert step([1.0]) == 1.0 and step([1.0, 2.0]) == 3.0 and step([1.0, 2.0, 3.0]) == 6.0
    assert len(caught) == 1 and "data shapes" in str(caught[0].message)


def test_the_batched_replay_has_the_same_bound_and_warning():
    r = Parameter(1.0)
    fn = lambda x: r * x if int(x.data) % 3 == 0 else r * 2 * x  # noqa: E731
    step = autodiff.compile(fn, [r], batch=True, max_programs=1)
    with pytest.warns(RuntimeWarning, match="test_guards.py"):
        losses, grads = step.per_sample(np.arange(6.0))
    assert losses.tolist() == [fn(Value(float(x))).data for x in range(6)]
    assert grads[:, 0].tolist() == [0.0, 2.0, 4.0, 3.0, 8.0, 10.0]


def test_max_programs_must_be_a_positive_whole_number():
    p = Value(1.0)
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ValueError, match="max_programs"):
            autodiff.compile(lambda: p * p, [p], max_programs=bad)


def test_a_captured_parameter_of_any_subclass_is_refused():
    class Weight(Parameter):
        __slots__ = ()

    p, stray = Parameter(1.0), Weight(2.0)
    with pytest.raises(ValueError, match="not among the parameters"):
        autodiff.compile(lambda: p * stray, [p])()
    with pytest.raises(ValueError, match="not one of the parameters"):
        autodiff.compile(lambda x: p * stray * x, [p], batch=True)(np.ones(3))


def test_data_read_from_the_enclosing_scope_traces_as_fast_as_data_passed_in():
    from nn import MLP, hinge_loss
    model = MLP(2, [8, 1], seed=0)
    X = [[0.1 * k, -0.2 * k] for k in range(12)]
    y = [1.0 if k % 2 else -1.0 for k in range(12)]
    by_arguments = autodiff.compile(lambda X, y: hinge_loss([model(x)[0] for x in X], y), model)
    from_scope = autodiff.compile(lambda: hinge_loss([model([Value(a) for a in x])[0] for x in X], y), model)
    assert by_arguments(X, y) == from_scope()
    # one sample's pass is a function called per sample in both (the labels, constants here, make two kinds)
    assert by_arguments.source.count("def f") == 1 and from_scope.source.count("def f") == 2
    assert len(from_scope.source) < 1.5 * len(by_arguments.source)
    X[3][0] = 5.0  # in place: read again
    assert from_scope() == by_arguments(X, y)


def test_a_traced_number_made_a_constant_is_pinned():
    p, q = Value(2.0), Value(3.0)
    step = autodiff.compile(lambda: p * Value(q.data) + p * q.data, [p])
    assert step() == 12.0
    q.data = 5.0
    assert _compiled(step, [p]) == (20.0, [10.0])


def test_a_math_function_of_a_traced_number_leaves_the_guards_reach_as_documented():
    import inspect
    from autodiff import guards
    doc = inspect.getdoc(guards) + inspect.getdoc(autodiff.compile)
    assert "math function" in doc and "autodiff.exp" in doc
    p = Value(1.0)
    step = autodiff.compile(lambda: p * 2 if math.exp(p.data) > 2 else p * 3, [p])
    assert step() == 2.0  # decided through math.exp: a plain float, so not guarded (as the docs say)


# ----- what an adversarial review found ---------------------------------------------------------------------------

GLOBAL_BATCH = np.array([1.0, 2.0])


def test_a_global_array_rebound_or_changed_in_place_is_read_again():
    global GLOBAL_BATCH
    p = Value(0.5)

    def fn():
        return sum((p * float(x) - 1) ** 2 for x in GLOBAL_BATCH)

    step = autodiff.compile(fn, [p])
    try:
        assert _compiled(step, [p]) == _eager(fn, [p])
        GLOBAL_BATCH = np.array([3.0, 5.0])
        assert _compiled(step, [p]) == _eager(fn, [p])
        GLOBAL_BATCH[0] = 7.0
        assert _compiled(step, [p]) == _eager(fn, [p])
    finally:
        GLOBAL_BATCH = np.array([1.0, 2.0])


def test_dicts_attributes_defaults_partials_and_mixed_lists_are_read_again():
    import functools
    import types
    p = Value(0.5)
    cfg, ns, mixed = {"scale": 2.0}, types.SimpleNamespace(beta=3.0), [1.0, None]

    class Model:
        def __init__(self):
            self.scale = 4.0

        def loss(self):
            return p * self.scale

    def by_default(k=5.0):
        return p * k

    def scaled(scale):
        return p * scale[0]

    model = Model()
    cases = [
        (lambda: p * cfg["scale"], lambda: cfg.update(scale=20.0)),
        (lambda: p * ns.beta, lambda: setattr(ns, "beta", 30.0)),
        (lambda: p * mixed[0], lambda: mixed.__setitem__(0, 10.0)),
        (model.loss, lambda: setattr(model, "scale", 40.0)),
        (by_default, lambda: setattr(by_default, "__defaults__", (50.0,))),
    ]
    for fn, change in cases:
        step = autodiff.compile(fn, [p])
        assert _compiled(step, [p]) == _eager(fn, [p])
        change()
        assert _compiled(step, [p]) == _eager(fn, [p]), fn
    numbers = [6.0]
    partial = functools.partial(scaled, numbers)
    step = autodiff.compile(partial, [p])
    assert _compiled(step, [p]) == _eager(partial, [p])
    numbers[0] = 9.0  # a partial's argument, changed in place
    assert _compiled(step, [p]) == _eager(partial, [p]) == (4.5, [9.0])


def test_captured_values_rebound_replaced_or_appended_are_the_new_ones():
    p = Value(0.5)
    box = {"g": Value(2.0)}
    vals = [Value(1.0), Value(2.0)]
    step = autodiff.compile(lambda: p * box["g"] + sum(v * p for v in vals), [p])
    fn = lambda: p * box["g"] + sum(v * p for v in vals)  # noqa: E731
    assert _compiled(step, [p]) == _eager(fn, [p])
    box["g"] = Value(7.0)
    assert _compiled(step, [p]) == _eager(fn, [p])
    vals[1] = Value(10.0)
    assert _compiled(step, [p]) == _eager(fn, [p])
    vals.append(Value(3.0))
    assert _compiled(step, [p]) == _eager(fn, [p])


def test_a_decision_on_a_captured_value_reached_through_an_attribute_is_guarded():
    class Holder:
        pass

    h, p = Holder(), Value(0.5)
    h.gate = Value(1.0)
    fn = lambda: p * h.gate if h.gate.data > 0 else p * p  # noqa: E731
    step = autodiff.compile(fn, [p])
    assert _compiled(step, [p]) == _eager(fn, [p])
    h.gate.data = -1.0
    assert _compiled(step, [p]) == _eager(fn, [p])


@pytest.mark.parametrize("decide", [
    lambda x: x in {1.0, 2.0},
    lambda x: {1.0: True}.get(x, False),
    lambda x: round(x, 1) == 1.0,
    lambda x: np.float64(0.75) < x,
    lambda x: divmod(x, 1.0)[0] >= 1.0,
    lambda x: x.is_integer(),
], ids=["set", "dict-get", "round-digits", "numpy-left", "divmod", "is_integer"])
def test_other_ways_a_traced_number_decides_are_guarded(decide):
    p = Value(0.5)
    fn = lambda: p * 10 if decide(p.data) else p * p  # noqa: E731
    step = autodiff.compile(fn, [p], max_programs=64)
    for v in (0.5, 1.0, 2.0, 0.5, 1.0):
        p.data = v
        assert _compiled(step, [p]) == _eager(fn, [p]), v


def test_two_threads_tracing_at_once_each_keep_their_guards():
    import threading
    p = Value(0.5)
    barrier = threading.Barrier(2, timeout=5)

    def fn(x):
        y = p * x
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # one trace at a time: the other thread waits for this one
        return y * y if p.data > 0 else y * 3.0

    steps = [autodiff.compile(fn, [p]), autodiff.compile(fn, [p])]
    threads = [threading.Thread(target=s, args=(2.0,)) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert type(p.data) is float
    p.data = -0.5
    for s in steps:
        assert _compiled(s, [p], 2.0) == _eager(fn, [p], 2.0)


def test_a_write_from_another_thread_during_a_trace_is_kept():
    import threading
    p, started, written = Value(1.0), threading.Event(), threading.Event()

    def fn():
        started.set()
        written.wait(5)
        return p * p

    step = autodiff.compile(fn, [p])
    t = threading.Thread(target=step)
    t.start()
    started.wait(5)
    p.data = 3.0  # an optimizer in another thread, say
    written.set()
    t.join()
    assert p.data == 3.0 and type(p.data) is float


def test_a_number_kept_from_a_trace_is_plain_and_does_not_hide_guards():
    p, snap = Value(0.5), {}

    def fn(x):
        snap["p"] = p.data
        x0 = x[0] if isinstance(x, list) else x
        return p * x0 if p.data > 0 else p * p * x0

    step = autodiff.compile(fn, [p])
    step(1.0)
    assert snap["p"].expr is None  # a number kept from the trace holds no graph
    p.data = snap["p"]  # and given back
    step([1.0, 2.0])  # a new shape: a new trace
    p.data = -0.5
    assert _compiled(step, [p], [1.0, 2.0]) == _eager(fn, [p], [Value(1.0), Value(2.0)])


def test_huge_integers_in_a_decision():
    p = Value(0.5)
    fn = lambda: p * 2 if p.data < 10 ** 400 else p * 3  # noqa: E731
    assert autodiff.compile(fn, [p])() == 1.0
    n = 2 ** 53 + 3
    fn = lambda: p * 2 if p.data > n else p * 3  # noqa: E731
    step = autodiff.compile(fn, [p])
    step()
    p.data = 2.0 ** 53 + 4  # above n, though float(n) is 2**53 + 4 itself
    assert _compiled(step, [p]) == _eager(fn, [p])


def test_a_batched_decision_that_divides_by_zero_raises_as_eager():
    w = Parameter(0.5)
    fn = lambda x: w * x if 1.0 / (x.data - 1.0) > 0 else w - x  # noqa: E731
    step = autodiff.compile(fn, [w], batch=True)
    with pytest.raises(ZeroDivisionError):
        step.per_sample(np.array([2.0, 1.0, 3.0]))
    fn2 = lambda x: w * x if x.data ** 2 > 1 else w - x  # noqa: E731
    with pytest.raises(OverflowError):
        autodiff.compile(fn2, [w], batch=True).per_sample(np.array([2.0, 1e200]))


def test_minus_zero_in_scope_and_in_a_pinned_number_is_kept():
    p, q = Value(1.5), Value(0.0)
    c0 = 0.0

    def fn():
        return p * c0 + p * q.data

    step = autodiff.compile(fn, [p])
    step()
    c0 = -0.0  # noqa: F841 (read by fn)
    q.data = -0.0
    value, grads = _compiled(step, [p])
    ref = _eager(fn, [p])
    assert (value, grads) == ref and math.copysign(1.0, value) == math.copysign(1.0, ref[0])
    assert math.copysign(1.0, grads[0]) == math.copysign(1.0, ref[1][0])
