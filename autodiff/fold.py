"""Which nodes a big picture folds: the modules of a model (neurons, then layers), then everything far from the root.

A drawing does not guess a model's structure from names: a Parameter says which modules hold it (its `modules`,
innermost first, which nn sets), and a module's output carries the module's name as its label (nn labels them).
"""
from collections import deque

from .engine import Constant, Parameter

__all__ = ["fold", "FOLDED"]

FOLDED = ("folded",)  # the unit of the nodes farthest from the root, when even the modules are too many


AUTO = 60  # draw()'s default: at most this many boxes, in a picture at most LONG points long and WIDE boxes across:
LONG, WIDE = 1500, 6  # about 2,000 px on its longest side (a layer of 16 neurons stacked is a tall tangle of edges)


def fold(order, values, root, max_nodes):
    """({node: the unit it is folded into}, a note saying what was folded) for a picture of at most max_nodes units.

    `values` are the nodes that need a place of their own (not the Constants); a unit is ("group", module name) or
    FOLDED, and a node absent from the map is drawn itself. max_nodes=None is the default of draw(): a graph of
    more than AUTO values folds into a picture that is readable at its natural size (_fits).
    """
    auto = max_nodes is None
    limit = AUTO if auto else max_nodes
    if len(values) <= limit:
        return {}, ""
    unit, note = {}, ""
    for level, how in enumerate(("neuron", "layer")):
        groups = _groups(order, level)
        if not groups:
            break
        unit = _absorb_inputs(order, root, groups)
        note = f"{len(order):,} values: grouped by nn {how}"
        if _count(values, unit) <= limit and (not auto or _fits(values, unit)):
            break
    if _count(values, unit) > limit or (auto and not _fits(values, unit)):
        kept, grouped = limit, unit
        if auto:  # the most units near the root that still fit: a long chain keeps its last few links
            low, high = 2, limit
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if _fits(values, _fold_far_nodes(values, root, grouped, middle)) else \
                    (low, middle - 1)
            kept = low
        unit = _fold_far_nodes(values, root, grouped, kept)
        note = (note + "; " if note else f"{len(order):,} values: ") + \
            f"the {kept:,} nearest the root shown, the rest folded"
    how = "to stay readable" if auto else f"by max_nodes={max_nodes:,}"
    return unit, f"{note} ({how}); draw(root, max_nodes={len(order)}) draws every value"


def _fits(values, unit):
    """Whether a picture of these units is at most about LONG points long (its longest path from the inputs to the
    root, each box as wide as its text and an op's circle) and WIDE units across (at one distance from the inputs)."""
    end, depth = {}, {}  # unit -> where its box ends (points from the left), and how many boxes precede it
    for node in values:  # topological order: parents first
        u = unit.get(node, node)
        before = [unit.get(p, p) for p in node.parents if unit.get(p, p) in end and unit.get(p, p) != u]
        start = max((end[b] for b in before), default=0.0)
        end[u] = max(end.get(u, 0.0), start + _box(u))
        depth[u] = max(depth.get(u, 0), max((depth[b] + 1 for b in before), default=0))
    across = {}
    for d in depth.values():
        across[d] = across.get(d, 0) + 1
    return max(end.values(), default=0) <= LONG and max(across.values(), default=0) <= WIDE


def _box(u):
    """About how many points a unit takes along the picture: its text at 7 points a character, then its edge (and
    for a Value made by an op, the op's circle)."""
    if isinstance(u, tuple):  # a group, or the folded rest
        return 7 * max(len(u[-1] or ""), 12) + 60
    return 7 * (min(len(u.label or ""), 80) + 28) + 80


def _module(param, level):
    """The name of the module at this level that holds a Parameter (0: the innermost), or None."""
    modules = getattr(param, "modules", ()) if isinstance(param, Parameter) else ()
    return modules[min(level, len(modules) - 1)] if modules else None


def _groups(order, level):
    """{node: module name} for parameters, and for every op node computed inside one module from its parameters.

    A node joins a module when every parent that is not a leaf or a finished module output (a node labelled with
    the innermost module's name, as nn labels a neuron's output) belongs to that same module.
    """
    group, finished, outer = {}, set(), {}
    for node in order:
        if not node.parents:
            name = _module(node, level)
            if name is not None:
                group[node] = name
                outer[_module(node, 0)] = name  # a neuron's output belongs to its layer
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
            if outer.get(node.label) == found:
                finished.add(node)
    return group


def _count(values, unit):
    return len({unit.get(n, n) for n in values})


def _absorb_inputs(order, root, groups):
    """The units of a grouping; an input used only inside one group is folded into it."""
    users = {}
    for node in order:
        for p in node.parents:
            if not p.parents and p not in groups and type(p) not in (Parameter, Constant):
                users.setdefault(p, set()).add(groups.get(node))
    unit = {n: ("group", g) for n, g in groups.items()}
    for leaf, gs in users.items():
        if len(gs) == 1 and None not in gs and leaf is not root:
            unit[leaf] = ("group", next(iter(gs)))
    return unit


def _fold_far_nodes(values, root, unit, max_nodes):
    """Keep the max_nodes units nearest the root (breadth first, towards the inputs); fold the rest into one."""
    parents_of = {}
    for node in values:
        u = unit.get(node, node)
        for p in node.parents:
            pu = unit.get(p, p)
            if pu != u and type(p) is not Constant:
                parents_of.setdefault(u, []).append(pu)
    start = unit.get(root, root)
    kept, queue = {start}, deque([start])
    while queue and len(kept) < max_nodes:
        u = queue.popleft()
        for pu in parents_of.get(u, ()):
            if pu not in kept and len(kept) < max_nodes:
                kept.add(pu)
                queue.append(pu)
    unit = dict(unit)
    for node in values:
        if unit.get(node, node) not in kept:
            unit[node] = FOLDED
    return unit
