"""Arguments that are containers: numbers (or Values) in lists, tuples and dicts, nested. The derivative functions
flatten an argument into its numbers, differentiate with respect to each, and give the results back in the
argument's own structure: grad(f)({"w": [1.0, 2.0], "b": 0.5}) is {"w": [..., ...], "b": ...}."""
import numbers

from .engine import Value
from .errors import show

__all__ = ["flatten", "unflatten", "Tree", "describe", "paths"]

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


def flatten(x, where):
    """(the numbers and Values in x, depth first in order, x's structure). `where` names x in errors."""
    leaves = []
    tree = _flatten(x, leaves, where)
    return leaves, tree


def _flatten(x, leaves, where):
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        leaves.append(x)
        return LEAF
    if isinstance(x, dict):
        keys = tuple(x)
        return Tree(dict, keys, [_flatten(x[k], leaves, f"{where}[{k!r}]") for k in keys])
    if isinstance(x, (list, tuple)):
        return Tree(type(x), None, [_flatten(v, leaves, f"{where}[{i}]") for i, v in enumerate(x)])
    raise TypeError(f"{where} is a {type(x).__name__} {show(x)}; arguments must be numbers, Values, or lists, tuples "
                    f"and dicts of them")


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
