"""compile(fn, params): gradients into .grad exactly as backward() puts them there, and pieces that repeat."""
import gc
import math
import random
import weakref

import pytest
from hypothesis import given

import autodiff
import nn
from autodiff import Parameter, Value, grad_computed
from programs import SETTINGS, UNARY, programs, run


def _grads(params):
    return [(grad_computed(p), p.grad) for p in params]


def _bits(values):
    return [(math.copysign(1.0, v), v) if v == v else "nan" for v in values]


def _same_as_backward(value, params, loss, *data):
    """The compiled call's loss and grads (in .grad) equal loss(*data).backward()'s from zeroed grads, bit for bit."""
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    out = loss(*data)
    out.backward()
    assert value == out.data and _bits(got) == _bits([p.grad for p in params])


LOSSES = {
    "mse": lambda model, X, y: nn.mse_loss([model(x)[0] for x in X], y),
    "hinge": lambda model, X, y: nn.hinge_loss([model(x)[0] for x in X], y),
    "bce": lambda model, X, y: nn.binary_cross_entropy([model(x)[0].sigmoid() for x in X], [(t + 1) / 2 for t in y]),
}


def _data(n, seed):
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
    return X, [1.0 if math.sin(a) * b > 0 else -1.0 for a, b in X]  # labels of -1 and +1


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_by_reference_equals_backward_bit_for_bit_on_an_mlp(loss, activation):
    eager, compiled = (nn.MLP(2, [5, 4, 1], activation=activation, seed=3) for _ in range(2))
    step = autodiff.compile(lambda X, y: LOSSES[loss](compiled, X, y), compiled.parameters())
    for n, seed in [(8, 0), (8, 1), (5, 2)]:  # new data, then a new size: traced again
        X, y = _data(n, seed)
        out = LOSSES[loss](eager, X, y)
        eager.zero_grad()
        compiled.zero_grad()
        out.backward()
        value = step(X, y)
        assert type(value) is float and value == out.data
        assert _bits([p.grad for p in compiled.parameters()]) == _bits([p.grad for p in eager.parameters()])
    assert len(step.programs) == 2


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9), lambda ps: nn.Adam(ps, lr=0.01)],
                         ids=["SGD-momentum", "Adam"])
def test_ten_optimizer_steps_compiled_equal_ten_eager(make):
    X, y = _data(10, 7)
    models = [nn.MLP(2, [6, 1], seed=1) for _ in range(2)]
    opts = [make(m.parameters()) for m in models]
    step = autodiff.compile(lambda X, y: nn.mse_loss([models[1](x)[0] for x in X], y), models[1])
    for _ in range(10):
        loss = nn.mse_loss([models[0](x)[0] for x in X], y)
        opts[0].zero_grad()
        loss.backward()
        opts[0].step()
        opts[1].zero_grad()
        assert step(X, y) == loss.data
        opts[1].step()
    assert models[0].state_dict() == models[1].state_dict()


def test_grads_accumulate_across_calls_like_backward():
    w, b = Value(2.0), Value(0.5)
    step = autodiff.compile(lambda x: (w * x + b).tanh(), [w, b])
    step(1.5)
    first = [w.grad, b.grad]
    step(1.5)  # no zero_grad: added again
    out = (w * 1.5 + b).tanh()
    w.grad, b.grad = first
    out.backward()
    assert (w.grad, b.grad) == tuple(2 * g for g in first) or [w.grad, b.grad] == [first[0] * 2, first[1] * 2]
    w2, b2 = Value(2.0), Value(0.5)
    w2.grad, b2.grad = first
    (w2 * 1.5 + b2).tanh().backward()
    step2 = autodiff.compile(lambda x: (w * x + b).tanh(), [w, b])
    w.grad, b.grad = first
    step2(1.5)
    assert (w.grad, b.grad) == (w2.grad, b2.grad)


def test_a_parameter_the_loss_does_not_reach_is_not_touched_and_order_does_not_matter():
    a, b, unused = Value(1.0), Value(2.0), Value(3.0)
    step = autodiff.compile(lambda x: a * x * b, [unused, b, a])  # any order
    assert step(3.0) == 6.0
    assert (a.grad, b.grad) == (6.0, 3.0) and not grad_computed(unused)


