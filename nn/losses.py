"""Losses, each the mean over a list of samples (PyTorch's default reduction), built from Value ops only."""
from __future__ import annotations

import functools
import math
import numbers
from typing import Sequence

from autodiff import Value, exp, primitive, sigmoid
from autodiff.errors import show

__all__ = ["mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy"]


def _pairs(preds, targets, where):
    """The predictions and targets as two lists of equal, non-zero length."""
    preds = [preds] if isinstance(preds, (Value, numbers.Real)) else list(preds)
    targets = [targets] if isinstance(targets, (Value, numbers.Real)) else list(targets)
    if len(preds) != len(targets):
        raise ValueError(f"{where}: {len(preds)} predictions but {len(targets)} targets; give one target per prediction")
    if not preds:
        raise ValueError(f"{where}: no predictions; the mean of nothing is undefined")
    for i, p in enumerate(preds):
        if not isinstance(p, (Value, numbers.Real)) or isinstance(p, bool):
            hint = " (a model returns a list: take model(x)[0])" if isinstance(p, (list, tuple)) else ""
            raise ValueError(f"{where}: prediction {i} is a {type(p).__name__}, expected a Value or a number{hint}")
    for i, t in enumerate(targets):
        if not isinstance(t, Value):
            _number(t, i, where)
    return preds, targets


def _number(t, i, where):
    t = t.data if isinstance(t, Value) else t
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t):
        raise ValueError(f"{where}: target {i} is {t!r}, expected a finite number")
    return float(t)


def _sum(terms):
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _mean(terms):
    return _sum(terms) * (1.0 / len(terms))


def mse_loss(preds: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """mean_i (pred_i - target_i)^2."""
    preds, targets = _pairs(preds, targets, "mse_loss")
    return _mean([(p - t) ** 2 for p, t in zip(preds, targets)])


def hinge_loss(scores: Sequence[Value | float], labels: Sequence[Value | float]) -> Value:
    """mean_i relu(1 - y_i * score_i), the max-margin loss, for labels y_i in {-1, +1}."""
    scores, labels = _pairs(scores, labels, "hinge_loss")
    for i, y in enumerate(labels):
        if _number(y, i, "hinge_loss") not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss: labels[{i}] is {show(y)}, but hinge labels are -1 or +1 "
                             f"(for labels 0 and 1, pass 2 * y - 1)")
    return _mean([(1 - y * s).relu() for s, y in zip(scores, labels)])


@primitive(sigmoid)  # d/dz softplus(z) = sigmoid(z), itself an op: differentiable again
def softplus(z):
    """log(1 + e^z) without overflow, as one op (so that autodiff.compile replays its branch, not freezes it):
    z + log1p(e^-z) for z >= 0, log1p(e^z) below."""
    return z + math.log1p(math.exp(-z)) if z >= 0 else math.log1p(math.exp(z))


@functools.cache
def _logsumexp(n):
    """log(sum_i e^(z_i)) of n inputs as one op, computed around the largest z (exp never overflows); its
    derivatives are the softmax, e^(z_i - logsumexp(z)), differentiable again."""
    def forward(*zs):
        m = max(zs)
        return m + math.log(math.fsum(math.exp(z - m) for z in zs))

    last = [None]  # (inputs, softmax) of the latest call: the n derivatives of one node share one softmax

    def probabilities(zs):
        hit = last[0]
        if hit is not None and hit[0] == zs:
            return hit[1]
        m = max(zs)
        e = [math.exp(z - m) for z in zs]
        total = math.fsum(e)
        p = [v / total for v in e]  # around the largest z: exact to rounding even for huge logits
        last[0] = (zs, p)
        return p

    def softmax(i):
        def d(*zs):
            if any(isinstance(z, Value) for z in zs):  # a higher-order pass: the same, with ops
                return exp(zs[i] - op(*zs))
            return probabilities(zs)[i]
        return d

    op = primitive(*[softmax(i) for i in range(n)], name="logsumexp")(forward)
    return op


def binary_cross_entropy(logits: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """mean_i [softplus(z_i) - y_i z_i] = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], on logits z.

    Stable for logits of any size; targets are probabilities in [0, 1] (usually the labels 0 and 1).
    """
    logits, targets = _pairs(logits, targets, "binary_cross_entropy")
    for i, y in enumerate(targets):
        if not 0.0 <= _number(y, i, "binary_cross_entropy") <= 1.0:
            raise ValueError(f"binary_cross_entropy: target {i} is {y!r}; targets are probabilities in [0, 1]")
    return _mean([softplus(z) - y * z for z, y in zip(logits, targets)])


def cross_entropy(logits: Sequence[Value | float], target: int) -> Value:
    """-log softmax(logits)[target] = logsumexp(logits) - logits[target], for one sample and its integer class."""
    logits = [logits] if isinstance(logits, Value) else list(logits)
    if not logits:
        raise ValueError("cross_entropy: no logits")
    for i, z in enumerate(logits):
        if isinstance(z, bool) or not isinstance(z, (Value, numbers.Real)):
            raise ValueError(f"cross_entropy: logit {i} is a {type(z).__name__}, expected a Value or a number")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(f"cross_entropy: the class must be an int in 0..{len(logits) - 1}, got {target!r}")
    if not 0 <= target < len(logits):
        raise ValueError(f"cross_entropy: class {target} is out of range for {len(logits)} logits "
                         f"(classes are 0..{len(logits) - 1})")
    lse = _logsumexp(len(logits))(*logits)  # one op: no branch on the data for autodiff.compile to freeze
    return (lse if isinstance(lse, Value) else Value(lse)) - logits[target]
