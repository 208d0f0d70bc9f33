"""The engine's core: every op of the table, its chain rule against what backward() applies, parents, the
not-computed state through copies and pickles, Constants, and internal names that stay inside their module."""
import ast
import copy
import math
import pickle
import random
import sys
from pathlib import Path

import pytest

import autodiff
from autodiff import Constant, Value, engine, grad, grad_mode, hessian, ops
from autodiff.engine import grad_computed

ROOT = Path(__file__).resolve().parent.parent


def point(op, rng):
    """A random point inside the op's domain, away from kinks."""
    x, y = rng.uniform(0.2, 2.0) * rng.choice([-1, 1]), rng.uniform(0.2, 2.0) * rng.choice([-1, 1])
    if op.name in ("log", "sqrt", "**"):
        x = abs(x)
    return (x, y)[:op.n]


CASES = [(op, seed) for op in engine.OPS for seed in range(4)]
IDS = [f"{engine.OPS.index(op)}{op.name}-{seed}" for op, seed in CASES]


def test_the_table_lists_every_op_once_and_each_op_has_one_formula_per_input():
    assert [key + "_op" for key in engine.TABLE] == [op.__qualname__ for op in engine.OPS]
    for op in engine.OPS:
        assert len(op.formulas) == op.n + 1 and op.n in (1, 2)
        assert getattr(ops, op.__qualname__) is op


@pytest.mark.parametrize("op, seed", CASES, ids=IDS)
def test_chain_rule_equals_what_backward_applies(op, seed):
    rng = random.Random(seed)
    xs = [Value(v) for v in point(op, rng)]
    z = op(*xs)
    g = rng.uniform(-2, 2)
    z.backward(g)
    rule = Value(z.data)  # a fresh graph, so that the rule sees grads that backward() never touched
    ys = [Value(x.data) for x in xs]
    contributions = op(*ys).chain_rule()(g)
    assert [p for p, _ in contributions] == ys
    assert [c for _, c in contributions] == [x.grad for x in xs]  # the same floats, bit for bit
    assert all(type(c) is float for _, c in contributions) and rule.data == z.data


@pytest.mark.parametrize("op, seed", CASES, ids=IDS)
def test_chain_rule_of_higher_order_equals_central_differences_of_the_first_order_one(op, seed):
    rng = random.Random(seed)
    p = point(op, rng)
    h = 1e-6

    def first(at):  # d op / d input, each, from the chain rule on floats
        xs = [Value(v) for v in at]
        got = dict(op(*xs).chain_rule()(1.0))
        return [got[x] for x in xs]

    analytic = hessian(lambda *a: op(*a), argnums=tuple(range(op.n)))(*p)  # through the rules on Values
    for j in range(op.n):
        up, down = list(p), list(p)
        up[j] += h
        down[j] -= h
        for i in range(op.n):
            numeric = (first(up)[i] - first(down)[i]) / (2 * h)
            assert analytic[i][j] == pytest.approx(numeric, rel=1e-5, abs=1e-6), (op.name, i, j)
    for i in range(op.n):  # symmetric, to rounding
        for j in range(op.n):
            assert analytic[i][j] == pytest.approx(analytic[j][i], rel=1e-12, abs=1e-15)


def test_hessian_through_rules_that_read_the_output():
    # exp, sqrt, tanh and sigmoid use `out` in their rule; the second derivative must still be right
    for f, d2 in [(lambda x: x.exp(), math.exp), (lambda x: x.sqrt(), lambda x: -0.25 * x ** -1.5),
                  (lambda x: x.tanh(), lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2)),
                  (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 2 * s))]:
        assert hessian(f)(0.7) == pytest.approx(d2(0.7), rel=1e-12)
        assert grad(grad(grad(f)))(0.7) == pytest.approx((hessian(f)(0.7 + 1e-6) - hessian(f)(0.7 - 1e-6)) / 2e-6,
                                                         rel=1e-5)


