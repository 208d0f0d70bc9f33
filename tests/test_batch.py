"""compile(fn, params, batch=True): one sample's program over a batch, against the eager engine sample by sample."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff
from autodiff import DomainError, Parameter, RangeError, Value, primitive
from programs import BINARY, KINKED, UNARY, run

np = pytest.importorskip("numpy", reason="numpy is not installed: pip install -e '.[test]'")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installed: pip install -e '.[test]'")
ALL_UNARY = {**UNARY, **KINKED}
FEW = settings(max_examples=80, deadline=None, derandomize=True)


def close(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


@st.composite
def batched_programs(draw):
    """Parameters, a per-sample program over parameters and data, and a batch (some data exactly 0: kinks)."""
    n_params, n_data = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    names = sorted(ALL_UNARY) + sorted(BINARY)
    steps = []
    for k in range(draw(st.integers(1, 10))):
        size = n_params + n_data + k
        steps.append((draw(st.sampled_from(names)), draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))))
    params = draw(st.lists(st.floats(-1.5, 1.5), min_size=n_params, max_size=n_params))
    n = draw(st.sampled_from([1, 2, 5, 16]))
    data = draw(st.lists(st.lists(st.sampled_from([0.0, -0.0, 0.5, -1.25]) | st.floats(-1.5, 1.5),
                                  min_size=n_data, max_size=n_data), min_size=n, max_size=n))
    return steps, params, data


def eager(steps, params, data, reduce="mean"):
    """The loss and each parameter's grad, by backward() on every sample alone, as the batched step defines them."""
    leaves = [Parameter(p) for p in params]
    total, losses, each = 0.0, [], []
    for row in data:
        for p in leaves:
            p.grad = None
        loss = run(steps, leaves + [Value(x) for x in row], ALL_UNARY)[-1] * 1.0
        loss.backward()
        losses.append(loss.data)
        each.append([p.grad if p.grad is not None else 0.0 for p in leaves])
        total += loss.data
    scale = 1 / len(data) if reduce == "mean" else 1.0
    grads = [math.fsum(g[k] for g in each) * scale for k in range(len(params))]
    return total * scale, grads, losses, each


def batched(steps, params, reduce="mean"):
    leaves = [Parameter(p) for p in params]
    step = autodiff.compile(lambda x: run(steps, leaves + list(x), ALL_UNARY)[-1] * 1.0, leaves, batch=True,
                            reduce=reduce)
    return step, leaves


@FEW
@given(batched_programs())
def test_random_programs_equal_the_eager_engine_sample_by_sample(program):
    steps, params, data = program
    try:
        value, grads, losses, each = eager(steps, params, data)
    except ValueError:  # a program that depends on no parameter (compile refuses it too)
        return
    step, leaves = batched(steps, params)
    try:
        loss = step(np.array(data))
    except ValueError as e:
        assert "does not depend on any" in str(e)
        return
    assert close(loss, value)
    for p, g in zip(leaves, grads):
        assert close(p.grad, g, 1e-11) or abs(p.grad - g) < 1e-14, (p.grad, g)
    per_loss, per_grad = step.per_sample(np.array(data))
    assert per_grad.shape == (len(data), len(params))
    for i in range(len(data)):
        assert close(float(per_loss[i]), losses[i])
        for k in range(len(params)):
            assert close(float(per_grad[i, k]), each[i][k]) or abs(float(per_grad[i, k]) - each[i][k]) < 1e-14


def _mlp(activation="relu"):
    from nn import MLP
    return MLP(2, [6, 5, 1], activation=activation, seed=3)


