"""Pictures of a computation graph: Graphviz DOT (built in pure Python), SVG, and a text tree for terminals.

Building a graph needs only the `graphviz` package; rendering needs Graphviz's `dot` program, or the pygraphviz
package, whose wheels include Graphviz (`pip install -e '.[draw]'` in a checkout installs both packages).
"""
import os
import re
import sys
import tempfile
from collections import deque
from pathlib import Path
from typing import Any

from .engine import Constant, Parameter, Value, grad_computed, topological_order
from .files import atomic_write

__all__ = ["draw", "save_svg", "tree", "GraphvizMissing"]

# kind: (fill colour, border style, legend text)
KINDS = {
    "root": ("#ffe8a3", "bold", "root (the output)"),
    "parameter": ("#cfe2f3", "filled", "parameter"),
    "input": ("#d9ead3", "filled", "input"),
    "constant": ("#eeeeee", "dashed", "constant"),
    "value": ("#ffffff", "filled", "intermediate value"),
    "group": ("#e6dcf5", "filled", "collapsed nodes"),
}


def fmt(x):
    """A number for a label: 4 significant digits, never a fixed-point 0.0000 for 1e-7, and more digits where 4
    would make it look like a round number it is not (1.0001 is not 1)."""
    if x == 0:
        return "0"
    short = f"{x:.4g}"
    if float(short) != x and "." not in short and "e" not in short and x == x and abs(x) != float("inf"):
        return f"{x:.6g}" if float(f"{x:.6g}") != float(short) else repr(x)
    return short


def op_symbol(name):
    """How a picture writes an op: × for multiplication (x * y with a variable x reads badly as x x y)."""
    return "×" if name == "*" else name


def kind(node, root):
    """root, parameter, input, constant or value (an op's result)."""
    if node is root:
        return "root"
    if isinstance(node, Constant):
        return "constant"
    if isinstance(node, Parameter):
        return "parameter"
    return "value" if node.parents else "input"


def local_derivatives(node):
    """d(node)/d(parent) for each parent occurrence, at the current point (None for a Constant or if undefined)."""
    try:
        return list(node.chain_rule().local_grads)
    except (ValueError, TypeError):
        return [None] * len(node.parents)


