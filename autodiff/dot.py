"""The DOT text of a picture: a record per Value (label, data, grad), a small node per op, one edge per use of a
Value with its local derivative, a legend of the kinds drawn, and a box per folded module (see fold.py)."""
import re

from .engine import Constant, Value, grad_computed, topological_order
from .fold import FOLDED, fold
from .text import fmt, kind, op_symbol, valid

__all__ = ["Graph", "KINDS", "local_derivatives"]

# kind: (fill colour, border style, legend text)
KINDS = {
    "root": ("#ffe8a3", "bold", "root (the output)"),
    "parameter": ("#cfe2f3", "filled", "parameter"),
    "input": ("#d9ead3", "filled", "input"),
    "constant": ("#eeeeee", "dashed", "constant"),
    "value": ("#ffffff", "filled", "intermediate value"),
    "group": ("#e6dcf5", "filled", "collapsed nodes"),
}


INPUT_COLOURS = ("#1f4e99", "#a8460a", "#2e7d32")  # the edges into one op, and their labels, in these colours


def local_derivatives(node):
    """d(node)/d(parent) for each parent occurrence, at the current point (None for a Constant or if undefined)."""
    try:
        return list(node.chain_rule().local_grads)
    except (ValueError, TypeError):
        return [None] * len(node.parents)


LONGEST = 80  # characters of a label drawn in its box: a longer one is shortened with …, whole in its tooltip
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # (newlines are line breaks)


def _drawn(label):
    """(a label as drawn: control characters shown as escapes, \\x00, and a label past LONGEST characters shortened;
    the whole label, for the tooltip, when it was shortened, else None). Graphviz refuses a NUL and any quoted
    string over 16,384 characters."""
    text = _CONTROL.sub(lambda m: repr(m[0])[1:-1], valid(label))
    return (text, None) if len(text) <= LONGEST else (text[:LONGEST - 1] + "…", text)


_QUOTED_OR_LONG = re.compile(r'"(?:[^"\\]|\\.)*"|=autodifflong(\d+)\b')  # a quoted string, or a placeholder


def _quoted_long(text):
    """A DOT string of any length, as quoted pieces joined by + (DOT's concatenation): no piece is too long."""
    pieces = [text[i:i + 4000] for i in range(0, len(text), 4000)] or [""]
    # a backslash as four: Graphviz reads a tooltip as an escString, and its SVG writer halves runs of backslashes
    escape = lambda t: t.replace("\\", "\\" * 4).replace("&", "&amp;").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    return " + ".join(f'"{escape(t)}"' for t in pieces)


def _escape_record(text):
    """Text that cannot break a record label, drawn as written: { } | < > and quotes escaped, & as &amp; (Graphviz
    reads entities in labels), newlines as line breaks."""
    text = valid(text).replace("\\", "\\\\").replace("&", "&amp;")  # Graphviz reads &amp; and &#60; as entities
    text = re.sub(r'([{}|<>"])', r"\\\1", text)
    return text.replace("\r\n", "\n").replace("\n", "\\n").replace("\r", "\\n")