def _hinge_step(model, **options):
    from nn import hinge_loss
    return autodiff.compile(lambda x, y: hinge_loss([model(x)[0]], [y]), model.parameters(), batch=True, **options)


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    x[::7] = 0.0  # some samples at the kinks
    return x, np.where(rng.normal(size=n) > 0, 1.0, -1.0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_an_mlp_step_adds_the_mean_or_summed_gradient_as_backward_would(activation, reduce):
    from nn import hinge_loss
    model = _mlp(activation)
    X, Y = _data(40)
    step = _hinge_step(model, reduce=reduce)
    model.zero_grad()
    loss = step(X, Y)
    ours = [p.grad for p in model.parameters()]
    model.zero_grad()
    total = 0.0
    for x, y in zip(X, Y):
        sample = hinge_loss([model([float(x[0]), float(x[1])])[0]], [float(y)])
        sample.backward(1 / len(X) if reduce == "mean" else 1.0)
        total += sample.data
    assert close(loss, total / len(X) if reduce == "mean" else total)
    for a, p in zip(ours, model.parameters()):
        assert close(a, p.grad, 1e-11) or abs(a - p.grad) < 1e-15
    if activation != "leaky_relu":  # its slope is a second input of each activation: that layer stays columns
        assert " @ " in step.source  # the layers ran as matrix products
    model.zero_grad()
    step(X, Y)
    step(X, Y)  # accumulates, as backward() does
    assert all(close(p.grad, 2 * a) or abs(p.grad - 2 * a) < 1e-15 for p, a in zip(model.parameters(), ours))


def test_torch_tensors_give_the_same_numbers_on_their_device():
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[test]'")
    model = _mlp()
    X, Y = _data(30, seed=1)
    step = _hinge_step(model)
    model.zero_grad()
    a = step(X, Y)
    ga = [p.grad for p in model.parameters()]
    model.zero_grad()
    b = step(torch.tensor(X), torch.tensor(Y))
    assert close(a, b) and all(close(x, p.grad, 1e-11) or abs(x - p.grad) < 1e-15
                               for x, p in zip(ga, model.parameters()))
    losses, grads = step.per_sample(torch.tensor(X), torch.tensor(Y))
    assert isinstance(grads, torch.Tensor) and grads.dtype == torch.float64 and grads.shape == (30, len(model.parameters()))
    np_losses, np_grads = step.per_sample(X, Y)
    assert np.allclose(grads.numpy(), np_grads, rtol=1e-12, atol=1e-15)


def test_one_trace_serves_every_batch_size():
    model = _mlp()
    calls = []

    def fn(x, y):
        calls.append(1)
        from nn import hinge_loss
        return hinge_loss([model(x)[0]], [y])

    step = autodiff.compile(fn, model.parameters(), batch=True)
    for n in (1, 9, 100, 3):
        step(*_data(n, seed=n))
    assert len(step.programs) == 1 and len(calls) == 2  # sample 0, then the structure check on the first batch
    # of more than one sample (a batch of 1 has no second sample to compare); no later batch traces again
    step2 = autodiff.compile(fn, model.parameters(), batch=True)
    step2(*_data(50))
    step2(*_data(7))
    assert len(calls) == 4  # traced on two samples of the first batch, then replayed


def test_a_sample_that_overflows_or_leaves_a_domain_is_named():
    w = Parameter(1.0)
    step = autodiff.compile(lambda x: (w * x).log(), [w], batch=True)
    with pytest.raises(DomainError, match=r"sample 3 of the batch: log: log\(-2.0\)"):
        step(np.array([1.0, 2.0, 3.0, -2.0, 5.0]))
    assert not autodiff.grad_computed(w)  # nothing was added
    step_exp = autodiff.compile(lambda x: (w * x).exp(), [w], batch=True)
    with pytest.raises(RangeError, match=r"sample 1 of the batch: exp"):
        step_exp(np.array([1.0, 800.0]))
    hidden = autodiff.compile(lambda x: (w * x * 1e300 * 1e300).relu() + w, [w], batch=True)
    with pytest.raises(RangeError, match="sample 0 of the batch"):  # relu hides the overflow; the check does not
        hidden(np.array([-1.0, 0.0]))
    root = autodiff.compile(lambda x: (w * x).sqrt(), [w], batch=True)
    with pytest.raises(DomainError, match="sample 1 of the batch: .*infinite"):  # sqrt'(0): in the backward pass
        root(np.array([4.0, 0.0]))
    assert step(np.array([1.0, math.e])) == pytest.approx(0.5)  # and a good batch works after a bad one


def test_clear_errors():
    model = _mlp()
    step = _hinge_step(model)
    X, Y = _data(10)
    with pytest.raises(ValueError, match="10 samples but argument 0 has 9"):
        step(X[:9], Y)
    with pytest.raises(ValueError, match="single number"):
        step(X, 1.0)
    with pytest.raises(ValueError, match="needs the parameters"):
        autodiff.compile(lambda x: x, batch=True)
    with pytest.raises(ValueError, match="has_aux"):
        autodiff.compile(lambda x: x, model.parameters(), batch=True, has_aux=True)
    with pytest.raises(ValueError, match="reduce"):
        autodiff.compile(lambda x: x, model.parameters(), batch=True, reduce="max")

    @primitive(lambda t: 1.0)
    def ident(t):
        return t

    w = Parameter(0.5)
    with pytest.raises(ValueError, match="primitive"):
        autodiff.compile(lambda x: ident(w * x), [w], batch=True)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="different libraries|not an array"):
        torch = pytest.importorskip("torch")
        step(torch.tensor(X), Y)


