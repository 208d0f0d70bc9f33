"""micrograd's own notebooks, demo.ipynb and trace_graph.ipynb, run on autodiff with only their imports changed
(`micrograd.` -> `autodiff.micrograd.`), against micrograd 0.1.0 itself in the same test: the same losses, the same
drawn nodes and edges. Also micrograd's attributes (_prev, _op, _backward) and format specs on every op."""
import importlib
import math
import random

import pytest

import autodiff
from autodiff import Value

micrograd_engine = pytest.importorskip("micrograd.engine", reason="micrograd 0.1.0 is the reference: "
                                                                  "pip install -e '.[test]'")


def demo_ipynb(engine, nn_module, steps=100):
    """micrograd's demo.ipynb, cell by cell (the plotting cells left out), with its classes passed in: returns the
    printed model, the first loss and accuracy, and every step's loss and accuracy."""
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets", reason="demo.ipynb makes its data with scikit-learn: "
                                                              "pip install -e '.[test]'")
    Value, MLP = engine.Value, nn_module.MLP  # noqa: N806  (the notebook's own names)
    np.random.seed(1337)
    random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1
    model = MLP(2, [16, 16, 1])  # 2-layer neural network
    printed = [str(model), len(model.parameters())]

    def loss(batch_size=None):
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    total_loss, acc = loss()
    printed.append((total_loss.data, acc))
    history = []
    for k in range(steps):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.data, acc))
    h = 0.25  # the decision boundary cell, without the plot
    x_min, x_max = X[:, 0].min() - 1, X[:, 0].max() + 1
    y_min, y_max = X[:, 1].min() - 1, X[:, 1].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Xmesh = np.c_[xx.ravel(), yy.ravel()]
    inputs = [list(map(Value, xrow)) for xrow in Xmesh]
    scores = list(map(model, inputs))
    Z = np.array([s.data > 0 for s in scores])
    return printed, history, Z


def print_micrograd_reference():
    """demo.ipynb on micrograd 0.1.0 itself, as JSON on stdout (run in another process: conftest.py)."""
    import json

    import micrograd.engine
    import micrograd.nn
    printed, history, boundary = demo_ipynb(micrograd.engine, micrograd.nn)
    print(json.dumps([printed[:2] + [list(printed[2])], history, boundary.tolist()]))


@pytest.mark.slow
def test_demo_ipynb_runs_unchanged_and_gives_micrographs_losses(request):
    import json

    import autodiff.micrograd.engine
    import autodiff.micrograd.nn
    ours = demo_ipynb(autodiff.micrograd.engine, autodiff.micrograd.nn)
    run = request.config.micrograd_reference  # started when the tests were collected (conftest.py)
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err
    printed, history, boundary = json.loads(out)
    theirs = (printed[:2] + [tuple(printed[2])], [tuple(h) for h in history], __import__("numpy").array(boundary))
    assert ours[0][:2] == theirs[0][:2]  # "MLP of [Layer of [ReLUNeuron(2), ...", 337 parameters
    assert ours[0][2] == pytest.approx(theirs[0][2], rel=1e-9)
    assert len(ours[1]) == 100
    for (loss, acc), (their_loss, their_acc) in zip(ours[1], theirs[1]):
        assert loss == pytest.approx(their_loss, rel=1e-9) and acc == their_acc
    assert ours[1][-1][1] == 1.0  # it learns the moons, as micrograd does
    assert (ours[2] == theirs[2]).all()  # the same decision boundary


def trace(root):  # trace_graph.ipynb's, verbatim
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def draw_dot(root, format='svg', rankdir='LR'):  # trace_graph.ipynb's, verbatim
    """
    format: png | svg | ...
    rankdir: TB (top to bottom graph) | LR (left to right)
    """
    from graphviz import Digraph
    assert rankdir in ['LR', 'TB']
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})  # , node_attr={'rankdir': 'TB'})

    for n in nodes:
        dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape='record')
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))

    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)

    return dot


def trace_graph_ipynb(engine, nn_module):
    """trace_graph.ipynb's cells: the simple example and the 2D neuron, drawn; returns both roots and drawings."""
    Value = engine.Value  # noqa: N806
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    first = (y, draw_dot(y))
    random.seed(1337)
    n = nn_module.Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    y.backward()
    return first, (y, draw_dot(y))


def _drawn(root):
    """What draw_dot draws, independent of object ids: the records (data, grad) and the op nodes, by position in
    the graph, and the edges between them."""
    nodes, edges = trace(root)
    name = {}
    for v in sorted(nodes, key=lambda v: (v.data, v._op)):
        name[v] = f"{v.data:.4f}/{v._op.lower()}"
    return sorted((name[v], "%.4f" % v.grad) for v in nodes), sorted((name[a], name[b]) for a, b in edges)


