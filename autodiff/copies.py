"""Copies and pickles of graphs of any depth: copy.deepcopy and pickle of a Value (and of anything holding Values,
such as an nn model) without recursing once per op, so that a 100,000-deep chain copies as well as a leaf.

Python copies and pickles an object's state recursively: a node's parents are copied while the node is, and
theirs while they are, one level of recursion per op of depth, which fails from a few hundred ops. Here:
  - deepcopy walks the graph in topological order (parents first, engine.topological_order, an iterative walk)
    and copies each node once, its parents already copied;
  - pickle writes, in the state of the Value it is given, every op node beneath it in topological order before
    the node's own slots: each of those is then written when its parents already have been (pickle's memo refers
    back to them), so the recursion stays a few levels deep. The nodes so listed write only their own slots.
Every node keeps its identity within one copy or pickle (a node shared by two others is one node after), and the
table's ops and the shared Constants are not copied: they are the same objects after.
"""
import threading

__all__ = ["copy_value", "deepcopy_value", "reduce_value", "set_state", "state_of"]

_listed = threading.local()  # per thread: {id(node): node} of the nodes a pickle has listed and not written yet


def state_of(node):
    """A Value's state: its __dict__ (a subclass may have one) and every slot that is set (an unset grad stays
    "not computed")."""
    slots = {}
    for cls in type(node).__mro__:
        for name in cls.__dict__.get("__slots__", ()):
            if name not in ("__weakref__", "__dict__"):
                try:
                    slots[name] = cls.__dict__[name].__get__(node)
                except AttributeError:  # not set
                    pass
    return getattr(node, "__dict__", None) or None, slots


def copy_value(node):
    """copy.copy of a Value: a new node with the same slots (the same parents, op, number and grad)."""
    from .engine import Constant
    if type(node) is Constant:
        return node
    new = object.__new__(type(node))
    set_state(new, state_of(node))
    return new


def deepcopy_value(root, memo):
    """copy.deepcopy of a Value: every node beneath it copied once, parents first."""
    import copy

    from .engine import Constant, topological_order
    for node in topological_order(root):
        if id(node) in memo:
            continue
        if type(node) is Constant:
            memo[id(node)] = node  # shared and read-only: the same Constant, as pickle gives
            continue
        new = object.__new__(type(node))
        memo[id(node)] = new
        attributes, slots = state_of(node)
        for name, value in slots.items():
            if name in ("_x", "_y") and node.grad_fn is not None and value is not None:  # parents: copied already
                value = tuple(memo[id(p)] for p in value) if type(value) is tuple else memo[id(value)]
            elif name != "grad_fn":  # an Op is shared, as a function is
                value = copy.deepcopy(value, memo)
            object.__setattr__(new, name, value)
        if attributes:
            new.__dict__.update(copy.deepcopy(attributes, memo))
    return memo[id(root)]


def reduce_value(node):
    """pickle's reduction of a Value: made empty, then given its state (see the module's docstring)."""
    from .engine import topological_order
    pending = getattr(_listed, "nodes", None)
    if pending is not None and pending.pop(id(node), None) is node:
        listed = ()  # written as part of a graph listed above it: its parents are in pickle's memo already
    elif node.grad_fn is None:
        listed = ()
    else:
        listed = [n for n in topological_order(node)[:-1] if n.grad_fn is not None]
        _listed.nodes = {id(n): n for n in listed}  # (a pickle that failed half-way leaves nothing behind: this
    return object.__new__, (type(node),), (listed, *state_of(node))  # replaces it)


def set_state(node, state):
    """A pickled Value's state back: (the nodes listed beneath it, its __dict__, its slots)."""
    if len(state) == 3:
        state = state[1:]  # the listed nodes are restored by now; they were only there to be written first
    attributes, slots = state
    if attributes:
        node.__dict__.update(attributes)
    for name, value in (slots or {}).items():
        object.__setattr__(node, name, value)
