"""animate(): one self-contained HTML page that teaches both modes of automatic differentiation on one graph, live.

The page holds one laid-out SVG, the backward pass's steps, and the graph itself. Reverse mode steps through the
backward pass, each edge a step updates labelled grad(out) × local = contribution; forward mode steps the tangents
d(node)/d(input) from one input to the root, which ends on that input's grad. Every input and parameter has a
number field and a slider, and changing one recomputes, in the page, every value, local derivative, grad and
tangent (the built-in ops in JavaScript, from one table, OPS in page.js), and replays the steps on the new numbers.
Clicking a node lights its paths to the root and spells d(root)/d(node) out as the chain rule, as autodiff.explain
writes it. A graph with a user primitive (a Python function) is shown but not recomputed. No network access at
all: the page's Content-Security-Policy forbids it. Scripts can drive the page through `window.autodiffPage`
(inputs, setInput, state, explain, highlight, mode, frames, show).

The page is two files beside this one: page.html (its layout and style) and page.js (its script), filled in here.
"""
import html
import json
import math
import os
import re
from pathlib import Path

from .dot import Graph, local_derivatives
from .engine import OPS, TABLE, Constant, Value, backprop
from .explain import describe, name_of
from .files import atomic_write
from .render import load_graphviz, render
from .functional import watch
from .text import fmt, kind, short_names, valid

__all__ = ["animate"]


def steps(root, graph):
    """The backward pass as the engine runs it, computed aside (no .grad of any Value changes): the final grads,
    and [(node, [(parent, local derivative, its grad after this edge)], {parent: its grad after the rule})], one
    entry per node whose rule runs, in order."""
    trace = []
    grads = backprop(graph.order, {root: 1.0}, False, trace)
    out, running = [], {root: 1.0}  # running: each grad as each edge adds to it (x * x adds twice, in turn)
    for node, rule, after in trace:
        locals_ = [d for d in rule.local_grads if d is not None]
        updates = []
        for (p, _), d in zip(after, locals_):
            c = grads[node] * d
            running[p] = running[p] + c if p in running else c
            updates.append((p, d, running[p]))
        for p, g in after:
            running[p] = g  # the engine's own numbers from here on
        out.append((node, updates, dict(after)))
    return grads, out


def _name(node, graph):
    """How a caption names a node: its label, else its op and data as the picture shows them."""
    if node.label:
        return node.label
    return f"[{node.op}] {fmt(node.data)}" if node.op else f"the input {fmt(node.data)}"


def animate(root: Value, path: str | os.PathLike[str], rankdir: str | None = None, max_nodes: int = 300) -> Path:
    """Write an HTML page to `path` that steps through root.backward(): play/pause, step, slider, arrow keys.

    Each step is one node whose local chain rule runs, in the engine's real order: that node is highlighted, the
    grads filled in so far are shown and the rest are blank; each edge a step updates is labelled grad(out) × local
    derivative = contribution. Every input and parameter can be changed in the page, which recomputes the graph and
    its grads there; clicking a node lights its paths to the root and explains its grad; forward mode shows the
    tangents from one input instead. The picture runs left to right (rankdir="LR") or top to bottom ("TB"): by
    default whichever fits a landscape window at the larger size. Returns the path.
    """
    graphviz = load_graphviz("animate()")
    graph = Graph(root, rankdir or "LR", max_nodes=max_nodes)
    if graph.unit:
        raise ValueError(f"animate: the graph has {len(graph.order):,} values, more than max_nodes={max_nodes}; "
                         f"a step-through of that many is unreadable. Animate a smaller graph (one neuron, one "
                         f"sample), raise max_nodes, or draw() it")
    path = Path(path)
    final, trace = steps(root, graph)
    # laid out with this pass's grads, and room for any number the page may write there later
    short = short_names([n.label for n in graph.order if n.label])  # n14.w0 for layers.0.neurons.14.w.0
    pictures = []
    for way in [rankdir] if rankdir else ["LR", "TB"]:
        graph = Graph(root, way, max_nodes=max_nodes, grads=final, room=ROOM, names=short)
        svg = render(graph.digraph(graphviz.Digraph).source, "svg").decode("utf-8")
        pictures.append((_fit(svg), -len(pictures), graph, svg[svg.index("<svg"):]))
    _, _, graph, svg = max(pictures, key=lambda p: p[:2])  # the larger on a landscape screen; LR if they tie

    frames = [{"node": graph.node_id(root), "op": False, "set": {graph.node_id(root): fmt(1.0)}, "edges": [],
               "contrib": {}, "text": f"Step 0: backward() seeds the root: grad({_name(root, graph)}) = 1"}]
    for k, (node, updates, after) in enumerate(trace, 1):
        nid, g = graph.node_id(node), final[node]
        parts = [f"grad({_name(p, graph)}) += {fmt(g)} × {fmt(d)} → {fmt(now)}" for p, d, now in updates]
        edges = [f"{nid}e{i}" for i, p in enumerate(node.parents) if type(p) is not Constant]
        frames.append({"node": nid, "op": True, "set": {graph.node_id(p): fmt(after[p]) for p, _, _ in updates},
                       "edges": edges,  # each labelled on the picture: grad(out) × local derivative = contribution
                       "contrib": {e: f"{fmt(g)} × {fmt(d)} = {fmt(g * d)}" for e, (_, d, _) in zip(edges, updates)},
                       "text": f"Step {k}: the rule of {node.op} at {_name(node, graph)} runs: " + "; ".join(parts)})
    title = valid(f"backward() through {_name(root, graph)}: {len(trace)} steps")
    page = fill(PAGE[0], {"title": html.escape(title), "svg": svg, "frames": script_json(frames),
                          "graph": script_json(live_graph(graph, final, short)), "script": PAGE[1]})
    atomic_write(path, page.encode("utf-8"))
    return path


