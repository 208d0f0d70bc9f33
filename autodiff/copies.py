"""Copies and pickles of graphs of any depth: copy.deepcopy and pickle of a Value (and of anything holding Values,
such as an nn model) without recursing once per op, so that a 100,000-deep chain copies as well as a leaf.

Python copies and pickles an object's state recursively: a node's parents are copied while the node is, and
theirs while they are, one level of recursion per op of depth, which fails from a few hundred ops. Here:
  - deepcopy walks the graph in topological order (parents first, an iterative walk that stops at what is copied
    already) and copies each node once, its parents already copied;
  - pickle writes, in the state of the Value it is given, every op node beneath it in topological order before
    the node's own slots: each of those is then written when its parents already have been (pickle's memo refers
    back to them), so the recursion stays a few levels deep. The nodes so listed write only their own slots, and a
    later Value of the same pickle lists only what is not written yet (a list of a graph's nodes costs its size).
Every node keeps its identity within one copy or pickle (a node shared by two others is one node after), and the
table's ops and the shared Constants are not copied: they are the same objects after.
"""
import collections
import threading
import weakref

__all__ = ["copy_value", "deepcopy_value", "reduce_value", "set_state", "state_of"]

_pickling = threading.local()  # per thread: what the pickle being written has listed and written (see reduce_value)


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


def _ancestors(root, done):
    """The op nodes beneath root, parents first (root last), not going into those for which done(node) is true."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen and node.grad_fn is not None and (node is root or not done(node)):
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents))
    return order


def deepcopy_value(root, memo):
    """copy.deepcopy of a Value: every node beneath it not copied yet, parents first (a list of a graph's nodes
    costs the graph's size, not its size squared)."""
    import copy

    from .engine import Constant
    for node in [root] if root.grad_fn is None else _ancestors(root, lambda n: id(n) in memo):
        if id(node) in memo:
            continue
        if type(node) is Constant:
            memo[id(node)] = node  # shared and read-only: the same Constant, as pickle gives
            continue
        new = object.__new__(type(node))
        memo[id(node)] = new
        attributes, slots = state_of(node)
        for name, value in slots.items():
            if name in ("_x", "_y") and node.grad_fn is not None and value is not None:  # parents
                value = (tuple(_copied(p, memo) for p in value) if type(value) is tuple else _copied(value, memo))
            elif name != "grad_fn":  # an Op is shared, as a function is
                value = copy.deepcopy(value, memo)
            object.__setattr__(new, name, value)
        if attributes:
            new.__dict__.update(copy.deepcopy(attributes, memo))
    return memo[id(root)]


def _copied(parent, memo):
    """A parent's copy: made already (an op node, parents first), or a leaf's, made now."""
    import copy
    return memo[id(parent)] if id(parent) in memo else copy.deepcopy(parent, memo)


def reduce_value(node):
    """pickle's reduction of a Value: made empty, then given its state (see the module's docstring).

    Within one pickle, the op nodes a Value lists are written in their order, each right after the one before (their
    parents are written already); so a listed node reduced out of turn, or a node reduced a second time, means a new
    pickle (or one that failed half-way): what this thread had noted is dropped, and the node lists afresh."""
    if node.grad_fn is None:
        return object.__new__, (type(node),), ((), *state_of(node))
    state = _pickling.__dict__
    pending, written = state.get("pending"), state.get("written")
    if pending and pending[0]() is node:
        pending.popleft()
        written[id(node)] = node
        return object.__new__, (type(node),), ((), *state_of(node))  # its parents are written already
    if pending is None or id(node) in written or any(r() is node for r in pending):
        state["pending"], state["written"] = pending, written = collections.deque(), weakref.WeakValueDictionary()
    written[id(node)] = node
    listed = _ancestors(node, lambda n: written.get(id(n)) is n)[:-1]
    pending.extend(weakref.ref(n) for n in listed)
    return object.__new__, (type(node),), (listed, *state_of(node))


def set_state(node, state):
    """A pickled Value's state back: (the nodes listed beneath it, its __dict__, its slots)."""
    if len(state) == 3:
        state = state[1:]  # the listed nodes are restored by now; they were only there to be written first
    attributes, slots = state
    if attributes:
        node.__dict__.update(attributes)
    for name, value in (slots or {}).items():
        object.__setattr__(node, name, value)
