"""How a user's code types against the public API: checked by `mypy --strict tests/typing_usage.py` (in .ci/run and
tests/test_packaging.py). Every name exported by autodiff and nn is used here, so each must be typed."""
from __future__ import annotations

from pathlib import Path
from typing import assert_type

import autodiff
import nn
from autodiff import (Constant, DomainError, GradcheckError, GraphvizMissing, Op, Parameter, RangeError, Value, animate,
                      cos, detect_anomaly, draw, exp, explain, grad, grad_computed, gradcheck, hessian, hvp, jacobian, jvp,
                      leaky_relu, log, no_grad, primitive, relu, save_svg, sigmoid, sin, sqrt, tanh, value_and_grad,
                      vjp)


def usage(tmp: Path) -> None:
    x = Value(2.0, label="x")
    y = x * 2 + 1.0 - x / 3
    assert_type(y, Value)
    assert_type(2 * x, Value)
    assert_type(2.0 ** x, Value)
    assert_type(x ** 2, Value)
    assert_type(-x, Value)
    assert_type(abs(x), Value)
    assert_type(x.tanh().exp().log().sqrt().sigmoid().relu().sin().cos(), Value)
    assert_type(x.leaky_relu(0.1), Value)
    assert_type(tanh(x), Value)
    assert_type(tanh(1.0), float)
    assert_type(exp(x) + log(x) + sqrt(x) + sigmoid(x) + relu(x) + sin(x) + cos(x) + leaky_relu(x), Value)
    assert_type(x.data, float)
    assert_type(x.grad, float)
    assert_type(x.label, str)
    assert_type(x.op, str)
    assert_type(x.parents, tuple[Value, ...])
    assert_type(x.grad_fn, Op | None)
    y.backward()
    assert_type(grad_computed(x), bool)
    assert_type(x.detach(), Value)
    assert_type(x.tree(), str)
    assert_type(y.chain_rule()(1.0), list[tuple[Value, float | Value]])
    p: Parameter = Parameter(1.0)
    c: Constant = Constant(2.0)
    assert_type(p * c, Value)
    with no_grad():
        _ = x * 3
    with detect_anomaly():
        (x * x).backward()

    @no_grad()
    def inference(v: Value) -> Value:
        return v * 2

    assert_type(inference(x), Value)

    @primitive(lambda a: 3 * a ** 2)
    def cube(a: float) -> float:
        return a ** 3

    assert_type(cube, Op)
    assert_type(cube(x), Value)
    assert_type(cube(2.0), float)
    assert_type(Op("twice", "x + x", "2.0"), Op)

    def f(a: Value, b: Value) -> Value:
        return a * b.exp()

    g = grad(f, argnums=(0, 1))
    _ = g(1.0, 2.0)
    _ = value_and_grad(f)(1.0, 2.0)
    _ = hessian(f)(1.0, 2.0)
    value, tangent = jvp(f, (1.0, 2.0), (1.0, 0.0))
    out, vjp_fn = vjp(f, 1.0, 2.0)
    _ = vjp_fn(1.0)
    _ = jacobian(lambda a, b: [a * b, a + b], argnums=(0, 1), mode="fwd")(1.0, 2.0)[0][1]
    _ = hvp(f)((1.0, 2.0), (0.0, 1.0))
    assert_type(gradcheck(f, [1.0, 0.5], modes=("rev", "fwd"), order=2), bool)
    assert_type(gradcheck(f, [1.0, 0.5]), bool)
    e = explain(y, x)
    assert_type(e.total, float)
    assert_type(e.factored, bool)
    assert e.paths[0].product == e.paths[0].factors[0] or e.paths
    errors: tuple[type[Exception], ...] = (DomainError, RangeError, GradcheckError, GraphvizMissing)
    assert errors
    dot = draw(y)  # a graphviz.Digraph (graphviz is not typed)
    assert dot.source
    assert_type(save_svg(y, tmp / "g.svg"), Path)
    assert_type(animate(y, tmp / "g.html"), Path)

    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    outputs = model([0.5, -1.0])
    assert_type(outputs, list[Value])
    layer, neuron = nn.Layer(2, 3), nn.Neuron(2)
    assert_type(layer([1.0, 2.0]), list[Value])
    assert_type(neuron([1.0, 2.0]), Value)
    params = model.parameters()
    assert_type(params, list[Value])
    assert_type(model.named_parameters(), list[tuple[str, Value]])
    assert_type(model.named_modules(), list[tuple[str, nn.Module]])
    assert_type(model.state_dict(), dict[str, float])
    model.load_state_dict(model.state_dict())
    model.zero_grad()
    model.save(tmp / "m.json")
    assert_type(model.load(tmp / "m.json"), nn.MLP)
    assert_type(nn.MLP.from_file(tmp / "m.json"), nn.MLP)
    X, Y = [[0.5, -1.0], [1.0, 2.0]], [1.0, -1.0]
    loss = nn.mse_loss([model(v)[0] for v in X], Y) + nn.hinge_loss([model(v)[0] for v in X], Y)
    loss = loss + nn.binary_cross_entropy([model(v)[0] for v in X], [1.0, 0.0])
    loss = loss + nn.cross_entropy([model(X[0])[0], model(X[1])[0]], 0)
    assert_type(loss, Value)
    opt: nn.SGD | nn.Adam = nn.SGD(params, lr=0.1, momentum=0.9)
    opt = nn.Adam(params, lr=0.01)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with model.using([Value(v.data) for v in params]):
        _ = model(X[0])

    step = autodiff.compile(lambda data, labels: nn.mse_loss([model(v)[0] for v in data], labels), model)
    loss_value: float = step(X, Y)
    functional = autodiff.compile(lambda ps, v: ps[0] * v)
    result: tuple[float, list[float]] = functional([1.0], 2.0)
    assert loss_value and result
    batched = autodiff.compile(lambda v, label: nn.mse_loss([model(v)[0]], [label]), model.parameters(), batch=True)
    mean_loss: float = batched([[1.0, 2.0]], [0.5])
    assert mean_loss >= 0