def test_chain_rule_reads_as_the_formula_with_the_names_and_the_numbers():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    z = x * y
    z.label = "z"
    text = repr(z.chain_rule())
    assert text.splitlines() == ["chain rule of z = x * y:", "  grad(x) += grad(z) * y   (= -3.0)",
                                 "  grad(y) += grad(z) * x   (= 2.0)"]
    e = x.exp()
    e.label = "e"
    assert "grad(x) += grad(e) * e" in repr(e.chain_rule())
    assert "(= 2.0)" not in repr((x * 2).chain_rule()) and "grad(2.0)" not in repr((x * 2).chain_rule())
    assert repr(x.chain_rule()) == "chain rule of x: none (a leaf)" and x.chain_rule()(1.0) == []
    cube = autodiff.primitive(lambda t: 3 * t * t)(lambda t: t ** 3)
    assert "grad(x) += grad(out) * d<lambda>/dx" in repr(cube(x).chain_rule())
    assert cube(x).chain_rule()(2.0) == [(x, 24.0)]


def test_the_chain_rule_is_built_on_demand_and_never_stored():
    x = Value(2.0)
    z = x * x
    assert z.chain_rule() is not z.chain_rule()
    assert not hasattr(z, "__dict__")  # nothing can be cached on a node


@pytest.mark.parametrize("make, parents", [
    (lambda x, y: x + y, lambda x, y: (x, y)),
    (lambda x, y: y * x, lambda x, y: (y, x)),
    (lambda x, y: x - 2, lambda x, y: (x, Constant(2.0))),
    (lambda x, y: 2 - x, lambda x, y: (Constant(2.0), x)),
    (lambda x, y: 3 / y, lambda x, y: (Constant(3.0), y)),
    (lambda x, y: x ** 2, lambda x, y: (x, Constant(2.0))),
    (lambda x, y: 2 ** x, lambda x, y: (Constant(2.0), x)),
    (lambda x, y: x ** y, lambda x, y: (x, y)),
    (lambda x, y: x * x, lambda x, y: (x, x)),
    (lambda x, y: x.leaky_relu(0.2), lambda x, y: (x, Constant(0.2))),
    (lambda x, y: autodiff.leaky_relu(x, y), lambda x, y: (x, y)),
    (lambda x, y: -x, lambda x, y: (x,)),
    (lambda x, y: abs(y), lambda x, y: (y,)),
    (lambda x, y: y.exp(), lambda x, y: (y,)),
    (lambda x, y: autodiff.tanh(x), lambda x, y: (x,)),
    (lambda x, y: sum([x, y]), lambda x, y: (Constant(0.0), x)),
])
def test_parents_in_argument_order_with_multiplicity(make, parents):
    x, y = Value(1.5), Value(0.5)
    z = make(x, y)
    want = parents(x, y)
    if z.op == "+" and z.parents[0] is not x and type(z.parents[0]) is not Constant:
        z = z.parents[0]  # sum([x, y]) is (0 + x) + y: look at the inner node
    assert isinstance(z.parents, tuple) and len(z.parents) == len(want)
    for got, expected in zip(z.parents, want):
        assert got is expected


def test_a_primitive_of_three_inputs_keeps_its_parents_and_gradients():
    f = autodiff.primitive(lambda a, b, c: b * c, lambda a, b, c: a * c, lambda a, b, c: a * b)(
        lambda a, b, c: a * b * c)
    a, b = Value(2.0), Value(3.0)
    z = f(a, b, 4)
    assert z.parents == (a, b, Constant(4.0)) and z.data == 24.0
    z.backward()
    assert (a.grad, b.grad) == (12.0, 8.0)
    assert grad(lambda p: f(p, p, p))(2.0) == 12.0


def test_constant_has_one_working_constructor_and_is_the_shared_one():
    c = Constant(2)
    assert c is Constant(2.0) and c.data == 2.0 and type(c.data) is float
    assert (Value(1.0) * 2).parents[1] is c
    assert Constant(-0.0) is not Constant(0.0) and math.copysign(1, Constant(-0.0).data) == -1
    with pytest.raises(TypeError, match="Constant"):
        Constant("2")
    with pytest.raises(AttributeError, match="shared"):
        c.grad = 1.0
    assert pickle.loads(pickle.dumps(c)) is c and copy.deepcopy(c) is c