def _fit(svg, window=(900, 780)):
    """The scale at which an SVG picture fits the page's picture box on a 1400x1000 window, at most 1."""
    width, height = (float(x) for x in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    return min(1.0, window[0] / width, window[1] / height)


ROOM = 7  # characters the page's layout keeps for each number; a longer one is written narrower to fit


def live_graph(graph, grads, short):
    """What the page needs to recompute the graph: every node in topological order (its op's row of the page's
    table, its parents, data, grad and local derivatives, and its names in captions and derivations), the inputs
    by name, and why the page cannot recompute it, if it cannot."""
    rows = dict(zip(OPS, TABLE))  # Op -> its key in the table, which names its row in the page's table too
    rows[watch] = "input"  # the identity through which grad and hessian watch their arguments
    nodes, primitives = [], []
    for node in graph.order:
        row = rows.get(node.grad_fn)
        if node.grad_fn is not None and row is None:
            primitives.append(node.op)
        nodes.append({"id": graph.node_id(node), "kind": kind(node, graph.root), "constant": type(node) is Constant,
                      "label": node.label, "op": row, "opname": node.op, "data": _number(node.data),
                      "grad": _number(grads.get(node, 0.0)), "parents": [graph.node_id(p) for p in node.parents],
                      "locals": [None if d is None else _number(d) for d in local_derivatives(node)],
                      "name": name_of(node, None), "describe": describe(node)})
    leaves = [n for n in graph.order if not n.parents and type(n) is not Constant]
    labels = [n.label for n in leaves]
    named = {n.label: graph.node_id(n) for n in leaves if n.label and labels.count(n.label) == 1}
    inputs = {label: nid for label, nid in named.items()}
    for n in leaves:  # a leaf goes by its label; without one, or with one that two leaves share, by its node id
        nid = graph.node_id(n)
        if named.get(n.label) != nid:
            name, k = nid, 1
            while name in inputs:  # a name another leaf took: "leaf v1", then "leaf v1 (2)", ...
                name, k = f"leaf {nid}" + (f" ({k})" if k > 1 else ""), k + 1
            inputs[name] = nid
    inputs = dict(sorted(inputs.items(), key=lambda item: int(item[1][1:])))  # in the graph's order
    frozen = ""
    if primitives:
        names = ", ".join(dict.fromkeys(primitives))
        frozen = (f"This graph uses {names}, which this page cannot compute (it is not an op of autodiff's table: a "
                  f"primitive, that is a Python function, or an Op of your own): the numbers shown are Python's, "
                  f"and the inputs cannot be changed here. Change them in Python and call animate() again.")
    return {"root": graph.node_id(graph.root), "nodes": nodes, "inputs": inputs, "frozen": frozen, "short": short}


def _number(x):
    """A float for the page's JSON, which has no inf or nan: those travel as strings."""
    return x if math.isfinite(x) else repr(x)


def fill(template, values):
    """The template with each {{name}} replaced, in one pass: a value (a label, say) that contains {{frames}}
    stays text and is never expanded."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def script_json(data):
    """JSON that is safe inside <script>: no <, > or & in it can end the script or start a tag."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PAGE = (Path(__file__).with_name("page.html").read_text(encoding="utf-8"),
        Path(__file__).with_name("page.js").read_text(encoding="utf-8"))  # the page's HTML, and its script
