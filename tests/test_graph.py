"""Graph shapes, backward() semantics, memory (no reference cycles), no_grad, and the Value's surface."""
import gc
import math
import sys
import threading
import weakref
from pathlib import Path

import pytest

import autodiff
from autodiff import Value, no_grad
from autodiff.engine import Constant


# ----- the Value's surface -----------------------------------------------------------------------------------------

def test_attributes_of_a_leaf():
    x = Value(3, label="x")
    assert type(x.data) is float and x.data == 3.0
    assert x.grad == 0.0 and type(x.grad) is float
    assert (x.label, x.op, x.parents) == ("x", "", ())


def test_repr_with_and_without_label():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-0.5, label="w")) == "Value(data=-0.5, grad=0.0, label='w')"


def test_identity_semantics_and_hashable():
    a, b = Value(1.0), Value(1.0)
    assert a is not b and a != b and a == a
    assert len({a: 1, b: 2}) == 2


def test_op_names_and_parents_in_argument_order():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    cases = [(x + y, "+"), (x - y, "-"), (x * y, "*"), (x / y, "/"), (x ** y, "**")]
    for out, op in cases:
        assert out.op == op and out.parents == (x, y)
    assert (y - x).parents == (y, x)
    assert (-x).op == "neg" and abs(x).op == "abs" and x.exp().op == "exp"


def test_numbers_become_constant_leaves_in_argument_order():
    x = Value(1.0)
    out = 2 - x
    c, p = out.parents
    assert isinstance(c, Constant) and isinstance(c, Value) and c.data == 2.0 and c.op == "" and p is x
    out.backward()
    assert x.grad == -1.0 and c.grad == 0.0  # no gradient is computed for a number


@pytest.mark.parametrize("convert", [float, int, math.sin, math.exp, lambda v: math.pow(v, 2)],
                         ids=["float", "int", "math.sin", "math.exp", "math.pow"])
def test_a_value_never_turns_into_a_float_silently(convert):
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"Use v.data for the number.*, or autodiff.sin\(v\)"):
        convert(x * 1.0)
    with pytest.raises(TypeError, match="cut it out of the graph"):
        autodiff.grad(lambda t: convert(t) * t)(1.0)  # was sin(1) instead of sin(1) + cos(1)


def test_float_of_the_data_and_detach():
    x = Value(2.5)
    y = x * 2
    assert float(y.data) == 5.0
    d = y.detach()
    assert d is not y and d.data == 5.0 and d.parents == () and d.op == ""
    (d * 3).backward()
    assert x.grad == 0.0 and d.grad == 3.0


# ----- graph shapes ------------------------------------------------------------------------------------------------

def test_same_node_twice():
    a = Value(3.0)
    b = a + a
    assert b.parents == (a, a)
    b.backward()
    assert a.grad == 2.0
    a2 = Value(3.0)
    (a2 * a2).backward()
    assert a2.grad == 6.0


def test_diamond():
    a = Value(2.0)
    b, c = a * 3, a + 1  # both depend on a
    d = b * c  # d = 3a(a + 1) -> dd/da = 6a + 3
    d.backward()
    assert a.grad == 15.0 and b.grad == 3.0 and c.grad == 6.0


def test_unused_input_gets_zero():
    x, y = Value(1.0), Value(2.0)
    (x * 5).backward()
    assert (x.grad, y.grad) == (5.0, 0.0)


def test_constant_root():
    r = Value(4.0)
    r.backward()
    assert r.grad == 1.0


def test_root_that_does_not_depend_on_a_leaf_through_a_number():
    x = Value(3.0)
    out = x * 0
    out.backward()
    assert out.data == 0.0 and x.grad == 0.0


def test_backward_twice_doubles_leaves_and_keeps_intermediates():
    x, y = Value(2.0), Value(3.0)
    z = x * y
    w = z + x
    w.backward()
    first = (x.grad, y.grad, z.grad, w.grad)
    assert first == (4.0, 2.0, 1.0, 1.0)
    w.backward()
    assert (x.grad, y.grad) == (8.0, 4.0)  # leaves accumulate exactly
    assert (z.grad, w.grad) == (1.0, 1.0)  # intermediates show the latest pass, never garbage


def test_intermediate_reused_as_root_of_a_smaller_graph():
    x = Value(2.0)
    z = x * x
    w = z * 3
    w.backward()
    assert z.grad == 3.0
    z.backward()  # z is now the root: its grad is reset and seeded, not added to
    assert z.grad == 1.0 and x.grad == 12.0 + 4.0


