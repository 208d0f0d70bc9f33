"""A node's chain rule as text a learner reads: `print(z.chain_rule())` shows the formulas of its op's row of the
table with the node's own names and numbers."""
from __future__ import annotations

import math
import re
from typing import Any

from .engine import Constant

__all__ = ["chain_rule_text", "readable", "explain", "Explanation", "Path", "MAX_PATHS", "name_of", "describe", "bare"]


def chain_rule_text(rule):
    """The text of a ChainRule: the node's forward, then one line per parent that receives a gradient."""
    node, op = rule.node, rule.node.grad_fn
    if op is None:
        return f"chain rule of {name_of(node, 'out')}: none (a leaf)"
    defaults = "xy" if op.n <= 2 else [f"x{i}" for i in range(op.n)]
    taken = {name_of(p, None) for p in rule.parents} - {None}
    names, seen = [], {}
    for p, default in zip(rule.parents, defaults):
        if p not in seen:  # a parent used twice (a * a) has one name; two parents never share one
            name = name_of(p, None)
            if name is None:
                name = default
                while name in taken:
                    name += "'"
                taken.add(name)
            seen[p] = name
        names.append(seen[p])
    out = name_of(node, "out")
    while out in names:
        out += "'"
    variables = {**dict(zip("xy", names)), "out": out}
    numbers = {v: p.data for v, p in zip("xy", rule.parents) if type(p) is Constant}
    if op.formulas and " if " not in op.formulas[0]:
        forward = _substitute(op.formulas[0], variables)
    else:
        forward = f"{op.name}({', '.join(names)})"
    if op.formulas:
        derivs = [_substitute(_decided(f, numbers), variables) for f in op.formulas[1:]]
    else:  # a primitive: its derivatives are functions, not formulas
        derivs = [f"d{op.name}/d{n}" for n in names]
    try:
        local = rule.local_grads
    except (ArithmeticError, ValueError):
        local = [None if type(p) is Constant else "undefined here" for p in rule.parents]
    lines = [f"chain rule of {out} = {forward}:"]
    for n, d, number in zip(names, derivs, local):
        if number is not None:
            d = f"({d})" if " " in d else d
            number = number if isinstance(number, str) else repr(number)  # a float, or "undefined here"
            shown = "" if bare(d) == number else f"   (= {number})"
            lines.append(f"  grad({bare(n)}) += grad({bare(out)}) * {d}{shown}")
    return "\n".join(lines)


def name_of(node, default):
    """How a chain rule names a node: its label (in parentheses unless it is a plain name), a Constant's number."""
    if node.label:
        return node.label if re.fullmatch(r"[\w.\[\]']+", node.label) else f"({node.label})"
    if type(node) is Constant:
        return repr(node.data) if math.copysign(1.0, node.data) > 0 else f"({node.data!r})"  # -0.0 too
    return default


def bare(name):
    return name[1:-1] if name.startswith("(") and name.endswith(")") else name  # grad(a+b), not grad((a+b))


def _decided(formula, numbers):
    """A formula with the conditions that only look at numbers (Constants) decided: for x ** 2, the rule
    `y * x ** (y - 1) if value(y) else 0.0` is `y * x ** (y - 1)`."""
    m = re.fullmatch(r"(.+?) if (.+?) else (.+)", formula)
    if not m:
        return formula
    then, condition, otherwise = m.groups()
    used = set(re.findall(r"\b(x|y|out)\b", condition))
    if not used or not used <= set(numbers):
        return f"{then} if {condition} else {_decided(otherwise, numbers)}"
    chosen = eval(condition, {"value": lambda v: v}, dict(numbers))  # only numbers and comparisons: no user text
    return then if chosen else _decided(otherwise, numbers)


def readable(formula):
    """A formula of the table as a reader writes it: value(x) is x, exp_(x) is exp(x), div_(x, y) is x / y."""
    formula = re.sub(r"^v?pow_\(x, y\)$", "x ** y", formula.replace("div_(x, y)", "x / y"))
    formula = re.sub(r"\b(\w+)_\(", r"\1(", formula)
    return re.sub(r"(?<!\w)value\((\w+)\)", r"\1", formula)


def _substitute(formula, names):
    """A formula, readable, with its variables x, y, out replaced by names in one pass (so none is rewritten)."""
    text = re.sub(r"\b(x|y|out)\b", lambda m: names.get(m.group(1), m.group(1)), readable(formula))
    return re.sub(r"(\w)\(\(([^()]*)\)\)", r"\1(\2)", text)  # abs(a+b), not abs((a+b))


# ----- a gradient spelled out: explain(root, node) ------------------------------------------------------------------

MAX_PATHS = 32  # past this many paths from node to root, the derivation is shown in its factored form


class Path:
    """One path from node to root: its Values in order, the local derivative on each of its edges, their product."""

    nodes: list[Any]
    factors: list[float]
    product: float

    def __init__(self, nodes: list[Any], factors: list[float]) -> None:
        self.nodes, self.factors = nodes, factors
        self.product = math.prod(factors)

    def __repr__(self):
        return f"<path of {len(self.factors)} edges, product {self.product!r}>"