def test_params_can_be_a_module_and_errors_are_clear():
    model = nn.MLP(2, [3, 1], seed=0)
    step = autodiff.compile(lambda x: model(x)[0], model)
    assert step([0.5, -0.5]) == model([0.5, -0.5])[0].data
    with pytest.raises(ValueError, match="does not depend on any"):
        autodiff.compile(lambda x: Value(3.0) * x, model)(2.0)
    half = model.parameters()[:4]
    with pytest.raises(ValueError, match="Parameter 'layers.[0-9.a-z]+' .*not among the parameters"):
        autodiff.compile(lambda x: model(x)[0], half)([0.5, -0.5])
    with pytest.raises(TypeError, match="leaf Value"):
        autodiff.compile(lambda x: x, [Value(1.0) * 2])
    with pytest.raises(ValueError, match="twice"):
        autodiff.compile(lambda x: x, [half[0], half[0]])
    with pytest.raises(TypeError, match="list of Values"):
        autodiff.compile(lambda x: x, 3.0)


def test_the_functional_form_catches_a_model_called_without_using():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="model.using"):
        autodiff.compile(lambda params, x: model(x)[0] * params[0])([1.0], [0.5, 0.5])


def test_no_reference_to_the_traced_graph_is_kept():
    model = nn.MLP(2, [4, 1], seed=0)
    outputs = []

    def fn(X):
        out = nn.mse_loss([model(x)[0] for x in X], [0.0] * len(X))
        outputs.append(weakref.ref(out))
        return out

    step = autodiff.compile(fn, model)
    step([[0.1, 0.2]] * 6)
    gc.collect()
    assert outputs[0]() is None


# ----- pieces that repeat: written once, same floats ---------------------------------------------------------------

def test_a_batch_loss_is_written_as_one_function_per_sample_and_gives_the_engines_floats():
    model = nn.MLP(2, [8, 8, 1], seed=4)
    X, y = _data(30, 3)
    step = autodiff.compile(lambda X, y: LOSSES["hinge"](model, X, y) + 1e-3 * sum(p * p for p in model.parameters()),
                            model)
    value = step(X, y)
    source = step.source
    assert "def f0(" in source and "def b0(" in source and source.count("= f0(") == 30
    assert len(source.splitlines()) < 400  # one sample's code, not thirty
    twin = nn.MLP(2, [8, 8, 1], seed=4)
    out = LOSSES["hinge"](twin, X, y) + 1e-3 * sum(p * p for p in twin.parameters())
    out.backward()
    assert value == out.data and _bits([p.grad for p in model.parameters()]) == _bits(
        [p.grad for p in twin.parameters()])


@pytest.mark.parametrize("shape", ["shared weight", "some parameters", "two classes", "captured constant"])
def test_pieces_with_shared_weights_subsets_and_classes_give_the_engines_floats(shape):
    w = [Parameter(0.3 * k - 0.7) for k in range(6)]
    c = Value(0.25)

    def piece(x, k):
        if shape == "shared weight":
            return ((w[0] * x + w[1]) * w[0] + x * w[2]).tanh() * w[0] + (w[3] * x).sin() * w[3] + w[1] * x * x
        if shape == "some parameters":
            return ((w[k % 2] * x + w[2]).tanh() * w[3] + (w[3] * x).sigmoid() * w[2] + x * w[k % 2]) * w[2]
        if shape == "two classes":
            a = (w[0] * x + w[1]).tanh() * w[2] + (w[1] * x).exp() * w[0]
            return a * w[3] + w[4] * x if k % 2 else (a * w[5]).relu() + w[4] * x
        return ((w[0] * x + c).tanh() * w[1] + (w[2] * x).cos() * c + w[3] * x) * w[4]

    def loss(xs):
        total = Value(0.0)
        for k, x in enumerate(xs):
            total = total + piece(x, k) ** 2
        return total

    xs = [0.1 * k - 0.9 for k in range(12)]
    step = autodiff.compile(loss, w)
    value = step(xs)
    assert "def f0(" in step.source
    _same_as_backward(value, w, loss, xs)


@SETTINGS
@given(programs(UNARY))
def test_random_pieces_over_a_batch_equal_eager_bit_for_bit(program):
    steps, xs = program
    params = [Value(x) for x in xs]

    def loss(data):
        total = Value(0.0)
        for d in data:
            total = total + run(steps, [p * d for p in params], UNARY)[-1] * 1.0
        return total

    data = [0.5, -1.25, 2.0, 0.75, -0.3]
    step = autodiff.compile(loss, params)
    _same_as_backward(step(data), params, loss, data)


