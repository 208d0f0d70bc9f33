"""Losses against their formulas, against PyTorch, at extreme logits, and on bad input."""
import math

import pytest

from autodiff import Value, gradcheck
from nn import binary_cross_entropy, cross_entropy, hinge_loss, mse_loss


def values(xs):
    return [Value(x) for x in xs]


def test_mse_is_the_mean_squared_error():
    p, t = [0.5, -1.0, 2.0], [1.0, 0.0, 2.5]
    preds = values(p)
    loss = mse_loss(preds, t)
    assert loss.data == pytest.approx(sum((a - b) ** 2 for a, b in zip(p, t)) / 3, rel=1e-15)
    loss.backward()
    assert [v.grad for v in preds] == pytest.approx([2 * (a - b) / 3 for a, b in zip(p, t)], rel=1e-14)


def test_hinge_is_the_mean_of_relu_one_minus_margin():
    s, y = [0.3, -2.0, 1.5, -0.2], [1, -1, -1, -1]
    scores = values(s)
    loss = hinge_loss(scores, y)
    assert loss.data == pytest.approx(sum(max(0.0, 1 - yi * si) for si, yi in zip(s, y)) / 4, rel=1e-15)
    loss.backward()
    assert [v.grad for v in scores] == pytest.approx(
        [-yi / 4 if 1 - yi * si > 0 else 0.0 for si, yi in zip(s, y)], rel=1e-14)


def bce(z, y):
    p = 1 / (1 + math.exp(-z))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_binary_cross_entropy_on_logits():
    z, y = [0.3, -2.0, 1.5, 0.0], [1, 0, 0.25, 1]
    logits = values(z)
    loss = binary_cross_entropy(logits, y)
    assert loss.data == pytest.approx(sum(map(bce, z, y)) / 4, rel=1e-14)
    loss.backward()
    sig = [1 / (1 + math.exp(-zi)) for zi in z]
    assert [v.grad for v in logits] == pytest.approx([(s - yi) / 4 for s, yi in zip(sig, y)], rel=1e-13)


@pytest.mark.parametrize("z, y, expected, dz", [
    (1000.0, 1, 0.0, 0.0), (1000.0, 0, 1000.0, 1.0), (-1000.0, 1, 1000.0, -1.0), (-1000.0, 0, 0.0, 0.0),
    (40.0, 1, math.exp(-40.0), -math.exp(-40.0)), (1e300, 0, 1e300, 1.0),
])
def test_binary_cross_entropy_is_stable_for_any_logit(z, y, expected, dz):
    logit = Value(z)
    loss = binary_cross_entropy([logit], [y])
    loss.backward()
    assert math.isfinite(loss.data) and math.isfinite(logit.grad)
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert logit.grad == pytest.approx(dz, rel=1e-12, abs=1e-15)


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / sum(e) for v in e]


@pytest.mark.parametrize("z, c", [([0.5, -1.0, 2.0], 0), ([0.5, -1.0, 2.0], 2), ([1000.0, -1000.0, 999.0], 2),
                                  ([-1e4, -1e4 + 1.0], 0), ([3.0], 0)])
def test_cross_entropy_is_logsumexp_minus_the_logit_and_stable(z, c):
    logits = values(z)
    loss = cross_entropy(logits, c)
    loss.backward()
    expected = -math.log(softmax(z)[c]) if softmax(z)[c] > 0 else None
    m = max(z)
    assert loss.data == pytest.approx(m + math.log(sum(math.exp(v - m) for v in z)) - z[c], rel=1e-13, abs=1e-13)
    if expected is not None:
        assert loss.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    onehot = [1.0 if i == c else 0.0 for i in range(len(z))]
    assert [v.grad for v in logits] == pytest.approx([s - o for s, o in zip(softmax(z), onehot)], abs=1e-14)