def test_review_cases_sums_with_other_terms_linear_losses_torch_dtypes_and_state():
    w = [Parameter(v) for v in (0.3, -0.7, 0.5, 0.9)]
    X = np.array([[1.0, 2.0], [0.5, -1.0]])

    def check(fn, params, X, xs=None):  # the batched step against backward() on each sample
        for p in params:
            p.grad = None
        loss = autodiff.compile(fn, params, batch=True)(X)
        ours = [p.grad for p in params]
        for p in params:
            p.grad = None
        total = 0.0
        for row in X:
            sample = fn([Value(float(v)) for v in row])
            sample.backward(1 / len(X))
            total += sample.data
        assert close(loss, total / len(X))
        for a, p in zip(ours, params):
            assert (a is None and p.grad is None) or close(a, p.grad, 1e-11) or abs(a - p.grad) < 1e-15, (a, p.grad)

    # a sum with another term (a second sum over the same inputs, through tanh) after the other sum
    check(lambda x: (w[0] * x[0] + w[1] * x[1] + (w[2] * x[0] + w[3] * x[1]).tanh()) ** 2, w, X)
    b = Parameter(0.2)
    check(lambda x: (w[0] * x[0] + w[1] * x[1]).tanh() * (w[2] * x[0] + w[3] * x[1] + 2.0 * b), w + [b], X)
    check(lambda x: w[0] * x[0] + w[1] * x[1], w[:2], X)  # a loss linear in a sum: its grad is one number
    check(lambda x: (w[0] * x[0] + w[1] * x[1]) * 3.0 + b, w[:2] + [b], X)
    unreached = Parameter(1.0)
    check(lambda x: (w[0] * x[0]) ** 2, [w[0], unreached], X)  # an unreached parameter keeps .grad = None
    assert unreached.grad is None  # left as it was set, as backward() leaves it
    # the batch's order of summation overflows where eager's does not: eager's numbers
    big = [Parameter(1e308), Parameter(1e308)]
    bias = Parameter(-1e308)
    check(lambda x: (bias + big[0] * x[0] + big[1] * x[1]) * 1e-308, big + [bias], np.array([[1.0, 1.0]] * 3))
    # more than 16 samples with an inf from the data, then one that leaves log's domain
    v = Parameter(1.0)
    with pytest.raises(DomainError, match="sample 20 of the batch"):
        autodiff.compile(lambda x: (v * x).log(), [v], batch=True)(np.array([np.inf] * 20 + [-1.0] + [2.0] * 4))
    # div and power can hide an overflow: checked
    for fn in (lambda x: v / (x * 1e300), lambda x: v + (x * 1e300) ** -1.0, lambda x: 0.5 ** (v * x * 1e300) + v):
        with pytest.raises(RangeError, match="sample 1 of the batch"):
            autodiff.compile(fn, [v], batch=True)(np.array([1.0, 1e10, 2.0]))
    # a .grad that is not a number is refused before any parameter changes
    w[0].grad, w[1].grad = 0.0, "x"
    with pytest.raises(TypeError):
        autodiff.compile(lambda x: (w[0] * x[0] + w[1] * x[1]) ** 2, w[:2], batch=True)(X)
    assert w[0].grad == 0.0
    with pytest.raises(TypeError, match="dtype"):
        autodiff.compile(lambda x: (v * x) ** 2, [v], batch=True)(np.array([1j, 2.0]))


def test_torch_keeps_float64_through_selections_and_value_powers():
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[test]'")
    w, p = Parameter(0.8), Parameter(1.3)
    signs, positive = np.array([-1.0, 2.0, 0.5]), np.array([0.25, 2.0, 0.5])
    for fn, X in ((lambda x: (w * x).leaky_relu(0.01), signs), (lambda x: abs(w * x) * p, signs),
                  (lambda x: (w * x) ** p, positive), (lambda x: p ** (w * x), signs),
                  (lambda x: 2.0 ** (w * x), signs)):
        step = autodiff.compile(fn, [w, p], batch=True)
        a_losses, a_grads = step.per_sample(X)
        t_losses, t_grads = step.per_sample(torch.tensor(X))
        assert t_grads.dtype == torch.float64 and t_losses.dtype == torch.float64
        assert np.array_equal(a_grads, t_grads.numpy()) or np.allclose(a_grads, t_grads.numpy(), rtol=1e-15, atol=0)


def test_a_branch_on_data_gives_each_sample_its_path_even_after_a_first_batch_of_one():
    w = Parameter(0.5)
    step = autodiff.compile(lambda x: w * x if x.data > 0 else w - x, [w], batch=True)
    assert step(np.array([1.0])) == 0.5
    losses, grads = step.per_sample(np.array([1.0, -1.0, 2.0]))
    assert losses.tolist() == [0.5, 1.5, 1.0] and grads[:, 0].tolist() == [1.0, 1.0, 2.0]


def test_an_op_of_ones_own_is_refused_even_if_named_like_grads_identity():
    from autodiff import Op
    w = Parameter(2.0)
    twice = Op("input", "x * 2", "2.0")  # the name of grad's identity, but another op
    with pytest.raises(ValueError, match="not one of autodiff's table"):
        autodiff.compile(lambda x: twice(w * x), [w], batch=True)(np.ones(3))
    step = autodiff.compile(lambda x: autodiff.grad(lambda t: t * w * t)(x), [w], batch=True)  # grad's identity
    assert step(np.array([1.0, 2.0])) == pytest.approx(6.0)  # the mean of d(w t^2)/dt = 2 w t over t = 1, 2
    assert w.grad == pytest.approx(3.0)  # and its d/dw, the mean of 2t
