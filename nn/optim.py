"""Optimizers with PyTorch's update rules: they read each parameter's .grad and change its .data."""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Iterator

from autodiff import Value, grad_computed
from autodiff.engine import passes
from nn.module import clear_grads

__all__ = ["SGD", "Adam"]


def _hyper(name, value, where, upper=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or (
            upper is not None and not value < upper):
        bound = f" and below {upper}" if upper is not None else ""
        raise ValueError(f"{where}: {name} must be a number >= 0{bound}, got {value!r}")
    return float(value)


class Optimizer:
    """Holds the parameters; zero_grad() clears their gradients, step() updates them."""

    def __init__(self, params: Iterable[Value], where: str) -> None:
        if hasattr(params, "parameters") or not hasattr(params, "__iter__"):
            raise TypeError(f"{where}: expected the parameters to optimize, got {type(params).__name__}; "
                            f"pass model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{where}: no parameters to optimize (give model.parameters())")
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise ValueError(f"{where}: parameter {i} is a {type(p).__name__}, expected a Value")
        self.params = params

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "params" and not k.startswith("_"))
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's .grad, as PyTorch does: back to "not computed" (it reads 0.0, and step() skips a
        parameter the next backward() does not reach), or 0.0 with set_to_none=False (nn.Module.zero_grad)."""
        clear_grads(self.params, set_to_none)

    def _gradients(self) -> Iterator[tuple[int, Value, float]]:
        """(index, parameter, its gradient plus weight_decay * its number) for each parameter that has a grad: one
        that no pass computed, or whose grad was set to None, is skipped entirely (no weight decay, no momentum, no
        Adam moments), as PyTorch does."""
        decay = getattr(self, "weight_decay", 0.0)
        for i, p in enumerate(self.params):
            if grad_computed(p) and p.grad is not None:
                yield i, p, p.grad + decay * p.data if decay else p.grad


class SGD(Optimizer):
    """p -= lr * v, with g = grad + weight_decay * p and v = momentum * v + g (v = g on the first step)."""

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, "SGD")
        self.lr = _hyper("lr", lr, "SGD")
        self.momentum = _hyper("momentum", momentum, "SGD")
        self.weight_decay = _hyper("weight_decay", weight_decay, "SGD")
        self._velocity: list[float | None] = [None] * len(self.params)  # each parameter's, from its first step

    def step(self) -> None:
        """One update of every parameter from its current .grad (one with no grad is left alone)."""
        with passes:
            for i, p, g in self._gradients():
                if self.momentum:
                    v = self._velocity[i]
                    g = self._velocity[i] = g if v is None else self.momentum * v + g
                p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba), as torch.optim.Adam: weight decay is added to the gradient (not decoupled)."""

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, "Adam")
        self.lr = _hyper("lr", lr, "Adam")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_hyper("beta1", betas[0], "Adam", 1.0), _hyper("beta2", betas[1], "Adam", 1.0))
        self.eps = _hyper("eps", eps, "Adam")
        self.weight_decay = _hyper("weight_decay", weight_decay, "Adam")
        self._t = [0] * len(self.params)  # each parameter's own step count, as PyTorch keeps it
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its current .grad (one with no grad is left alone)."""
        b1, b2 = self.betas
        with passes:
            for i, p, g in self._gradients():
                t = self._t[i] = self._t[i] + 1
                correction1, correction2 = 1 - b1 ** t, 1 - b2 ** t
                self._m[i] = b1 * self._m[i] + (1 - b1) * g
                self._v[i] = b2 * self._v[i] + (1 - b2) * g * g
                denom = math.sqrt(self._v[i]) / math.sqrt(correction2) + self.eps
                p.data -= self.lr / correction1 * self._m[i] / denom