def _valid(text):
    """Text that encodes as UTF-8: a lone surrogate (from a bad decode) becomes U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_record(text):
    """Text that cannot break a record label: { } | < > and quotes escaped, newlines as line breaks."""
    text = _valid(text).replace("\\", "\\\\")
    text = re.sub(r'([{}|<>"])', r"\\\1", text)
    return text.replace("\r\n", "\n").replace("\n", "\\n").replace("\r", "\\n")


def _escape_html(text):
    return _valid(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# ---------------------------------------------------------------------------------------------------------------
# Grouping big graphs by nn structure.

def module_of(name):
    """The module a dotted name belongs to: 'layers.0.neurons.3.w.1' -> 'layers.0.neurons.3' -> 'layers.0'."""
    parts = name.split(".")
    if parts and parts[-1].isdigit():
        parts.pop()
    if parts:
        parts.pop()
    return ".".join(parts)


def _groups(order):
    """{node: module name} for parameters, and for every op node computed inside one module from its parameters.

    A node joins a module when every parent that is not a leaf or a finished module output (a node labelled with
    the module's name, as nn labels a neuron's output) belongs to that same module.
    """
    group, finished = {}, set()
    for node in order:
        if not node.parents:
            if isinstance(node, Parameter) and node.label:
                group[node] = module_of(node.label)
            continue
        found = None
        for p in node.parents:
            if p in finished or (not p.parents and p not in group):
                continue
            g = group.get(p)
            if g is None or (found is not None and g != found):
                found = None
                break
            found = g
        if found:
            group[node] = found
            if node.label == found:
                finished.add(node)
    return group


# ---------------------------------------------------------------------------------------------------------------
# The picture.

class Graph:
    """Builds the DOT picture of a graph: which nodes to show, which to fold, and how each looks."""

    def __init__(self, root, rankdir, show_grad, show_local, max_nodes):
        if not isinstance(root, Value):
            raise TypeError(f"draw: expected a Value, got {type(root).__name__}")
        if rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(f"draw: rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
            raise ValueError(f"draw: max_nodes must be a positive int, got {max_nodes!r}")
        self.root, self.rankdir, self.show_grad, self.show_local = root, rankdir, show_grad, show_local
        self.order = topological_order(root)
        self.index = {node: i for i, node in enumerate(self.order)}
        self.unit = {}  # node -> the group key it is folded into (absent: drawn itself)
        self.grads = None  # grads to show instead of each node's .grad (animate() shows its own pass)
        self.note = ""
        # a Constant is drawn beside each use, so it needs no place of its own and never makes an edge long
        self.values = [n for n in self.order if type(n) is not Constant or n is root]
        if len(self.values) > max_nodes:
            self._collapse(max_nodes)

    def _collapse(self, max_nodes):
        """Fold nn modules (neurons, then layers); if that is not enough, keep the nodes nearest the root."""
        groups, how = _groups(self.order), "neuron"
        if groups and self._count(groups) > max_nodes:
            groups, how = {n: module_of(g) for n, g in groups.items()}, "layer"
        n_before = len(self.order)
        if groups:
            self.unit = self._absorb_inputs(groups)
            self.note = f"{n_before:,} values: grouped by nn {how}"
        if self._count_units() > max_nodes:
            self._fold_far_nodes(max_nodes)
            self.note = (self.note + "; " if self.note else f"{n_before:,} values: ") + \
                f"the {max_nodes:,} nearest the root shown, the rest folded"

    def _count(self, groups):
        return len(set(groups.values())) + sum(1 for n in self.values if n not in groups)

    def _count_units(self):
        return len({self.unit.get(n, n) for n in self.values})

    def _absorb_inputs(self, groups):
        """An input used only inside one group is folded into it."""
        users = {}
        for node in self.order:
            for p in node.parents:
                if not p.parents and p not in groups and type(p) not in (Parameter, Constant):
                    users.setdefault(p, set()).add(groups.get(node))
        unit = {n: ("group", g) for n, g in groups.items()}
        for leaf, gs in users.items():
            if len(gs) == 1 and None not in gs and leaf is not self.root:
                unit[leaf] = ("group", next(iter(gs)))
        return unit

    def _fold_far_nodes(self, max_nodes):
        """Keep the max_nodes units nearest the root (breadth first, towards the inputs); fold the rest into one."""
        parents_of = {}
        for node in self.values:
            u = self.unit.get(node, node)
            for p in node.parents:
                pu = self.unit.get(p, p)
                if pu != u and type(p) is not Constant:
                    parents_of.setdefault(u, []).append(pu)
        start = self.unit.get(self.root, self.root)
        kept, queue = {start}, deque([start])
        while queue and len(kept) < max_nodes:
            u = queue.popleft()
            for pu in parents_of.get(u, ()):
                if pu not in kept and len(kept) < max_nodes:
                    kept.add(pu)
                    queue.append(pu)
        for node in self.values:
            if self.unit.get(node, node) not in kept:
                self.unit[node] = ("folded",)

    # ----- DOT -----

    def node_id(self, node):
        return f"v{self.index[node]}"

    def unit_id(self, u):
        return "folded" if u == ("folded",) else f"g{self._group_ids[u]}"

    def digraph(self, cls):
        dot = cls(name="autodiff", graph_attr={"rankdir": self.rankdir, "labelloc": "t", "fontname": "Helvetica",
                                                 "fontsize": "12", "label": self._legend()},
                  node_attr={"fontname": "Helvetica", "fontsize": "11"}, edge_attr={"fontname": "Helvetica",
                                                                                     "fontsize": "11"})
        shown = [n for n in self.values if n not in self.unit]
        units = {}
        for node in self.values:
            if node in self.unit:
                units.setdefault(self.unit[node], []).append(node)
        self._group_ids = {u: i for i, u in enumerate(u for u in units if u != ("folded",))}
        for node in shown:
            self._value_node(dot, node)
        for u, members in units.items():
            self._unit_node(dot, u, members)
        self._edges(dot, shown)
        if len(shown) + len(units) > 150:  # dot would spend minutes routing long curved edges: bound its effort
            dot.graph_attr.update(splines="line", nslimit="0.2", nslimit1="0.2", mclimit="0.3")
        dot.summary = f"{len(self.order)} values, {sum(1 for n in shown if n.parents)} ops shown"
        return dot

    def _legend(self):
        computed = self.grads is not None or any(grad_computed(n) for n in self.order)
        rows = []
        if self.note:
            rows.append(f'<tr><td colspan="6"><b>{_escape_html(self.note)}</b></td></tr>')
        if self.show_grad and not computed:
            rows.append('<tr><td colspan="6">no backward() yet: grads not computed</td></tr>')
        shown = [n for n in self.values if n not in self.unit]
        present = {kind(n, self.root) for n in shown} | ({"group"} if self.unit else set())
        if any(type(p) is Constant for n in shown for p in n.parents):
            present.add("constant")  # drawn beside each use
        cells = "".join(f'<td bgcolor="{fill}" border="1">{text}</td>' for k, (fill, _, text) in KINDS.items()
                        if k in present)  # only the kinds the picture has
        rows.append(f"<tr>{cells}</tr>")
        if self.show_local:
            rows.append('<tr><td colspan="6">edge labels: the local derivative d(out)/d(input); a node\'s grad is '
                        'the sum over its edges of grad(out) × label</td></tr>')
        return f'<<table border="0" cellspacing="2" cellpadding="3">{"".join(rows)}</table>>'

    def _value_node(self, dot, node):
        k = kind(node, self.root)
        fill, style, _ = KINDS[k]
        fields = [_escape_record(node.label)] if node.label else []
        if k == "constant":
            fields.append(fmt(node.data))
        else:
            fields.append(f"data {fmt(node.data)}")
            if self.show_grad:
                grad = node.grad if self.grads is None else self.grads.get(node, 0.0)
                fields.append("grad not computed" if self.grads is None and not grad_computed(node) else f"grad {fmt(grad)}")
        nid = self.node_id(node)
        dot.node(nid, "{ " + " | ".join(fields) + " }", shape="record", style=f"filled,{style}" if style != "filled"
                 else "filled", fillcolor=fill, id=nid)
        if node.parents:
            dot.node(nid + "op", _escape_record(op_symbol(node.op)), shape="circle", width="0.3", fixedsize="false",
                     style="filled", fillcolor="#f3f3f3", fontsize="10", margin="0.02", id=nid + "op")
            dot.edge(nid + "op", nid, id=nid + "out")

    def _unit_node(self, dot, u, members):
        if u == ("folded",):
            dot.node("folded", f"{len(members):,} more values\\nfarther from the root", shape="note",
                     style="filled", fillcolor="#f3f3f3", id="folded")
            return
        name = u[1] or "(model)"
        dot.node(self.unit_id(u), f"{_escape_record(name)}\\n{len(members):,} values", shape="box3d",
                 style="filled", fillcolor=KINDS["group"][0], id=self.unit_id(u))

    def _edges(self, dot, shown):
        """One edge per parent occurrence for drawn nodes; one counted edge between folded groups."""
        counted = {}
        for node in self.values:
            target = self.node_id(node) + "op" if node not in self.unit else None
            locals_ = local_derivatives(node) if target and self.show_local else None
            for i, p in enumerate(node.parents):
                if type(p) is Constant:
                    if target:  # a small node of its own beside this use
                        source = f"{self.node_id(node)}c{i}"
                        dot.node(source, "{ " + fmt(p.data) + " }", shape="record", style="filled,dashed",
                                 fillcolor=KINDS["constant"][0], id=source)
                        dot.edge(source, target, id=f"{self.node_id(node)}e{i}")
                    continue
                source = self.node_id(p) if p not in self.unit else self.unit_id(self.unit[p])
                if target:
                    label = fmt(locals_[i]) if locals_ and locals_[i] is not None else ""
                    dot.edge(source, target, label=label, id=f"{self.node_id(node)}e{i}")
                else:
                    dest = self.unit_id(self.unit[node])
                    if source != dest:
                        counted[(source, dest)] = counted.get((source, dest), 0) + 1
        for (source, dest), n in counted.items():
            dot.edge(source, dest, label=f"x{n}" if n > 1 else "", style="dashed")


def draw(root: Value, rankdir: str = "LR", show_grad: bool = True, show_local: bool = True,
         max_nodes: int = 500) -> Any:
    """The graph that computed `root` as a graphviz.Digraph: a record per Value (label, data, grad), a small node
    per op, one edge per use of a Value, and the local derivative on each edge.

    In Jupyter the result displays itself; `.render()` or save_svg() write files; `.source` is the DOT text.
    """
    return Graph(root, rankdir, show_grad, show_local, max_nodes).digraph(_digraph_class())


def save_svg(root: Value, path: str | os.PathLike[str], **options: Any) -> Path:
    """Draw `root` and write the picture to `path` as SVG (atomically); returns the path.

    Without Graphviz, raises GraphvizMissing (saying how to install it) after writing the DOT source to path.dot.
    """
    path = Path(path)
    if path.suffix.lower() != ".svg":
        raise ValueError(f"save_svg: {path} does not end in .svg, and save_svg writes SVG; name it .svg, or for "
                         f"another format use draw(root).render(outfile={str(path.with_suffix('.png'))!r})")
    dot = draw(root, **options)
    try:
        svg = render(dot.source, "svg")
    except GraphvizMissing as e:
        atomic_write(path.with_suffix(".dot"), dot.source.encode("utf-8"))
        raise GraphvizMissing(f"{e}\nThe DOT source was written to {path.with_suffix('.dot')}.") from None
    atomic_write(path, svg)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Rendering: the dot program if there is one, else pygraphviz's own Graphviz, else a clear error.

HOW_TO_INSTALL = """rendering needs Graphviz, which was not found. Install one of:
  pip install pygraphviz           (its wheels include Graphviz; in a checkout: pip install -e '.[draw]')
  Debian/Ubuntu: sudo apt-get install graphviz
  macOS: brew install graphviz
  conda: conda install -c conda-forge graphviz