@pytest.mark.parametrize("loss, args", [
    (mse_loss, ([0.3, -0.4], [1.0, 0.5])),
    (hinge_loss, ([0.3, -0.4], [1, 1])),
    (binary_cross_entropy, ([0.3, -0.4], [1, 0])),
])
def test_gradcheck_every_loss(loss, args):
    preds, targets = args
    assert gradcheck(lambda *p: loss(list(p), targets), preds, order=2)
    assert gradcheck(lambda a, b, c: cross_entropy([a, b, c], 1), [0.2, -0.5, 1.0], order=2)


@pytest.mark.parametrize("call, words", [
    (lambda: mse_loss([Value(1.0)], [1.0, 2.0]), ["mse_loss", "1 predictions", "2 targets"]),
    (lambda: hinge_loss([Value(1.0)] * 3, [1, -1]), ["hinge_loss", "3 predictions", "2 targets"]),
    (lambda: mse_loss([], []), ["no predictions"]),
    (lambda: hinge_loss([Value(1.0)], [0]), ["labels[0]", "-1 or +1"]),
    (lambda: hinge_loss([Value(1.0)], [2]), ["labels[0]", "2"]),
    (lambda: binary_cross_entropy([Value(1.0)], [2]), ["target 0", "[0, 1]"]),
    (lambda: binary_cross_entropy([Value(1.0)], [-0.5]), ["target 0", "[0, 1]"]),
    (lambda: binary_cross_entropy([Value(1.0)], ["1"]), ["target 0", "'1'"]),
    (lambda: mse_loss([Value(1.0)], [math.nan]), ["target 0", "finite"]),
    (lambda: cross_entropy([Value(1.0), Value(2.0)], 2), ["class 2", "out of range", "0..1"]),
    (lambda: cross_entropy([Value(1.0), Value(2.0)], -1), ["class -1", "out of range"]),
    (lambda: cross_entropy([Value(1.0), Value(2.0)], 1.0), ["int", "1.0"]),
    (lambda: cross_entropy([Value(1.0), Value(2.0)], True), ["int", "True"]),
    (lambda: cross_entropy([], 0), ["no logits"]),
    (lambda: mse_loss([[Value(1.0)]], [1.0]), ["prediction 0", "list", "model(x)[0]"]),
])
def test_bad_input_is_a_clear_value_error(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


# ----- PyTorch ------------------------------------------------------------------------------------------------------

def test_losses_match_pytorch():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    F = torch.nn.functional
    z = [0.3, -2.0, 1.5, 0.0, 35.0, -40.0]
    cases = [
        (mse_loss, [0.5, -1.0, 2.0, 0.1, 3.0, -1.0], lambda p, t: F.mse_loss(p, t)),
        (hinge_loss, [1, -1, -1, 1, 1, -1], lambda p, t: torch.relu(1 - t * p).mean()),
        (binary_cross_entropy, [1, 0, 0.25, 1, 0, 1], lambda p, t: F.binary_cross_entropy_with_logits(p, t)),
    ]
    for loss, targets, reference in cases:
        ours = values(z)
        out = loss(ours, targets)
        out.backward()
        theirs = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        ref = reference(theirs, torch.tensor(targets, dtype=torch.float64))
        ref.backward()
        assert out.data == pytest.approx(ref.item(), rel=1e-12), loss.__name__
        assert [v.grad for v in ours] == pytest.approx(theirs.grad.tolist(), rel=1e-9, abs=1e-15), loss.__name__
    for logits, c in [([0.5, -1.0, 2.0], 1), ([1000.0, -1000.0, 999.0], 2)]:
        ours = values(logits)
        out = cross_entropy(ours, c)
        out.backward()
        theirs = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        ref = F.cross_entropy(theirs.unsqueeze(0), torch.tensor([c]))
        ref.backward()
        assert out.data == pytest.approx(ref.item(), rel=1e-12)
        assert [v.grad for v in ours] == pytest.approx(theirs.grad.tolist(), rel=1e-9, abs=1e-15)
