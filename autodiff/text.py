"""How pictures and the text view write numbers and nodes, and the text view itself: `print(v.tree())`."""
import re

from .engine import Constant, Parameter, Value, grad_computed, topological_order

__all__ = ["fmt", "op_symbol", "kind", "tree", "valid", "short_names"]


def fmt(x):
    """A number for a label: 4 significant digits, never a fixed-point 0.0000 for 1e-7, and more digits where 4
    would make it look like a round number it is not (1.0001 is not 1)."""
    if x == 0:
        return "0"
    short = f"{x:.4g}"
    if float(short) != x and "." not in short and "e" not in short and x == x and abs(x) != float("inf"):
        return f"{x:.6g}" if float(f"{x:.6g}") != float(short) else repr(x)
    return short


def valid(text):
    """Text that encodes as UTF-8: a lone surrogate (from a bad decode) becomes U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


LONG = 12  # a dotted label longer than this goes by a short name on the page (the whole label on hover)
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.\w+)+", re.ASCII)


def short_names(labels):
    """{label: its short name} for the long dotted labels among these: the name's last parts, a word followed by a
    number written as the word's initial and the number, as many parts as tell it from every other label (at least
    two): layers.0.neurons.14.w.0 is n14.w0, or l0.n14.w0 beside layers.1.neurons.14.w.0."""
    everything, parts = set(labels), {}
    for label in everything:
        if len(label) <= LONG or not _DOTTED.fullmatch(label):
            continue
        words, out, i = label.split("."), [], 0
        while i < len(words):
            if not words[i].isdigit() and i + 1 < len(words) and words[i + 1].isdigit() and words[i + 1].isascii():
                out.append(words[i][0] + words[i + 1])
                i += 2
            else:
                out.append(words[i])
                i += 1
        parts[label] = out
    short = {}
    for label, mine in parts.items():
        for k in range(min(2, len(mine)), len(mine) + 1):
            name = ".".join(mine[-k:])
            if name not in everything and not any(".".join(p[-k:]) == name for o, p in parts.items() if o != label):
                if len(name) < len(label):
                    short[label] = name
                break
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
