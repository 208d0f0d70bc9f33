"""draw(): the DOT text (no Graphviz program needed), rendering to SVG, collapsing big graphs, and the text tree."""
import re
import shutil
import sys
from xml.etree import ElementTree

import pytest

import autodiff
from autodiff import GraphvizMissing, Value, draw, save_svg
from autodiff.draw import local_derivatives

graphviz = pytest.importorskip("graphviz", reason="the graphviz package is not installed: pip install -e '.[draw]'")

HAS_DOT = shutil.which("dot") is not None
try:
    import pygraphviz  # noqa: F401
    HAS_PYGRAPHVIZ = True
except ImportError:
    HAS_PYGRAPHVIZ = False
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed (apt-get install graphviz)")
needs_renderer = pytest.mark.skipif(not (HAS_DOT or HAS_PYGRAPHVIZ),
                                    reason="neither Graphviz's dot nor pygraphviz is installed")

EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[(.*)\]$", re.M)
NODE = re.compile(r"^\s*(\w+) \[(.*)\]$", re.M)


def edges(source):
    return [(a, b, attrs) for a, b, attrs in EDGE.findall(source)]


def nodes(source):
    return {name: attrs for name, attrs in NODE.findall(source) if name not in ("graph", "node", "edge")}


def value_records(source):
    """The records that show Values (a Constant is drawn as a small record beside each of its uses)."""
    return [a for n, a in nodes(source).items() if "shape=record" in a and re.fullmatch(r"v\d+", n)]


def ids(source, value_node):
    """The DOT id of the record that shows value_node (its label must be unique)."""
    for name, attrs in nodes(source).items():
        if f'label="{{ {value_node.label} |' in attrs:
            return name
    raise AssertionError(f"no node for {value_node.label}")


def test_a_value_used_twice_has_two_edges():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    src = draw(b).source
    ia = ids(src, a)
    into_op = [e for e in edges(src) if e[0] == ia]
    assert len(into_op) == 2 and {e[1] for e in into_op} == {ids(src, b) + "op"}


def test_one_record_per_value_one_op_node_per_op_and_edges_in_argument_order():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    diff = x - y
    diff.label = "d"
    z = diff * x
    z.label = "z"
    src = draw(z).source
    records = [n for n, attrs in nodes(src).items() if "shape=record" in attrs]
    ops = [n for n, attrs in nodes(src).items() if "shape=circle" in attrs]
    assert len(records) == 4 and len(ops) == 2  # x, y, d, z; and the ops - and *
    into = lambda node: sorted((re.search(r"id=(\w+)", attrs).group(1), a)  # noqa: E731
                               for a, b, attrs in edges(src) if b == ids(src, node) + "op")
    assert [a for _, a in into(diff)] == [ids(src, x), ids(src, y)]  # edge e0 comes from x, e1 from y
    assert [a for _, a in into(z)] == [ids(src, diff), ids(src, x)]
    assert [e[0] for e in into(z)] == [ids(src, z) + "e0", ids(src, z) + "e1"]


def test_same_graph_same_dot_and_no_colons_in_ids():
    def build():
        w = Value(0.5, label="w")
        x = Value(2.0, label="x:1")
        out = (w * x + 1).tanh() * w
        out.backward()
        return draw(out).source

    a, b = build(), build()
    assert a == b
    assert all(":" not in n for n in nodes(a)) and all(":" not in e[0] + e[1] for e in edges(a))


