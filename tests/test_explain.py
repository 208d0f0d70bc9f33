"""autodiff.explain(root, node): the chain rule's sum over paths, equal to what backward() computes."""
import math

import pytest
from hypothesis import given

from autodiff import Value, explain
from autodiff.explain import MAX_PATHS
from programs import SETTINGS, UNARY, programs, run


@SETTINGS
@given(programs(UNARY))
def test_the_paths_products_add_up_to_the_gradient_backward_computes(program):
    steps, xs = program
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    root = run(steps, leaves, UNARY)[-1] * 1.0
    root.backward()
    for leaf in leaves:
        e = explain(root, leaf)
        assert e.total == pytest.approx(leaf.grad, rel=1e-12, abs=1e-12)
        if e.factored:
            assert e.paths == []
            continue
        assert math.fsum(p.product for p in e.paths) == e.total
        for p in e.paths:
            assert p.nodes[0] is leaf and p.nodes[-1] is root and len(p.factors) == len(p.nodes) - 1
            assert p.product == math.prod(p.factors)
            for below, above, d in zip(p.nodes, p.nodes[1:], p.factors):
                assert below in above.parents  # each factor is the local derivative on a real edge
                assert any(q is below and ld == d for q, ld in zip(above.parents, above.chain_rule().local_grads))


def test_the_text_spells_out_each_path_with_its_numbers():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    a = x * y
    a.label = "a"
    z = a + x.tanh()
    z.label = "z"
    e = explain(z, x)
    assert [len(p.factors) for p in e.paths] == [2, 2]
    assert str(e).splitlines() == ["dz/dx = (dz/da)(da/dx) + (dz/dtanh(x))(dtanh(x)/dx)",
                                   "  = 1 × -3 + 1 × 0.07065", "  = -2.929"]
    z.backward()
    assert e.total == pytest.approx(x.grad, rel=1e-15)


def test_a_node_used_twice_gives_two_paths():
    x = Value(3.0, label="x")
    y = x * x
    e = explain(y, x)
    assert len(e.paths) == 2 and e.total == 6.0


def test_a_diamond_chain_past_the_bound_is_shown_factored():
    x = Value(1.01, label="x")
    v = x
    for _ in range(8):  # each step doubles the paths: 2^8 = 256 > MAX_PATHS
        a, b = v * 1.5, v * 0.5
        v = a + b
    v.label = "out"
    e = explain(v, x)
    assert e.factored and e.paths == [] and 2 ** 8 > MAX_PATHS
    v.backward()
    assert e.total == pytest.approx(x.grad, rel=1e-12) and e.total == pytest.approx(2.0 ** 8, rel=1e-12)
    text = str(e)
    assert "256 paths" in text and "too many to list" in text and "grad(x) =" in text


def test_a_one_node_graph_and_a_node_the_root_does_not_depend_on():
    x, w = Value(2.0, label="x"), Value(5.0, label="w")
    e = explain(x, x)
    assert e.total == 1.0 and len(e.paths) == 1 and e.paths[0].factors == [] and str(e) == "dx/dx = 1"
    y = x * 3
    y.label = "y"
    e = explain(y, w)
    assert e.total == 0.0 and e.paths == [] and "does not depend on w" in str(e)
    with pytest.raises(TypeError, match="Values"):
        explain(y, 2.0)