class Explanation:
    """d(root)/d(node) as the chain rule: the sum over every path from node to root of the product of the local
    derivatives on its edges. total is that sum (what backward() computes, to rounding); paths lists them, or is
    empty with factored=True when there are more than MAX_PATHS (then the text shows grad(node) as the sum over its
    uses of grad(use) x d(use)/d(node), which is what backward() does)."""

    total: float
    paths: list[Path]
    factored: bool

    def __init__(self, root: Any, node: Any, total: float, paths: list[Path], factored: bool,
                 uses: list[tuple[Any, float, float]], count: int) -> None:
        self.root, self.node, self.total = root, node, total
        self.paths, self.factored, self._uses, self._count = paths, factored, uses, count

    def __repr__(self):
        return self.__str__()

    def __str__(self):
        top, bottom = bare(name_of(self.root, "root")), bare(name_of(self.node, "node"))
        head = f"d{top}/d{bottom}"
        if self.node is self.root:
            return f"{head} = 1"
        if not self._count:
            return f"{head} = 0: {top} does not depend on {bottom}"
        if self.factored:
            terms = " + ".join(f"grad({bare(describe(u))}) × {_number(d)}" for u, d, _ in self._uses)
            values = " + ".join(f"{_number(g)} × {_number(d)}" for _, d, g in self._uses)
            return (f"{head}: {self._count:,} paths from {bottom} to {top}, too many to list; factored as "
                    f"backward() computes it, grad({bottom}) = sum over its uses of grad(use) × local derivative:\n"
                    f"  grad({bottom}) = {terms}\n  = {values}\n  = {_number(self.total)}")
        symbolic, numeric = [], []
        for p in self.paths:
            names = [describe(n) for n in p.nodes]
            symbolic.append("".join(f"(d{names[k + 1]}/d{names[k]})" for k in reversed(range(len(p.factors)))))
            numeric.append(" × ".join(_number(f) for f in reversed(p.factors)))
        return f"{head} = {' + '.join(symbolic)}\n  = {' + '.join(numeric)}\n  = {_number(self.total)}"


def describe(node):
    """A node's name in a derivation: its label, else its op applied to its parents' names (a * b, tanh(x))."""
    name = name_of(node, None)
    if name is not None or node.grad_fn is None:
        return bare(name) if name is not None else "?"
    args = [name_of(p, "…") for p in node.parents]
    return f"({args[0]} {node.op} {args[1]})" if node.op in "+-*/**" and len(args) == 2 else \
        f"{node.op}({', '.join(args)})"


def _number(x):
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def explain(root: Any, node: Any) -> Explanation:
    """d(root)/d(node) spelled out as the chain rule, with the numbers: see Explanation.

    >>> from autodiff import Value
    >>> x = Value(2.0, label="x"); a = x * Value(-3.0, label="y"); a.label = "a"
    >>> z = a + x.tanh(); z.label = "z"
    >>> print(explain(z, x))
    dz/dx = (dz/da)(da/dx) + (dz/dtanh(x))(dtanh(x)/dx)
      = 1 × -3 + 1 × 0.07065
      = -2.929
    """
    from .engine import ChainRule, Value, topological_order
    if not isinstance(root, Value) or not isinstance(node, Value):
        raise TypeError(f"explain(root, node): both must be Values, got {type(root).__name__} and "
                        f"{type(node).__name__}")
    order = topological_order(root)
    if node is root:
        return Explanation(root, node, 1.0, [Path([node], [])], False, [], 1)
    reach = {node}  # the nodes that depend on node, in the graph of root
    for n in order:
        if any(p in reach for p in n.parents):
            reach.add(n)
    count = {node: 1}  # paths from node to each node, with multiplicity (x * x has two edges from x)
    local = {}
    for n in order:
        if n in reach and n is not node:
            count[n] = sum(count[p] for p in n.parents if p in reach)
            local[n] = ChainRule(n).local_grads
    total_paths = count.get(root, 0) if root in reach else 0
    if not total_paths:
        return Explanation(root, node, 0.0, [], False, [], 0)
    grads = {root: 1.0}  # the factored form, in backward()'s order (also the total when paths are too many)
    for n in reversed(order):
        if n in reach and n is not node and n in grads:
            for p, d in zip(n.parents, local[n]):
                if p in reach and d is not None:
                    grads[p] = grads.get(p, 0.0) + grads[n] * d
    uses = [(n, d, grads[n]) for n in order if n in local for p, d in zip(n.parents, local[n]) if p is node]
    if total_paths > MAX_PATHS:
        return Explanation(root, node, grads[node], [], True, uses, total_paths)
    consumers = {}
    for n in order:
        if n in local:
            for p, d in zip(n.parents, local[n]):
                if p in reach:
                    consumers.setdefault(p, []).append((n, d))
    # every path from node up to root (at most MAX_PATHS of them); a path so far is a linked list, (its last node,
    # ((the node before, ...), d)), not a list copied at every step: a chain of depth n costs n, not n squared
    paths, stack = [], [(node, None)]
    while stack:
        last, link = stack.pop()
        if last is root:
            nodes, factors = [last], []
            while link is not None:
                (last, link), d = link[0], link[1]
                nodes.append(last)
                factors.append(d)
            paths.append(Path(nodes[::-1], factors[::-1]))
            continue
        for n, d in reversed(consumers.get(last, [])):
            stack.append((n, ((last, link), d)))
    return Explanation(root, node, math.fsum(p.product for p in paths), paths, False, uses, total_paths)