@pytest.mark.parametrize("label", ['a{b}c', "p|q", "<html>", 'say "hi"', "two\nlines", "back\\slash", "x:y"])
def test_labels_are_escaped(label):
    v = Value(1.0, label=label)
    out = v * 2
    src = draw(out).source
    record = next(attrs for attrs in nodes(src).values() if "shape=record" in attrs and "data 1 " in attrs)
    inside = re.search(r'label="\{ (.*) \| data', record).group(1)
    assert re.sub(r"\\.", "", inside).count("{") == 0  # every special character is escaped
    assert not re.search(r'(?<!\\)[{}|<>]', inside) and not re.search(r'(?<!\\)"', inside)
    if HAS_DOT:
        svg = graphviz.pipe("dot", "svg", src.encode())
        texts = [t.text for t in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
        for part in label.split("\n"):
            assert part in texts


def test_a_constant_is_drawn_beside_each_use():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    out = x * 2 + y * 2  # one shared Constant, two uses
    src = draw(out).source
    constants = [n for n, a in nodes(src).items() if "dashed" in a]
    assert len(constants) == 2 and all(re.fullmatch(r"v\d+c\d", n) for n in constants)
    assert all(len([e for e in edges(src) if e[0] == c]) == 1 for c in constants)


def test_kinds_have_their_own_styles():
    from nn import Neuron

    n = Neuron(1, "linear")
    x = Value(2.0, label="x")
    out = n([x]) * 3
    out.label = "out"
    src = draw(out).source
    styles = {name: attrs for name, attrs in nodes(src).items() if "shape=record" in attrs}
    fill = {name: re.search(r'fillcolor="([^"]+)"', a).group(1) for name, a in styles.items()}
    w, b = n.w[0], n.b
    assert fill[ids(src, x)] != fill[ids(src, w)]  # input vs parameter
    assert fill[ids(src, w)] == fill[ids(src, b)]
    assert "bold" in styles[ids(src, out)]  # the root
    constant = [a for a in styles.values() if "dashed" in a]
    assert len(constant) == 1 and '"{ 3 }"' in constant[0]  # constants show their number only
    legend = re.search(r"label=<(.*)>", src).group(1)
    for word in ["root", "parameter", "input", "constant"]:
        assert word in legend


def test_numbers_are_readable():
    from autodiff.draw import fmt

    assert [fmt(x) for x in [0.0, 1e-7, 0.30000000000000004, 2.0, -1234567.0, 1e300]] == \
           ["0", "1e-07", "0.3", "2", "-1.235e+06", "1e+300"]


def test_before_backward_grads_are_not_computed_not_zero():
    x = Value(2.0, label="x")
    y = x * x
    src = draw(y).source
    assert src.count("grad not computed") == 2 and "no backward() yet" in src and "grad 0" not in src
    y.backward()
    src = draw(y).source
    assert "not computed" not in src and "grad 4" in src
    x.grad = 0.0  # what zero_grad() does: a computed zero from now on
    assert "grad 0" in draw(y).source


def test_edge_labels_are_the_local_derivatives_and_the_chain_rule_reads_off_the_picture():
    x, y = Value(0.7, label="x"), Value(-1.3, label="y")
    z = (x * y).tanh() + x.exp() / y + abs(y) ** 2
    z.backward()
    src = draw(z, show_local=True).source
    labels = {re.search(r"id=(\w+)", attrs).group(1): re.search(r"label=(\"[^\"]*\"|[^ \]]+)", attrs).group(1)
              for _, _, attrs in edges(src) if "label=" in attrs}
    from autodiff.draw import Graph, fmt
    g = Graph(z, "LR", True, True, 500)
    children = {}
    for node in g.order:
        if node.parents:
            for i, (p, d) in enumerate(zip(node.parents, local_derivatives(node))):
                if d is not None:
                    assert labels[f"{g.node_id(node)}e{i}"].strip('"') == fmt(d)
                    children.setdefault(p, []).append(node.grad * d)
    for p, parts in children.items():  # a node's grad = sum over its edges of downstream grad x label
        assert p.grad == pytest.approx(sum(parts), rel=1e-12)
    assert len(children) == len(g.order) - 2  # every value but the root and the constant 2 feeds an edge


def _all(root):
    from autodiff.engine import topological_order
    return topological_order(root)


def test_show_grad_and_show_local_switch_parts_off():
    x = Value(2.0, label="x")
    y = x * 3
    y.backward()
    plain = draw(y, show_grad=False, show_local=False).source
    assert "grad" not in plain.split("edge [")[1] and not [e for e in edges(plain) if "label=3" in e[2]]
    assert "label=3" in draw(y).source


def test_bad_arguments():
    with pytest.raises(TypeError, match="Value"):
        draw(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw(Value(1.0), rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes"):
        draw(Value(1.0), max_nodes=0)


# ----- big graphs ------------------------------------------------------------------------------------------------

def _mlp_loss(samples, sizes=(2, [16, 16, 1])):
    from nn import MLP, hinge_loss

    model = MLP(*sizes, seed=0)
    xs = [[0.1 * i, -0.05 * i] for i in range(samples)]
    loss = hinge_loss([model(x)[0] for x in xs], [1 if i % 2 else -1 for i in range(samples)])
    loss.backward()
    return model, loss


def test_big_nn_graphs_collapse_into_neurons_then_layers():
    model, loss = _mlp_loss(10)
    n_values = len(_all(loss))
    assert n_values > 500
    src = draw(loss, max_nodes=500).source
    records = value_records(src)
    groups = [a for a in nodes(src).values() if "box3d" in a]
    assert len(groups) == 33  # one per neuron
    assert len(records) + len(groups) <= 500
    assert "grouped by nn neuron" in src and f"{n_values:,} values" in src
    assert 'layers.1.neurons.7\\n' in src
    by_layer = draw(loss, max_nodes=60).source
    assert "grouped by nn layer" in by_layer
    assert len([a for a in nodes(by_layer).values() if "box3d" in a]) == 3


def test_a_big_graph_without_nn_structure_keeps_the_nodes_nearest_the_root():
    x = Value(1.0, label="x")
    y = x
    for _ in range(3000):
        y = y * 1.0001 + 0.001
    src = draw(y, max_nodes=200).source
    assert len(value_records(src)) == 200 and "folded" in nodes(src)
    assert "the 200 nearest the root shown" in src and 'label="{ x |' not in src
    assert "more values" in nodes(src)["folded"]


def test_a_hundred_thousand_node_graph_draws_collapsed():
    y = Value(0.5)
    for _ in range(50_000):
        y = y * 0.99999 + 0.00001
    src = draw(y).source  # by default, as many of the nearest as make a picture about 2,000 px long at most
    kept = len(value_records(src))
    assert 2 <= kept <= 60
    assert f"the {kept} nearest the root shown, the rest folded (to stay readable)" in src
    assert f"draw(root, max_nodes={len(_all(y))}) draws every value" in src  # how to unfold it


@needs_renderer
def test_by_default_one_samples_mlp_loss_draws_readable_at_its_natural_size(tmp_path):
    import re
    from nn import MLP
    from autodiff import save_svg
    model = MLP(2, [16, 16, 1], seed=0)
    loss = (model([0.5, -1.2])[0] - 1.0) ** 2
    loss.backward()
    n = len(_all(loss))
    src = draw(loss).source
    assert len(nodes(src)) <= 60  # the default's bound on boxes
    assert "grouped by nn layer (to stay readable)" in src and f"draw(root, max_nodes={n}) draws every value" in src
    svg = save_svg(loss, tmp_path / "mlp.svg").read_text()
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert max(width, height) * 4 / 3 <= 2000  # pixels at its natural size
    assert len(value_records(draw(loss, max_nodes=n).source)) == len([v for v in _all(loss) if v.parents or
                                                                      type(v).__name__ != "Constant"])  # unfolded
    small = MLP(2, [4, 4, 1], seed=0)  # narrow layers stay by neuron: a learner sees the neurons
    src = draw((small([0.5, -1.2])[0] - 1.0) ** 2).source
    assert "grouped by nn neuron" in src and len([a for a in nodes(src).values() if "box3d" in a]) == 9


@needs_renderer
@pytest.mark.parametrize("case", ["mlp 2 12 12 1", "mlp 2 10 10 1", "mlp 3 8 8 8 1", "mlp 2 16 16 4", "chain"])
def test_by_default_big_graphs_draw_at_most_about_2000_px_long(tmp_path, case):
    import re
    from nn import MLP
    from autodiff import save_svg
    if case == "chain":
        root = Value(0.5, label="x")
        for _ in range(500):
            root = root * 1.01 + 0.1
    else:
        sizes = [int(k) for k in case.split()[1:]]
        out = MLP(sizes[0], sizes[1:], seed=0)([0.1 * (k + 1) for k in range(sizes[0])])
        root = out[0]
        for o in out[1:]:
            root = root + o
        root = (root - 1.0) ** 2
    root.backward()
    svg = save_svg(root, tmp_path / "big.svg").read_text()
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert max(width, height) * 4 / 3 <= 2100, (case, width, height)
    assert "to stay readable" in svg and f"max_nodes={len(_all(root))}" in svg


# ----- rendering -------------------------------------------------------------------------------------------------

def _svg_counts(svg):
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in root.iter(ns + "g")]
    n_nodes = sum(1 for g in groups if g.get("class") == "node")
    n_edges = sum(1 for g in groups if g.get("class") == "edge")
    texts = [t.text for t in root.iter(ns + "text")]
    return n_nodes, n_edges, texts


@needs_renderer
def test_save_svg_writes_a_real_svg(tmp_path):
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + a
    c.label = "c"
    c.backward()
    path = save_svg(c, tmp_path / "graph.svg")
    n_nodes, n_edges, texts = _svg_counts(path.read_bytes())
    assert n_nodes == 4 + 2  # four values, two ops
    assert n_edges == 4 + 2  # one per use of a value (a twice), one from each op to its result
    for text in ["a", "b", "c", "data 2", "grad -2", "grad 1", "×", "+"]:
        assert text in texts
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


@needs_dot
def test_render_and_jupyter_display_use_dot(tmp_path):
    y = Value(2.0, label="y") ** 2
    dot = draw(y)
    out = dot.render(str(tmp_path / "g"), format="svg")
    assert out.endswith("g.svg") and _svg_counts(open(out, "rb").read())[0] == 4  # y, 2, y**2 and the op
    bundle = dot._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")


def _without_dot(monkeypatch):
    import graphviz.backend.execute as execute

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(execute, "run_check", missing)


@pytest.mark.skipif(not HAS_PYGRAPHVIZ, reason="pygraphviz is not installed")
def test_without_the_dot_program_pygraphviz_renders(monkeypatch, tmp_path):
    _without_dot(monkeypatch)
    y = Value(2.0, label="y") * 3
    path = save_svg(y, tmp_path / "g.svg")
    assert _svg_counts(path.read_bytes())[0] == 4
    assert draw(y)._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    out = draw(y).render(str(tmp_path / "r"), format="svg")
    assert out.endswith("r.svg") and _svg_counts(open(out, "rb").read())[0] == 4


def test_without_any_graphviz_the_error_says_how_to_get_it_and_the_dot_file_is_written(monkeypatch, tmp_path):
    _without_dot(monkeypatch)
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    y = Value(2.0, label="y") * 3
    with pytest.raises(GraphvizMissing) as info:
        save_svg(y, tmp_path / "g.svg")
    message = str(info.value)
    for words in ["apt-get install graphviz", "brew install graphviz", "conda install", "pip install pygraphviz",
                  str(tmp_path / "g.dot")]:
        assert words in message
    assert isinstance(info.value, RuntimeError)
    assert (tmp_path / "g.dot").read_text() == draw(y).source and not (tmp_path / "g.svg").exists()
    with pytest.raises(GraphvizMissing, match="apt-get"):
        draw(y).render(str(tmp_path / "r"), format="svg")
    assert (tmp_path / "r").exists()  # the DOT source is kept


def test_values_do_not_render_themselves_in_a_repl():
    v = Value(1.0) + 2
    assert not hasattr(v, "_repr_mimebundle_") and not hasattr(v, "_repr_svg_")
    assert repr(v).startswith("Value(")


# ----- the text tree ---------------------------------------------------------------------------------------------

def test_tree_shows_every_value_once_with_back_references():
    a = Value(2.0, label="a")
    b = Value(3.0, label="b")
    c = a * b
    d = c + c + 1
    d.label = "d"
    text = d.tree()
    lines = text.splitlines()
    assert lines[0].startswith("[+] d data=13 grad=not computed (root)")
    assert sum("[*]" in line for line in lines) == 2 and "shown above" in text
    assert "1 (constant)" in text and "a data=2 grad=not computed (input)" in text
    d.backward()
    text = d.tree()
    assert "a data=2 grad=6 (input)" in text and "b data=3 grad=4 (input)" in text
    assert "├─ " in text and "└─ " in text


def test_tree_of_a_deep_chain_is_cut_short_without_recursion():
    y = Value(1.0)
    for _ in range(20_000):
        y = y + 1
    lines = y.tree(max_nodes=50).splitlines()
    assert len(lines) <= 51 and any("... 19977 more levels" in line for line in lines)  # folded at depth 24
    level = [Value(float(i)) for i in range(512)]
    while len(level) > 1:  # a wide tree, 9 levels deep: cut by max_nodes instead
        level = [a + b for a, b in zip(level[::2], level[1::2])]
    lines = level[0].tree(max_nodes=50).splitlines()
    assert len(lines) == 51 and "more values" in lines[-1]


@pytest.mark.parametrize("name", ["b.png", "b.pdf", "b", "b.svg.txt"])
def test_save_svg_refuses_a_name_that_is_not_svg(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.svg"):
        save_svg(Value(1.0) * 2, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_a_lone_surrogate_in_a_label_is_drawn_as_the_replacement_character(tmp_path):
    v = Value(1.0, label="a\ud800b")  # what a bad decode (errors="surrogateescape") leaves in a str
    path = save_svg(v * 2, tmp_path / "g.svg")
    assert "a\ufffdb" in path.read_text(encoding="utf-8")
    assert "a\ufffdb" in draw(v * 2).source


WITHOUT_GRAPHVIZ = """
import sys
sys.modules["graphviz"] = None  # as if the graphviz package were not installed
import autodiff
y = autodiff.Value(2.0) * 3
for name, call in [("draw()", lambda: autodiff.draw(y)), ("save_svg", lambda: autodiff.save_svg(y, "x.svg")),
                   ("animate()", lambda: autodiff.animate(y, "x.html"))]:
    try:
        call()
    except ImportError as e:
        print(name, "|", e)
"""


def test_without_the_graphviz_package_every_picture_says_how_to_install_it(tmp_path):
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", WITHOUT_GRAPHVIZ], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=60)
    lines = out.stdout.splitlines()
    assert len(lines) == 3, (out.stdout, out.stderr)
    for line in lines:
        assert "needs the graphviz package" in line and "pip install -e '.[draw]'" in line, line
    assert "ModuleNotFoundError" not in out.stderr


def test_install_hints_name_commands_that_work():
    # "autodiff" on PyPI is an unrelated project: no hint may say pip install 'autodiff[...]'
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    texts = {p: p.read_text() for d in ("autodiff", "nn", "demos") for p in (root / d).rglob("*.py")}
    texts.update((p, p.read_text()) for p in [root / "README.md", *(root / "docs").glob("*.md")])
    for path, text in texts.items():
        assert not re.search(r"pip install [\"']?autodiff\[", text), path
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^name = "scalar-autodiff"', pyproject, re.M)


def test_numbers_keep_the_digits_that_tell_them_from_round_ones():
    from autodiff.draw import fmt
    assert fmt(1.0001) == "1.0001" and fmt(0.99999) == "0.99999" and fmt(2.0000001) == "2.0000001"
    assert fmt(1.0) == "1" and fmt(0.07065082485316443) == "0.07065" and fmt(123456.0) == "1.235e+05"
    assert fmt(-3.0) == "-3" and fmt(1e-7) == "1e-07"


def test_the_legend_lists_only_the_kinds_the_picture_has_and_multiplication_is_a_times_sign():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    src = draw(x * y).source
    assert "input" in src and "root (the output)" in src
    assert "parameter" not in src and "constant" not in src and "group" not in src
    assert 'label="×"' in src and 'label="*"' not in src
    w = autodiff.Parameter(0.5, label="w")
    src = draw(w * x * 2.0).source
    assert "parameter" in src and "constant" in src


def test_edge_labels_are_as_large_as_node_text():
    src = draw(Value(2.0) * Value(3.0)).source
    assert re.search(r'edge \[fontname=Helvetica fontsize=11\]', src), src[:400]


def test_tree_numbers_the_ops_without_gaps():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    d = (c + a) * (c - b)
    numbers = [int(n) for n in re.findall(r"#(\d+)(?!, shown)", d.tree()) if n]
    tags = [int(n) for line in d.tree().splitlines() for n in re.findall(r"  #(\d+)$", line)]
    assert tags == list(range(1, len(tags) + 1)) and len(tags) == 4, d.tree()
    assert numbers


def test_tree_of_a_deep_chain_folds_its_indentation():
    y = Value(1.0, label="x")
    for _ in range(100):
        y = (y * 1.0001).tanh()
    lines = y.tree(max_nodes=1000).splitlines()
    assert max(len(line) - len(line.lstrip(" │├└─")) for line in lines) <= 3 * 25
    assert any(re.search(r"\.\.\. \d+ more levels", line) for line in lines), lines[-3:]


def test_grouping_comes_from_nn_not_from_parsing_labels():
    model, loss = _mlp_loss(10)
    for p in model.parameters():
        p.label = "renamed"  # the modules that hold each parameter are what nn says, whatever the labels
    assert model.layers[1].neurons[7].w[0].modules == ("layers.1.neurons.7", "layers.1", "")
    assert len([a for a in nodes(draw(loss, max_nodes=500).source).values() if "box3d" in a]) == 33
    from autodiff import Parameter
    fake = [Parameter(0.5, label=f"layers.0.neurons.{i}.w.0") for i in range(600)]  # names alone group nothing
    total = fake[0]
    for p in fake[1:]:
        total = total + p * 2.0
    src = draw(total, max_nodes=100).source
    assert "grouped" not in src and "box3d" not in src and "the 100 nearest the root shown" in src


def test_the_core_does_not_import_drawing():
    import ast
    from pathlib import Path
    for core in ("engine.py", "ops.py", "floats.py", "grad_mode.py"):
        tree = ast.parse(Path(autodiff.__file__).with_name(core).read_text())
        imported = {node.module or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        # the text view (tree) at most, never a picture
        assert imported <= {"errors", "explain", "text", "grad_mode", "guards", "ops", "engine", "floats", "anomaly",
                            "copies", "compat"}, (
            core, imported)


def test_the_two_labels_into_an_op_are_attached_to_their_own_edges():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    z = x * y
    z.backward()
    into = {attrs: a for a, b, attrs in edges(draw(z).source) if b.endswith("op")}
    colours = [re.search(r"color=\"?(#\w+)", attrs).group(1) for attrs in into]
    fonts = [re.search(r"fontcolor=\"?(#\w+)", attrs).group(1) for attrs in into]
    assert len(set(colours)) == 2 and colours == fonts  # each label in the colour of its edge
    assert all("decorate=true" in attrs for attrs in into)  # and joined to it by a line
    (one,) = [attrs for _, b, attrs in edges(draw(x * 3).source) if b.endswith("op") and "label=" in attrs]
    assert "color" not in one  # a single input needs no colour


def test_short_names_keep_labels_apart():
    from autodiff.text import short_names
    one_neuron = ["layers.0.neurons.14.w.0", "layers.0.neurons.14.w.1", "layers.0.neurons.14.b", "layers.0.neurons.14",
                  "x1", "loss"]
    assert short_names(one_neuron) == {"layers.0.neurons.14.w.0": "n14.w0", "layers.0.neurons.14.w.1": "n14.w1",
                                       "layers.0.neurons.14.b": "n14.b", "layers.0.neurons.14": "l0.n14"}
    two_layers = ["layers.0.neurons.14.w.0", "layers.1.neurons.14.w.0", "layers.1.neurons.3.w.0"]
    assert short_names(two_layers) == {"layers.0.neurons.14.w.0": "l0.n14.w0", "layers.1.neurons.14.w.0": "l1.n14.w0",
                                       "layers.1.neurons.3.w.0": "n3.w0"}
    clash = ["layers.0.neurons.1.w.0", "lin.0.neurons.1.w.0"]  # both would be l0.n1.w0: both keep their labels
    assert short_names(clash) == {}
    taken = ["layers.0.neurons.1.w.0", "n1.w0"]  # a short name never equals another label
    assert short_names(taken) == {"layers.0.neurons.1.w.0": "l0.n1.w0"}
    assert short_names(["a b c d e f g h i", "short.0", "<img src=x>.0.y.1"]) == {}  # only long dotted names


@needs_renderer
def test_labels_are_drawn_as_written_even_with_entities(tmp_path):
    import html
    import re
    from autodiff import save_svg
    labels = ["a&amp;b", "a&b", "&#60;img&#62;", "&lt;"]
    xs = [Value(float(k), label=label) for k, label in enumerate(labels)]
    svg = save_svg(xs[0] + xs[1] + xs[2] + xs[3], tmp_path / "e.svg").read_text()
    shown = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert all(label in shown for label in labels)