def test_trace_graph_ipynb_draws_micrograds_nodes_and_edges(tmp_path):
    pytest.importorskip("graphviz", reason="trace_graph.ipynb draws with the graphviz package")
    import micrograd.nn

    import autodiff.micrograd.engine
    import autodiff.micrograd.nn
    theirs = trace_graph_ipynb(micrograd_engine, micrograd.nn)
    ours = trace_graph_ipynb(autodiff.micrograd.engine, autodiff.micrograd.nn)
    for (our_root, our_dot), (their_root, their_dot) in zip(ours, theirs):
        our_nodes, our_edges = _drawn(our_root)
        their_nodes, their_edges = _drawn(their_root)
        assert our_edges == their_edges  # the same nodes, wired the same way (relu is 'ReLU' in micrograd)
        # the same records; a number's leaf (2 and 1 in x * 2 + 1) is a Constant here, with no gradient
        constants = {f"{v.data:.4f}/" for v in trace(our_root)[0] if type(v) is autodiff.Constant}
        assert [r for r in our_nodes if r[0] not in constants] == [r for r in their_nodes if r[0] not in constants]
        assert our_dot.source.count("->") == their_dot.source.count("->")
        assert our_dot.source.count("shape=record") == their_dot.source.count("shape=record")
    if __import__("shutil").which("dot"):
        ours[1][1].render(tmp_path / "gout")  # the notebook's last cell
        assert (tmp_path / "gout.svg").stat().st_size > 0


# ----- micrograd's attributes on every op ------------------------------------------------------------------------

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
       "**": lambda a, b: a ** 3, "neg": lambda a, b: -a, "abs": lambda a, b: abs(a), "exp": lambda a, b: a.exp(),
       "log": lambda a, b: a.log(), "sqrt": lambda a, b: a.sqrt(), "tanh": lambda a, b: a.tanh(),
       "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu(), "sin": lambda a, b: a.sin(),
       "cos": lambda a, b: a.cos(), "leaky_relu": lambda a, b: a.leaky_relu(b)}


@pytest.mark.parametrize("symbol", OPS)
def test_prev_op_and_backward_on_every_op(symbol):
    a, b = Value(0.7, label="a"), Value(1.3, label="b")
    out = OPS[symbol](a, b)
    assert out._op == symbol and a._op == "" and a._prev == set()
    assert out._prev == set(out.parents)
    with pytest.raises(AttributeError):
        out._op = "x"
    with pytest.raises(AttributeError):
        out._prev = set()
    out.grad = 1.0
    out._backward()  # the node's chain rule, once, into its parents' grads
    expected = dict.fromkeys(p for p in out.parents if type(p) is not autodiff.Constant)
    for p, d in zip(out.parents, out.chain_rule().local_grads):
        if d is not None:
            expected[p] = (expected[p] or 0.0) + d
    assert {p: p.grad for p in expected} == expected
    a.grad = b.grad = 0.0
    out.backward()
    assert {p: p.grad for p in expected} == expected  # the same as backward() gives


def test_the_lecture_walks_the_chain_rule_node_by_node():
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    n = x1w1 + x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    for v in (o, n, n._x, x1w1, x2w2):  # as the lecture calls them, last node first
        v._backward()
    by_hand = (x1.grad, w1.grad, x2.grad, w2.grad)
    for v in (x1, x2, w1, w2, b):
        v.grad = 0.0
    o.backward()
    assert by_hand == (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


def test_format_specs_format_the_number_and_round_is_refused():
    v = Value(1.23456789) * 2
    assert f"{v:.4f}" == "2.4691" and format(v, ">10.2e") == "  2.47e+00" and f"{v:g}" == "2.46914"
    assert f"{v}" == repr(v) == str(v) and "{}".format(v) == repr(v)
    with pytest.raises(TypeError, match=r"round\(\) of a Value.*round\(v.data, 2\)"):
        round(v)
    with pytest.raises(TypeError, match="round"):
        round(v, 2)
    assert round(v.data, 2) == 2.47


def test_autodiff_micrograd_models_print_and_initialise_as_micrographs():
    import micrograd.nn

    import autodiff.micrograd.nn as ours
    for make in (lambda m: m.Neuron(3), lambda m: m.Neuron(3, nonlin=False), lambda m: m.Layer(2, 3),
                 lambda m: m.Layer(2, 1), lambda m: m.MLP(3, [4, 4, 1])):
        random.seed(7)
        theirs_model = make(micrograd.nn)
        random.seed(7)
        our_model = make(ours)
        assert repr(our_model) == repr(theirs_model)
        assert [p.data for p in our_model.parameters()] == [p.data for p in theirs_model.parameters()]
        x = [0.5, -1.5, 2.0][:len(getattr(our_model, "w", None) or our_model.parameters()[:2])]
        x = [0.5, -1.5, 2.0] if isinstance(our_model, (ours.MLP, ours.Neuron)) else [0.5, -1.5]
        got, want = our_model(x), theirs_model(x)
        if isinstance(want, list):
            assert [v.data for v in got] == [w.data for w in want]
        else:
            assert isinstance(got, Value) and got.data == want.data  # a Layer of one neuron: the bare Value
        our_model.zero_grad()
        assert all(p.grad == 0 for p in our_model.parameters())
    assert importlib.import_module("autodiff.micrograd.engine").Value is Value
    assert math.isfinite(ours.MLP(2, [3, 1])([1.0, 2.0]).data)


def test_micrograd_classes_do_not_shadow_nns_when_a_file_is_read(tmp_path):
    import json

    import autodiff.micrograd.nn  # noqa: F401  (defines another MLP, Layer and Neuron)
    from nn import MLP
    MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    data["config"]["nouts"] = [3000, 3000, 1]
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="9015001"):  # nn's MLP checks the size, as without autodiff.micrograd
        MLP.load(tmp_path / "m.json")
