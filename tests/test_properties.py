"""Random expression graphs: gradients from backward() and grad() against central differences."""
import pytest
from hypothesis import assume, given

from autodiff import Value, grad
from programs import SETTINGS, UNARY, as_function, five_point, programs


@SETTINGS
@given(programs(UNARY))
def test_random_graphs_match_central_differences(program):
    steps, xs = program
    f = as_function(steps, UNARY)
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    assume(abs(out.data) < 1e4)
    out.backward()
    for i, leaf in enumerate(leaves):
        numeric = five_point(f, xs, i)
        assert leaf.grad == pytest.approx(numeric, rel=1e-6, abs=1e-7), (i, leaf.grad, numeric)
    assert grad(f, argnums=tuple(range(len(xs))))(*xs) == tuple(leaf.grad for leaf in leaves)