def test_backward_seed():
    x = Value(2.0)
    (x * x).backward(grad=0.5)
    assert x.grad == 2.0


def test_long_chain_of_reused_nodes_is_exact():
    x = Value(1.5)
    y = x
    for _ in range(50):
        y = y * 0.5 + x  # every step uses x again
    y.backward()
    assert x.grad == pytest.approx(sum(0.5 ** k for k in range(50)), rel=1e-15)


@pytest.mark.slow
def test_million_op_chain_backpropagates_and_is_freed():
    n = 1_000_000
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    assert y.data == pytest.approx(1.0000001 ** n, rel=1e-9)
    y.backward()
    assert x.grad == pytest.approx(1.0000001 ** n, rel=1e-9)
    ref = weakref.ref(y)
    del y  # a million-deep chain is freed by refcounting without overflowing the C stack
    assert ref() is None


# ----- memory: graphs are freed by refcounting --------------------------------------------------------------------

def _graph(x, y):
    z = (x * y + x.exp() - y / 2) ** 2
    z = z.tanh() + z.sigmoid() + abs(z) + z.relu() + z.leaky_relu() + z.sin() * z.cos() + (z + 1).log()
    return z + (z * z).sqrt() + 2 ** z - x ** y


def test_no_reference_cycles_graphs_free_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        x, y = Value(0.3), Value(0.7)
        out = _graph(x, y)
        out.backward()
        refs = [weakref.ref(out)] + [weakref.ref(p) for p in out.parents]
        del out
        assert all(r() is None for r in refs)
        assert x.grad != 0.0  # the leaves the user holds are still there
    finally:
        gc.enable()


def test_higher_order_leaves_no_cycles():
    gc.collect()
    gc.disable()
    try:
        assert autodiff.hessian(lambda a, b: _graph(a, b), argnums=(0, 1))(0.3, 0.7)
        assert gc.collect() == 0
    finally:
        gc.enable()


# ----- no_grad -----------------------------------------------------------------------------------------------------

def test_no_grad_builds_plain_leaves():
    x = Value(2.0)
    with no_grad():
        y = x * 3 + x.exp()
    assert y.parents == () and y.op == "" and y.data == pytest.approx(6 + math.exp(2))
    z = x * 3
    assert z.parents == (x, z.parents[1])  # recording is back on


def test_no_grad_nests_and_restores_after_errors():
    x = Value(1.0)
    with no_grad():
        with no_grad():
            assert (x * 2).parents == ()
        assert (x * 2).parents == ()
        with pytest.raises(ValueError):
            with no_grad():
                Value(0.0).log()
        assert (x * 2).parents == ()
    assert len((x * 2).parents) == 2


def test_no_grad_as_decorator_also_when_recursive():
    @no_grad()
    def f(v, depth):
        out = v * 2
        assert out.parents == ()
        return f(out, depth - 1) if depth else out

    assert f(Value(1.0), 5).data == 64.0
    assert len((Value(1.0) * 2).parents) == 2


def test_no_grad_as_bare_decorator_keeps_the_function_name():
    @no_grad
    def double(v):
        """Twice v."""
        return v * 2

    out = double(Value(3.0))
    assert out.data == 6.0 and out.parents == ()
    assert double.__name__ == "double" and double.__doc__ == "Twice v."


def test_no_grad_is_per_thread():
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen["other"] = len((Value(1.0) * 2).parents)
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with no_grad():
        inside.set()
        release.wait(10)
        seen["main"] = len((Value(1.0) * 2).parents)
    t.join()
    assert seen == {"other": 2, "main": 0}


def test_constants_are_shared_read_only_and_keep_the_sign_of_zero():
    from autodiff import engine

    x, y = Value(1.0), Value(2.0)
    a, b = x * 2, y * 2
    assert a.parents[1] is b.parents[1]  # one Constant for the number 2
    c = a.parents[1]
    with pytest.raises(AttributeError, match="shared"):
        c.data = 5.0
    (a + b).backward()
    assert c.data == 2.0 and c.grad == 0.0 and (x.grad, y.grad) == (2.0, 2.0)
    z = x * -0.0
    assert math.copysign(1.0, z.parents[1].data) == -1.0 and math.copysign(1.0, z.data) == -1.0
    for k in range(5000):
        Value(1.0) + (k + 0.5)
    assert len(engine.constants) <= 4096