def _escape_html(text):
    return valid(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")



class Graph:
    """A picture of the graph that computed `root`: which nodes it shows, which it folds, and how each looks.

    `grads` (node -> number), when given, are shown instead of each node's .grad (animate shows its own pass).
    `room`, when given, is the number of characters every number's place is laid out for (a page that rewrites
    the numbers needs boxes that fit any of them). `names` ({label: short name}) draws those labels shorter.
    """

    def __init__(self, root, rankdir="LR", show_grad=True, show_local=True, max_nodes=None, grads=None, room=0,
                 names=None):
        if not isinstance(root, Value):
            raise TypeError(f"draw: expected a Value, got {type(root).__name__}")
        if rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(f"draw: rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
        if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1):
            raise ValueError(f"draw: max_nodes must be a positive int (or None: fold as needed to stay readable), "
                             f"got {max_nodes!r}")
        self.root, self.rankdir, self.show_grad, self.show_local = root, rankdir, show_grad, show_local
        self.grads, self.room, self.names = grads, room, names or {}
        self.order = topological_order(root)
        self.index = {node: i for i, node in enumerate(self.order)}
        # a Constant is drawn beside each use, so it needs no place of its own and never makes an edge long
        self.values = [n for n in self.order if type(n) is not Constant or n is root]
        self.unit, self.note = fold(self.order, self.values, root, max_nodes)  # node -> its unit, if folded

    # ----- DOT -----

    def node_id(self, node):
        return f"v{self.index[node]}"

    def unit_id(self, u):
        return "folded" if u == FOLDED else f"g{self._group_ids[u]}"

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
        self._group_ids = {u: i for i, u in enumerate(u for u in units if u != FOLDED)}
        self._longs = []
        for node in shown:
            self._value_node(dot, node)
        for u, members in units.items():
            self._unit_node(dot, u, members)
        self._edges(dot, shown)
        if len(shown) + len(units) > 150:  # dot would spend minutes routing long curved edges: bound its effort
            dot.graph_attr.update(splines="line", nslimit="0.2", nslimit1="0.2", mclimit="0.3")
        if self._longs:  # each placeholder (a bare DOT word, never inside a quoted string) becomes its string
            dot.body[:] = [_QUOTED_OR_LONG.sub(lambda m: m[0] if m[1] is None else "=" + _quoted_long(
                self._longs[int(m[1])]), line) for line in dot.body]
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
        label, whole = _drawn(node.label) if node.label else ("", None)
        if node.label in self.names:  # a short name, the whole label in the tooltip
            label, whole = self.names[node.label], node.label  # (a dotted name: nothing to escape in it)
        fields = [_escape_record(label)] if node.label else []
        if k == "constant":
            fields.append(fmt(node.data))
        else:
            fields.append(f"data {self._number(node.data)}")
            if self.show_grad:
                grad = node.grad if self.grads is None else self.grads.get(node, 0.0)
                fields.append("grad not computed" if self.grads is None and not grad_computed(node) else
                              f"grad {self._number(grad, self.room and 10)}")  # a page writes "tangent" there too
        nid = self.node_id(node)
        tooltip = {} if whole is None else {"tooltip": self._long(whole)}
        dot.node(nid, "{ " + " | ".join(fields) + " }", shape="record", style=f"filled,{style}" if style != "filled"
                 else "filled", fillcolor=fill, id=nid, **tooltip)
        if node.parents:
            dot.node(nid + "op", _escape_record(op_symbol(node.op)), shape="circle", width="0.3", fixedsize="false",
                     style="filled", fillcolor="#f3f3f3", fontsize="10", margin="0.02", id=nid + "op")
            dot.edge(nid + "op", nid, id=nid + "out")

    def _number(self, x, more=0):
        """fmt(x), centred in room (+ more) characters (no-break spaces: Graphviz keeps them, and sizes the box for
        them)."""
        text = fmt(x)
        pad = max(0, self.room + more - len(text))
        return "\u00a0" * (pad // 2) + text + "\u00a0" * (pad - pad // 2)

    def _unit_node(self, dot, u, members):
        if u == FOLDED:
            dot.node("folded", f"{len(members):,} more values\\nfarther from the root", shape="note",
                     style="filled", fillcolor="#f3f3f3", id="folded")
            return
        name, whole = _drawn(u[1] or "(model)")
        tooltip = {} if whole is None else {"tooltip": self._long(whole)}
        dot.node(self.unit_id(u), f"{_escape_record(name)}\\n{len(members):,} values", shape="box3d",
                 style="filled", fillcolor=KINDS["group"][0], id=self.unit_id(u), **tooltip)

    def _long(self, text):
        """A placeholder for a long string, written into the DOT as quoted pieces once it is made (digraph)."""
        self._longs.append(text)
        return f"autodifflong{len(self._longs) - 1}"

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
                    label = self._number(locals_[i]) if locals_ and locals_[i] is not None else ""
                    style = {"decorate": "true"} if label else {}  # the label underlined, a line to its edge
                    if label and sum(type(q) is not Constant for q in node.parents) > 1:
                        colour = INPUT_COLOURS[i % len(INPUT_COLOURS)]  # an op's inputs told apart by colour
                        style.update(color=colour, fontcolor=colour)
                    dot.edge(source, target, label=label, id=f"{self.node_id(node)}e{i}", **style)
                else:
                    dest = self.unit_id(self.unit[node])
                    if source != dest:
                        counted[(source, dest)] = counted.get((source, dest), 0) + 1
        for (source, dest), n in counted.items():
            dot.edge(source, dest, label=f"x{n}" if n > 1 else "", style="dashed")