def test_aux_outputs_inside_repeated_pieces():
    model = nn.MLP(2, [6, 1], seed=2)
    X, y = _data(12, 5)

    def fn(X, y):
        scores = [model(x)[0] for x in X]
        return nn.hinge_loss(scores, y), scores

    step = autodiff.compile(fn, model, has_aux=True)
    value, scores = step(X, y)
    assert "def f0(" in step.source and step.source.count("= f0(") == 12
    twin = nn.MLP(2, [6, 1], seed=2)
    eager_scores = [twin(x)[0] for x in X]
    loss = nn.hinge_loss(eager_scores, y)
    loss.backward()
    assert value == loss.data and scores == [s.data for s in eager_scores]
    assert _bits([p.grad for p in model.parameters()]) == _bits([p.grad for p in twin.parameters()])


def test_a_long_program_is_compiled_in_pieces_with_the_same_floats(monkeypatch):
    import sys
    compile_module = sys.modules["autodiff.compile"]
    model = nn.MLP(2, [5, 1], seed=6)
    X, y = _data(9, 8)

    def fn(X, y):  # a different number per sample: nothing repeats
        return nn.hinge_loss([model([x[0] * (k + 1), x[1]])[0] for k, x in enumerate(X)], y)

    whole = autodiff.compile(fn, model)
    value = whole(X, y)
    expected = [p.grad for p in model.parameters()]
    model.zero_grad()
    made = []
    in_pieces = compile_module._in_pieces
    monkeypatch.setattr(compile_module, "ONE_FUNCTION", 100)
    monkeypatch.setattr(compile_module, "_in_pieces",
                        lambda *a: made.append(1) or in_pieces(*a, lines_per_piece=3))
    pieces = autodiff.compile(fn, model)
    assert pieces(X, y) == value and made == [1]
    assert _bits([p.grad for p in model.parameters()]) == _bits(expected)
    model.zero_grad()
    pieces(X, y)  # again, from the compiled pieces
    assert _bits([p.grad for p in model.parameters()]) == _bits(expected)


# ----- found by an adversarial review -------------------------------------------------------------------------------

def test_threads_sharing_one_compiled_step_add_every_share():
    import sys
    import threading
    ws = [Value(1.0) for _ in range(50)]
    step = autodiff.compile(lambda x: sum((w * x for w in ws), Value(0.0)), ws)
    step(1.0)
    for w in ws:
        w.grad = 0.0
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=lambda: [step(1.0) for _ in range(100)]) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert {w.grad for w in ws} == {800.0}


@pytest.mark.parametrize("loss", ["bce", "ce"])
def test_losses_with_a_stable_branch_replay_it_instead_of_freezing_it(loss):
    w = Value(1.0)
    if loss == "bce":
        fn = lambda x: nn.binary_cross_entropy([w * x], [1.0])  # noqa: E731
    else:
        fn = lambda x: nn.cross_entropy([w * x, w * 0.0 + 0.5], 0)  # noqa: E731
    step = autodiff.compile(fn, [w])
    for point in [1.0, -1000.0, 800.0, -3.0]:  # the logits move far from where the trace saw them
        w.data, w.grad = point, 0.0
        value = step(1.0)
        got = w.grad
        w.grad = 0.0
        out = fn(1.0)
        out.backward()
        assert value == out.data and got == w.grad and math.isfinite(value)


def test_a_program_bug_leaves_the_grads_as_they_were(monkeypatch):
    import sys
    w = Value(0.5)
    w.grad = 7.0
    monkeypatch.setitem(sys.modules["autodiff.compile"].GLOBALS, "tanh",
                        lambda x: (_ for _ in ()).throw(ValueError("planted")))
    step = autodiff.compile(lambda x: (w * x).tanh(), [w])
    with pytest.raises(RuntimeError, match="planted"):
        step(1.0)
    assert w.grad == 7.0


def test_functional_gradients_have_the_sign_of_zero_eager_gives():
    step = autodiff.compile(lambda p, x: p[0] * x)
    value, grads = step([2.0], -0.0)
    expected = step.eager([2.0], [-0.0])
    assert _bits([value, *grads]) == _bits([expected[0], *expected[1]])


def test_an_overflow_in_a_leaky_relu_slope_is_caught_compiled_as_eager():
    a, b, x = Value(1.0), Value(1.0), Value(1.0)
    step = autodiff.compile(lambda: x.leaky_relu(a * b) * x, [a, b, x])
    step()
    a.data = b.data = 1e200
    with pytest.raises(autodiff.RangeError, match=r"\*"):
        step()