def test_repeated_build_backward_free_cycles_do_not_grow_memory():
    import array
    import tracemalloc

    def cycle():
        x = Value(1.0)
        y = x
        for _ in range(2000):
            y = (y * 1.0001 + 0.001).tanh()
        y.backward()

    held = array.array("d", [0.0] * 13)  # storing a number here allocates nothing
    tracemalloc.start()
    try:
        for k in range(13):
            cycle()
            held[k] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # the first cycles fill the interpreter's free lists (bounded caches); after that, ten graphs of 6,000 nodes
    # (about 800 KB each) leave less than 10 KB in all
    assert held[12] - held[2] < 10_000, list(held)


def test_one_no_grad_object_shared_by_eight_threads():
    shared = no_grad()
    errors, start = [], threading.Barrier(8)

    def work():
        try:
            start.wait()
            for _ in range(300):
                with shared:
                    assert (Value(1.0) * 2).parents == ()
                assert len((Value(1.0) * 2).parents) == 2
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as Python can, inside the with blocks too
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and len((Value(1.0) * 2).parents) == 2


def test_no_grad_on_a_generator_holds_while_it_runs():
    @no_grad
    def recorded(n):
        got = yield len((Value(1.0) * 2).parents)
        for _ in range(n):
            got = yield (got, len((Value(1.0) * 2).parents))
        return "done"

    g = recorded(2)
    assert next(g) == 0
    assert len((Value(1.0) * 2).parents) == 2  # outside the generator, recording is on
    assert g.send("a") == ("a", 0) and g.send("b") == ("b", 0)
    with pytest.raises(StopIteration) as stop:
        g.send("c")
    assert stop.value.value == "done" and len((Value(1.0) * 2).parents) == 2

    @no_grad()
    def catching():
        try:
            yield 1
        except KeyError:
            yield len((Value(1.0) * 2).parents)

    c = catching()
    assert next(c) == 1 and c.throw(KeyError("k")) == 0
    c.close()
    assert len((Value(1.0) * 2).parents) == 2


# ----- .data and .grad changed by hand ------------------------------------------------------------------------------

def test_backward_reads_data_when_it_runs_which_the_readme_promises():
    # The promise (docs/engine.md, "What backward() does"): local derivatives are read from .data when it runs.
    x = Value(2.0)
    y = x * x
    x.data = 3.0  # changed between the forward pass and backward(): the derivative is the one at the new point
    y.backward()
    assert x.grad == 6.0 and y.data == 4.0
    readme = (Path(__file__).resolve().parent.parent / "docs" / "engine.md").read_text()
    assert "read from `.data` when `backward()` runs" in readme


def test_optimizer_updates_after_backward_keep_working():
    import nn
    model = nn.MLP(2, [4, 1])
    opt = nn.SGD(model.parameters(), lr=0.1)
    x = [0.5, -1.0]
    losses = []
    for _ in range(20):
        loss = (model(x)[0] - 1.0) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()  # p.data -= lr * p.grad, after backward: the next forward uses the new numbers
        losses.append(loss.data)
    assert losses[-1] < losses[0] * 0.1


@pytest.mark.parametrize("bad", ["a", None, [1.0]], ids=["str", "None", "list"])
def test_data_set_to_a_non_number_is_a_clear_error_at_the_next_op_and_in_backward(bad):
    x = Value(2.0, label="x")
    x.data = bad
    with pytest.raises(TypeError) as info:
        x * 2
    assert "*" in str(info.value) and ".data" in str(info.value) and type(bad).__name__ in str(info.value)
    x = Value(2.0, label="x")
    y = x * Value(3.0)
    x.data = bad
    assert y.grad_fn is not None  # the graph is already built: backward() finds the bad number
    w = Value(1.0)
    w.grad = 7.0
    z = y * w
    with pytest.raises(TypeError) as info:
        z.backward()
    assert "'x'" in str(info.value) and ".data" in str(info.value) and type(bad).__name__ in str(info.value)
    assert w.grad == 7.0


def test_grad_set_to_none_starts_over_and_a_bad_grad_is_a_clear_error():
    x = Value(2.0)
    x.grad = None  # PyTorch's way to reset a gradient
    (x * 3).backward()
    assert x.grad == 3.0
    x.grad = "a"
    with pytest.raises(TypeError, match=r"\.grad.*'a'.*0\.0"):
        (x * 3).backward()
    assert x.grad == "a"  # as it was