def test_not_computed_survives_copies_and_pickles_and_a_computed_zero_stays_computed():
    x = Value(2.0, label="x")
    y = x * 3.0 + x.exp()
    assert not grad_computed(x) and x.grad == 0.0 and type(x.grad) is float
    for clone in (copy.copy(y), copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert not grad_computed(clone) and clone.grad == 0.0
        assert [p.data for p in clone.parents] == [6.0, math.exp(2.0)] and clone.data == y.data
    y.backward()
    for clone in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert grad_computed(clone) and clone.grad == 1.0
        leaf = clone.parents[0].parents[0]
        assert leaf.label == "x" and leaf.grad == x.grad and grad_computed(leaf)
    z = Value(1.0)
    z.grad = 0.0
    assert grad_computed(z) and grad_computed(pickle.loads(pickle.dumps(z)))
    (z * 0.0).backward()
    assert grad_computed(z) and z.grad == 0.0


def test_a_copied_graph_backpropagates_like_the_original():
    x = Value(0.3)
    y = (x * x).tanh() + x.sigmoid()
    clone = pickle.loads(pickle.dumps(y))
    y.backward()
    clone.backward()
    assert clone.parents[0].parents[0].parents[0].grad == x.grad


def test_errors_are_exported_and_printed_as_autodiff_errors():
    assert autodiff.DomainError is engine.DomainError and issubclass(autodiff.DomainError, ValueError)
    assert autodiff.RangeError is engine.RangeError and issubclass(autodiff.RangeError, OverflowError)
    assert f"{autodiff.DomainError.__module__}.{autodiff.DomainError.__name__}" == "autodiff.DomainError"


def test_a_failed_backward_leaves_every_leaf_as_it_was():
    x, w = Value(0.0), Value(2.0)
    w.grad = 5.0
    y = (x * w).sqrt()  # sqrt'(0) is infinite: backward() refuses
    with pytest.raises(autodiff.DomainError, match="sqrt"):
        y.backward()
    assert w.grad == 5.0 and not grad_computed(x)


def test_no_grad_counter_returns_to_zero_and_threads_keep_recording():
    import threading
    assert grad_mode.paused == 0
    with autodiff.no_grad():
        assert grad_mode.paused == 1
        seen = []
        t = threading.Thread(target=lambda: seen.append(len((Value(1.0) * 2).parents)))
        t.start()
        t.join()
        assert (Value(1.0) * 2).parents == () and seen == [2]
    assert grad_mode.paused == 0
    with pytest.raises(ZeroDivisionError):
        with autodiff.no_grad():
            _ = 1 / 0
    assert grad_mode.paused == 0 and len((Value(1.0) * 2).parents) == 2


def _private_names_used_across_modules(path):
    """(line, name) of every private name a module imports from, or reads off, another module of ours."""
    tree = ast.parse(path.read_text())
    ours = {"autodiff", "nn", "engine", "errors", "draw", "animate", "compile", "functional", "gradcheck", "files",
            "module", "losses", "optim", "serialize", "interop"}
    modules = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in ours):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append((node.lineno, alias.name))
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name.split(".")[0] in ours)
        if isinstance(node, ast.ImportFrom) and node.level:
            modules.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "autodiff").glob("*.py")) + sorted((ROOT / "nn").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_name_crosses_a_module(path):
    assert _private_names_used_across_modules(path) == []


def test_the_private_name_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .engine import _topo\nfrom . import engine\nengine._constants\n")
    assert _private_names_used_across_modules(bad) == [(1, "_topo"), (3, "engine._constants")]


def test_the_op_table_comes_early_in_the_engine():
    lines = (ROOT / "autodiff" / "engine.py").read_text().splitlines()
    assert lines.index(next(line for line in lines if line.startswith("TABLE = {"))) < 120
    assert lines.index("class Value:") < 30


def test_backward_in_threads_that_share_parameters_adds_every_pass():
    import threading
    xs = [float(k % 7) for k in range(400)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as Python can, so that passes would interleave
    try:
        for trial in range(10):
            w = Value(0.0)

            def work():
                for _ in range(25):
                    loss = sum(w * x for x in xs)  # noqa: B023 (d loss / d w = sum(xs), exact in floats)
                    loss.backward()

            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert w.grad == 4 * 25 * sum(xs), trial
    finally:
        sys.setswitchinterval(interval)


def test_a_pass_that_fails_while_adding_back_old_grads_leaves_every_leaf_as_it_was():
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = "not a number", 20.0  # the last step of backward(), old + new, fails on a
    out = a * b + a
    with pytest.raises(TypeError):
        out.backward()
    assert (a.grad, b.grad) == ("not a number", 20.0) and not grad_computed(out)


def test_a_failed_pass_raises_one_clear_error_naming_the_op():
    x = Value(0.0)
    with pytest.raises(autodiff.DomainError, match=r"sqrt\(0.0\): the derivative") as info:
        (x * 2.0).sqrt().backward()
    cause = info.value.__cause__  # the rule's own ZeroDivisionError, and nothing before it:
    assert isinstance(cause, ZeroDivisionError) and cause.__context__ is None  # no "during handling of ..."


def test_subclasses_keep_their_own_attributes_through_copies_and_pickles():
    t = Tagged(1.0)
    t.tag, t.note = "slot", "dict"
    for clone in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert type(clone) is Tagged and (clone.tag, clone.note, clone.data) == ("slot", "dict", 1.0)
        assert not grad_computed(clone)


class Tagged(Value):
    __slots__ = ("tag", "__dict__")


def test_ops_made_from_formulas_copy_and_pickle():
    twice = autodiff.Op("twice", "2 * x", "2.0")
    x = Value(3.0)
    for clone in (copy.deepcopy(twice(x)), pickle.loads(pickle.dumps(twice(x)))):
        assert clone.op == "twice" and clone.data == 6.0
        clone.backward()
        assert clone.parents[0].grad == 2.0
    assert pickle.loads(pickle.dumps(autodiff.ops.mul_op)) is autodiff.ops.mul_op


@pytest.mark.parametrize("make, lines", [
    (lambda a, b: a * a, ["chain rule of out = a * a:", "  grad(a) += grad(out) * a   (= 3.0)",
                          "  grad(a) += grad(out) * a   (= 3.0)"]),
    (lambda a, b: -3 / b, ["chain rule of out = (-3.0) / b:", "  grad(b) += grad(out) * (-out / b)   (= 0.75)"]),
    (lambda a, b: b ** 2, ["chain rule of out = b ** 2.0:", "  grad(b) += grad(out) * (2.0 * b ** (2.0 - 1))   (= 4.0)"]),
    (lambda a, b: b.leaky_relu(), ["chain rule of out = leaky_relu(b, 0.01):",
                                   "  grad(b) += grad(out) * (1.0 if b > 0 else 0.01)   (= 1.0)"]),
    (lambda a, b: Value(1.0, label="out") * b, ["chain rule of out' = out * b:", "  grad(out) += grad(out') * b   (= 2.0)",
                                                 "  grad(b) += grad(out') * out   (= 1.0)"]),
    (lambda a, b: Value(1.0, label="u+v") * b, ["chain rule of out = (u+v) * b:",
                                                 "  grad(u+v) += grad(out) * b   (= 2.0)",
                                                 "  grad(b) += grad(out) * (u+v)   (= 1.0)"]),
    (lambda a, b: Value(0.0, label="s").sqrt(), ["chain rule of out = sqrt(s):",
                                                 "  grad(s) += grad(out) * (0.5 / out)   (= undefined here)"]),
    (lambda a, b: Value(2.0) * Value(3.0, label="x"), ["chain rule of out = x' * x:",
                                                       "  grad(x') += grad(out) * x   (= 3.0)",
                                                       "  grad(x) += grad(out) * x'   (= 2.0)"]),
    (lambda a, b: b * -0.0, ["chain rule of out = b * (-0.0):", "  grad(b) += grad(out) * (-0.0)"]),
    (lambda a, b: Value(1.0, label="u+v").exp(), ["chain rule of out = exp(u+v):",
                                                  f"  grad(u+v) += grad(out) * out   (= {math.e!r})"]),
])
def test_chain_rule_text_a_learner_can_trust(make, lines):
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    assert repr(make(a, b).chain_rule()).splitlines() == lines


def test_constant_exponent_and_constant_construction():
    assert (Value(-2.0) ** Constant(2.0)).data == 4.0  # a Constant exponent is a number, as in Value(-2) ** 2
    with pytest.raises(TypeError, match=r"no label of its own; use Value\(2.0, label=...\)"):
        Constant(2.0, "two")  # a shared Constant has no label of its own
    with pytest.raises(TypeError, match="exp takes 1 input"):
        autodiff.ops.exp_op()
