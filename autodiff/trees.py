"""Arguments that are containers: numbers (or Values) in lists, tuples and dicts, nested. The derivative functions
flatten an argument into its numbers, differentiate with respect to each, and give the results back in the
argument's own structure: grad(f)({"w": [1.0, 2.0], "b": 0.5}) is {"w": [..., ...], "b": ...}."""
import numbers

from .engine import Value
from .errors import show

__all__ = ["flatten", "unflatten", "Tree", "describe", "paths", "conform", "has_value", "as_values"]

LEAF = None  # the structure of a number or a Value


class Tree:
    """The structure of a container: its type, its keys (a dict's) and its children's structures."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind, keys, children):
        self.kind, self.keys, self.children = kind, keys, children

    def __eq__(self, other):
        return isinstance(other, Tree) and (self.kind, self.keys, self.children) == \
            (other.kind, other.keys, other.children)

    def __hash__(self):
        return hash((self.kind, self.keys, tuple(self.children)))


def flatten(x, where, what="arguments"):
    """(the numbers and Values in x, depth first in order, x's structure). `where` names x in errors, `what` says
    what x is (arguments, results)."""
    leaves = []
    tree = _flatten(x, leaves, where, what)
    return leaves, tree


def _flatten(x, leaves, where, what):
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        leaves.append(x)
        return LEAF
    if isinstance(x, dict):
        keys = tuple(x)
        return Tree(dict, keys, [_flatten(x[k], leaves, f"{where}[{k!r}]", what) for k in keys])
    if isinstance(x, (list, tuple)):
        return Tree(type(x), None, [_flatten(v, leaves, f"{where}[{i}]", what) for i, v in enumerate(x)])
    kind = type(x).__name__
    raise TypeError(f"{where} is {'an' if kind[:1] in 'aeiou' else 'a'} {kind} {show(x)}; {what} must be numbers, "
                    f"Values, or lists, tuples and dicts of them")


def conform(x, tree):
    """x with each dict's keys in the order of the same dict in `tree` (a tangent's {"b", "a"} for a primal's
    {"a", "b"}); anything else as it is."""
    if tree is LEAF or not isinstance(tree, Tree):
        return x
    if tree.kind is dict and isinstance(x, dict) and set(x) == set(tree.keys):
        return {k: conform(x[k], t) for k, t in zip(tree.keys, tree.children)}
    if isinstance(x, (list, tuple)) and tree.kind is not dict and len(x) == len(tree.children):
        return type(x)(conform(v, t) for v, t in zip(x, tree.children)) if type(x) in (list, tuple) else x
    return x


def has_value(x):
    """Whether a Value is anywhere in x (inside lists, tuples and dicts)."""
    if isinstance(x, Value):
        return True
    if isinstance(x, dict):
        return any(has_value(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(has_value(v) for v in x)
    return False


def unflatten(tree, leaves):
    """x of structure `tree` with the given leaves, in order (an iterator, or a list)."""
    it = iter(leaves)
    out = _unflatten(tree, it)
    return out


def _unflatten(tree, it):
    if tree is LEAF:
        return next(it)
    children = [_unflatten(t, it) for t in tree.children]
    if tree.kind is dict:
        return dict(zip(tree.keys, children))
    if tree.kind is list:
        return children
    if tree.kind is tuple:
        return tuple(children)
    make = getattr(tree.kind, "_make", None)  # a namedtuple
    return make(children) if make else tree.kind(children)


def describe(tree):
    """A structure in words, for errors: 'a number', 'a list of 2', "a dict with keys 'w', 'b'"."""
    if tree is LEAF:
        return "a number"
    if tree.kind is dict:
        return f"a dict with keys {', '.join(repr(k) for k in tree.keys)}" if tree.keys else "an empty dict"
    return f"a {tree.kind.__name__} of {len(tree.children)}"


def paths(tree, prefix):
    """The name of each leaf of a structure, in order: prefix, prefix['w'][1], ..."""
    if tree is LEAF:
        return [prefix]
    keys = tree.keys if tree.kind is dict else range(len(tree.children))
    return [p for k, t in zip(keys, tree.children) for p in paths(t, f"{prefix}[{k!r}]")]


def as_values(x, inputs=None):
    """x with a new leaf Value for every number (lists and tuples as lists, dicts as dicts), collected in inputs
    in order: the data a traced program reads."""
    if isinstance(x, (list, tuple)):
        return [as_values(item, inputs) for item in x]
    if isinstance(x, dict):
        return {k: as_values(v, inputs) for k, v in x.items()}
    v = Value(x)
    if inputs is not None:
        inputs.append(v)
    return v
