"""PyTorch as the second oracle: random graphs' values, gradients and Hessians in float64, and the stable tails."""
import math

import pytest
from hypothesis import given, settings

from autodiff import Value, hessian
from programs import KINKED, SETTINGS, UNARY, as_function, programs, run

torch = pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[test]' installs torch==2.13.0")
ALL_UNARY = {**UNARY, **KINKED}


def close(ours, theirs, scale):
    """Within 1e-9 relative, or 1e-12 of the largest magnitude the computation went through (for cancellations)."""
    return abs(ours - theirs) <= 1e-9 * abs(theirs) + 1e-12 * scale


@SETTINGS
@given(programs(ALL_UNARY))
def test_random_graphs_match_pytorch_values_and_gradients(program):
    steps, xs = program
    leaves = [Value(x) for x in xs]
    nodes = run(steps, leaves, ALL_UNARY)
    out = nodes[-1] * 1.0
    out.backward()

    tleaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tnodes = run(steps, tleaves, ALL_UNARY, torch)
    tout = tnodes[-1] * 1.0
    tout.backward()

    scale = 1 + max(abs(n.data) for n in nodes)
    for ours, theirs in zip(nodes, tnodes):
        assert close(ours.data, theirs.item(), scale), (ours.data, theirs.item())
    gscale = scale * (1 + max(abs(leaf.grad) for leaf in leaves))
    for leaf, tleaf in zip(leaves, tleaves):
        theirs = 0.0 if tleaf.grad is None else tleaf.grad.item()
        assert close(leaf.grad, theirs, gscale), (leaf.grad, theirs)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(programs(UNARY))
def test_random_graphs_match_pytorch_hessians(program):
    steps, xs = program
    ours = hessian(as_function(steps, UNARY), argnums=tuple(range(len(xs))))(*xs)

    def tf(*ts):
        return run(steps, list(ts), UNARY, torch)[-1] * 1.0

    theirs = torch.autograd.functional.hessian(tf, tuple(torch.tensor(x, dtype=torch.float64) for x in xs))
    scale = 1 + max(abs(v) for row in ours for v in row)
    for i, row in enumerate(ours):
        for j, v in enumerate(row):
            t = theirs[i][j].item()
            assert close(v, t, scale), (i, j, v, t)


@pytest.mark.parametrize("x", [-800.0, -30.0, 0.0, 30.0, 800.0])
def test_stable_sigmoid_and_tanh_match_pytorch_in_the_tails(x):
    for name in ("sigmoid", "tanh"):
        v = Value(x)
        out = getattr(v, name)()
        out.backward()
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        tout = getattr(torch, name)(t)
        tout.backward()
        assert out.data == pytest.approx(tout.item(), rel=1e-12, abs=0)
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-9, abs=1e-300)
        assert math.isfinite(v.grad)