Building the graph (draw(...).source) needs none of these."""


class GraphvizMissing(RuntimeError):
    """Neither Graphviz's `dot` program nor pygraphviz is installed."""


def load_graphviz(who):
    """The graphviz package, or an ImportError that says how to install it."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"{who} needs the graphviz package: pip install graphviz (or, in a checkout of autodiff, "
                          f"pip install -e '.[draw]', which also brings a Graphviz to render with)") from None
    return graphviz


def render(source, fmt_="svg"):
    """Lay out and render DOT source to bytes."""
    graphviz = load_graphviz("rendering")
    try:
        return graphviz.pipe("dot", fmt_, source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        pass
    try:
        import pygraphviz
    except ImportError:
        raise GraphvizMissing(HOW_TO_INSTALL) from None
    with _quiet_stderr():  # its bundled fontconfig prints warnings that are not ours to show
        return pygraphviz.AGraph(string=source).draw(format=fmt_, prog="dot")


class _quiet_stderr:
    """Silence the process's stderr (a C library writing to fd 2) for a moment."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.sink = tempfile.TemporaryFile()
        os.dup2(self.sink.fileno(), 2)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.sink.close()
        return False


_CLASS = None


def _digraph_class():
    """A graphviz.Digraph whose pipe() and render() fall back to pygraphviz, and explain a missing Graphviz."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    graphviz = load_graphviz("draw()")

    class Digraph(graphviz.Digraph):
        """graphviz.Digraph that renders without the dot program when pygraphviz is installed."""

        summary = ""

        def __repr__(self):
            return f"<autodiff Digraph: {self.summary}>" if self.summary else super().__repr__()

        def pipe(self, format=None, **kwargs):
            try:
                return super().pipe(format, **kwargs)
            except graphviz.ExecutableNotFound:
                data = render(self.source, format or self.format)
                encoding = kwargs.get("encoding")
                return data.decode(encoding) if encoding else data

        def render(self, filename=None, directory=None, view=False, cleanup=False, format=None, **kwargs):
            try:
                return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                      **kwargs)
            except graphviz.ExecutableNotFound:
                source = Path(self.save(filename, directory=directory))  # the DOT file is written in any case
                outfile = kwargs.get("outfile")
                fmt_ = format or (Path(outfile).suffix.lstrip(".") if outfile else self.format)
                out = Path(outfile) if outfile else source.with_name(f"{source.name}.{fmt_}")
                try:
                    data = render(self.source, fmt_)
                except GraphvizMissing as e:
                    raise GraphvizMissing(f"{e}\nThe DOT source was written to {source}.") from None
                atomic_write(out, data)
                if cleanup:
                    source.unlink()
                return str(out)

    Digraph.__module__, Digraph.__qualname__ = __name__, "Digraph"
    _CLASS = Digraph
    return _CLASS


# ---------------------------------------------------------------------------------------------------------------
# The text view.

MAX_DEPTH = 24  # a tree indents this many levels at most; a deeper part folds into one line


def tree(root, max_nodes=200):
    """The graph as an indented tree of label, op, data and grad; a Value used twice is expanded once. Ops are
    numbered #1, #2, ... in the order shown, and a deep chain folds into a "... N more levels" line."""
    if not isinstance(root, Value):
        raise TypeError(f"tree: expected a Value, got {type(root).__name__}")
    order = topological_order(root)
    height = {}  # the longest chain of ops below each node
    for node in order:
        height[node] = 1 + max((height[p] for p in node.parents), default=-1)
    shown, numbers = set(), {}  # every node shown; the number of each op shown
    lines, stack = [], [(root, "", "", True, 0)]
    while stack:
        node, lead, branch, top, depth = stack.pop()
        if len(lines) >= max_nodes:
            lines.append(f"... {len(order) - len(shown):,} more values (tree(max_nodes=...) shows more)")
            break
        if node in shown:
            ref = f"#{numbers[node]}, shown above" if node.parents else "again"
            lines.append(f"{lead}{branch}{_describe(node, root)}  ({ref})")
            continue
        if depth >= MAX_DEPTH and node.parents:
            lines.append(f"{lead}{branch}... {height[node] + 1} more levels ({_describe(node, root)}; "
                         f"node.tree() shows them)")
            continue
        shown.add(node)
        if node.parents:
            numbers[node] = len(numbers) + 1
        tag = f"  #{numbers[node]}" if node.parents else ""
        lines.append(f"{lead}{branch}{_describe(node, root)}{tag}")
        child_lead = lead + ("" if top else ("   " if branch.startswith("└") else "│  "))
        parents = list(node.parents)
        for i, p in reversed(list(enumerate(parents))):
            stack.append((p, child_lead, "└─ " if i == len(parents) - 1 else "├─ ", False, depth + 1))
    return "\n".join(lines)


def _describe(node, root):
    k = kind(node, root)
    name = f"{node.label} " if node.label else ""
    if k == "constant":
        return f"{fmt(node.data)} (constant)"
    op = f"[{node.op}] " if node.op else ""
    grad = fmt(node.grad) if grad_computed(node) else "not computed"
    role = f" ({k})" if k in ("root", "parameter", "input") else ""
    return f"{op}{name}data={fmt(node.data)} grad={grad}{role}"
