"""SGD and Adam: their update rules against the formulas and against torch.optim."""
import math

import pytest

from autodiff import Value
from nn import SGD, Adam

START = [0.5, -1.2, 2.0, 0.0]
GRADS = [[0.1, -0.3, 0.7, 0.0], [-0.2, 0.4, 0.1, 1.5], [0.05, 0.05, -0.9, -0.3], [1.0, -2.0, 0.3, 0.2]]


def run(make, grads=GRADS):
    params = [Value(x) for x in START]
    opt = make(params)
    history = []
    for g in grads:
        opt.zero_grad()
        assert all(p.grad == 0.0 for p in params)
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
        history.append([p.data for p in params])
    return history


def test_plain_sgd_is_p_minus_lr_grad():
    history = run(lambda ps: SGD(ps, lr=0.1))
    expected = list(START)
    for g, got in zip(GRADS, history):
        expected = [p - 0.1 * gi for p, gi in zip(expected, g)]
        assert got == pytest.approx(expected, rel=1e-15)


def test_adam_first_step_moves_each_parameter_by_lr_times_sign():
    (first,) = run(lambda ps: Adam(ps, lr=0.01), GRADS[:1])
    for p0, g, p1 in zip(START, GRADS[0], first):
        assert p1 == pytest.approx(p0 - 0.01 * math.copysign(1, g) if g else p0, rel=1e-6)


torch_cases = [
    ("sgd", lambda ps: SGD(ps, lr=0.1), lambda t, ps: t.optim.SGD(ps, lr=0.1)),
    ("sgd-momentum", lambda ps: SGD(ps, lr=0.1, momentum=0.9),
     lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("sgd-momentum-decay", lambda ps: SGD(ps, lr=0.05, momentum=0.5, weight_decay=0.01),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("adam", lambda ps: Adam(ps), lambda t, ps: t.optim.Adam(ps)),
    ("adam-settings", lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda t, ps: t.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, ours, theirs", torch_cases, ids=[c[0] for c in torch_cases])
def test_matches_torch_optim(name, ours, theirs):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    history = run(ours)
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = theirs(torch, params)
    for g, got in zip(GRADS, history):
        opt.zero_grad()
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi, dtype=torch.float64)
        opt.step()
        assert got == pytest.approx([p.item() for p in params], rel=1e-12, abs=1e-15)


def test_learning_rate_can_change_between_steps():
    params = [Value(1.0)]
    opt = SGD(params, lr=0.5)
    params[0].grad = 1.0
    opt.step()
    opt.lr = 0.25
    opt.step()
    assert params[0].data == 1.0 - 0.5 - 0.25


@pytest.mark.parametrize("make, words", [
    (lambda: SGD([], lr=0.1), ["SGD", "no parameters"]),
    (lambda: SGD([1.0], lr=0.1), ["SGD", "parameter 0", "float"]),
    (lambda: SGD([Value(1.0)], lr=-1), ["SGD", "lr", "-1"]),
    (lambda: SGD([Value(1.0)], lr=0.1, momentum=-0.5), ["momentum"]),
    (lambda: Adam([Value(1.0)], betas=(0.9, 1.0)), ["beta2", "below 1"]),
    (lambda: Adam([Value(1.0)], betas=0.9), ["betas"]),
    (lambda: Adam([Value(1.0)], lr="fast"), ["lr", "fast"]),
    (lambda: Adam([Value(1.0)], eps=math.nan), ["eps"]),
])
def test_bad_settings_are_value_errors(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for w in words:
        assert w in str(info.value)
