"""Derivatives as functions, JAX style: grad, value_and_grad, hessian (reverse mode), jvp (forward mode), vjp,
jacobian (either mode) and hvp (forward over reverse). They compose to any order.

Arguments may be numbers, or lists, tuples and dicts of them, nested; derivatives come back in the same structure.
They never touch the .grad of a Value: gradients are kept in a dict that lives for one call. At the outermost level
(plain numbers in, no enclosing derivative) the passes run on floats and the results are floats. Inside another
derivative, or when given Values, they run on Values, so the result is itself differentiable.

Reverse mode is one backward pass per output (backprop, the engine's); forward mode is one forward pass over the
graph per input direction: each node's tangent is the sum over its parents of the local derivative (the op table's,
as in backward) times the parent's tangent.
"""
import contextlib
import contextvars
import functools
import numbers
from typing import Any, Callable, Sequence

from .engine import ChainRule, Op, Value, backprop, topological_order
from .grad_mode import recording_on, tracing
from .errors import real, show
from .trees import conform, describe, flatten, has_value, unflatten

__all__ = ["grad", "value_and_grad", "hessian", "jvp", "vjp", "jacobian", "hvp"]

_depth = contextvars.ContextVar("autodiff_grad_depth", default=0)  # how many derivatives enclose this one

# Each differentiated argument gets a fresh node, so that an inner derivative cannot confuse its variable with an
# outer one that has the same Value (grad(lambda x: grad(lambda y: x * y)(x))(3.0) is 1, not 2x).
watch = Op("input", "x", "1.0", functions=(lambda x: x, lambda x, out: 1.0))
watch.__module__, watch.__qualname__ = __name__, "watch"


@contextlib.contextmanager
def _differentiating():
    token = _depth.set(_depth.get() + 1)
    try:
        with recording_on():
            yield
    finally:
        _depth.reset(token)


def _argnums(argnums, fname):
    """(tuple of indices, whether a single one was asked for)."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return (argnums,), True
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(i, int) and not isinstance(i, bool) for i in argnums):
        return tuple(argnums), False
    raise TypeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")


def _resolve(nums, args, fname):
    n = len(args)
    if any(not -n <= i < n for i in nums):
        raise ValueError(f"{fname}: argnums {nums} out of range for a call with {n} positional argument(s)")
    idx = [i % n for i in nums]
    if len(set(idx)) != len(idx):
        raise ValueError(f"{fname}: argnums {nums} names an argument twice")
    return idx


class _Inputs:
    """The differentiated arguments, each number in them replaced by a fresh node: .args (to call f with), .wrt
    (the fresh nodes, in order), .trees (each argument's structure) and .higher (whether results must be Values)."""

    def __init__(self, args, idx, fname):
        self.args, self.wrt, self.trees, self.sizes = list(args), [], [], []
        numbers_ = []
        for i in idx:
            leaves, tree = flatten(self.args[i], f"{fname}: argument {i}")
            fresh = [watch(a) if isinstance(a, Value) else Value(real(a, f"{fname} (argument {i})")) for a in leaves]
            self.args[i] = unflatten(tree, fresh)
            self.wrt += fresh
            self.trees.append(tree)
            self.sizes.append(len(fresh))
            numbers_ += leaves
        others = [a for k, a in enumerate(args) if k not in idx]
        self.higher = _depth.get() > 0 or any(isinstance(a, Value) for a in numbers_) or any(
            has_value(a) for a in others)

    def split(self, values, higher=None):
        """Per differentiated argument, its values (one per number in it) in the argument's structure."""
        higher = self.higher if higher is None else higher
        out, k = [], 0
        for tree, n in zip(self.trees, self.sizes):
            out.append(unflatten(tree, [_result(v, higher) for v in values[k:k + n]]))
            k += n
        return out


def _outputs(out, fname, scalar=False):
    """(the numbers and Values f returned, their structure): a Value, a number, or a container of them."""
    if scalar:
        if isinstance(out, Value) or (isinstance(out, numbers.Real) and not isinstance(out, bool)):
            return [out], None
        advice = ("hvp needs a scalar function (f's Hessian)" if fname == "hvp" else
                  "for several outputs use jacobian, vjp or jvp")
        raise TypeError(f"{fname}: the function must return a scalar Value or a number, got {type(out).__name__} "
                        f"{show(out)}; {advice}")
    return flatten(out, f"{fname}: the function's result", "results")


def _live(outs, wrt):
    """The nodes between wrt and the outputs (those that depend on wrt), parents first, without wrt itself."""
    inputs, live, order = set(wrt), set(wrt), []
    for node in topological_order(*[o for o in outs if isinstance(o, Value)]):  # one walk for all outputs
        if node not in inputs and any(p in live for p in node.parents):
            live.add(node)
            order.append(node)
    return order


def _backward(order, seeds, higher):
    """Reverse mode: one backward pass from the seeded outputs; {node: d(seeded outputs)/d(node)}.

    Inside a compile trace every derivative is a Value of the graph (as at higher order), so that the number it
    gives is a traced number: the program computes it, and decisions made from it are guarded (guards.py)."""
    return backprop(order, dict(seeds), higher or tracing.get() is not None)


def _forward(order, seeds, higher):
    """Forward mode: one pass from the seeded inputs towards the outputs; {node: its tangent}. A node's tangent is
    the sum over its parents of d(node)/d(parent) (the op table's local derivative) times the parent's tangent."""
    tangents = dict(seeds)
    higher = higher or tracing.get() is not None  # (as in _backward)
    for node in order:
        if not any(p in tangents for p in node.parents):
            continue
        total = None
        for p, d in zip(node.parents, ChainRule(node, higher).local_grads):
            if d is not None and p in tangents:
                term = d * tangents[p]
                total = term if total is None else total + term
        if total is not None:
            tangents[node] = total
    return tangents


def _result(x, higher):
    """A Value when differentiating further, else a float."""
    if higher:
        return x if isinstance(x, Value) else Value(x)
    return x.data if isinstance(x, Value) else float(x)


def value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., tuple[Any, Any]]:
    """A function that returns (f(*args), the gradient of f with respect to the arguments in argnums)."""
    return _value_and_grad(f, argnums, "value_and_grad")


def _value_and_grad(f, argnums, _name):
    """value_and_grad, with errors that name the function the user called (grad or value_and_grad)."""
    nums, single = _argnums(argnums, _name)

    @functools.wraps(f)
    def value_and_df(*args, **kwargs):
        inputs = _Inputs(args, _resolve(nums, args, _name), _name)
        with _differentiating():
            out = f(*inputs.args, **kwargs)
            (value,), _ = _outputs(out, _name, scalar=True)
            grads = _backward(_live([value], inputs.wrt), {value: 1.0}, inputs.higher) if isinstance(
                value, Value) else {}
            result = inputs.split([grads.get(w, 0.0) for w in inputs.wrt])
        return _result(value, inputs.higher), result[0] if single else tuple(result)

    return value_and_df


def grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function that returns the derivative of f with respect to argument argnums (a tuple gives a tuple).
    An argument may be a list, tuple or dict of numbers (nested): its gradient has the same structure.

    >>> grad(lambda x: x ** 3)(2.0)
    12.0
    >>> grad(grad(lambda x: x ** 3))(2.0)
    12.0
    >>> grad(lambda p: p["w"][0] * p["w"][1] + p["b"])({"w": [2.0, 3.0], "b": 0.5})
    {'w': [3.0, 2.0], 'b': 1.0}
    """
    vg = _value_and_grad(f, argnums, "grad")

    @functools.wraps(f)
    def df(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return df


def hessian(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function that returns the second derivatives of scalar f with respect to the arguments in argnums, as
    JAX's hessian: argnums an int (0 by default) gives that argument's structure holding its structure (a number
    for a number); a tuple gives a tuple of tuples, H[i][j] = d2f/d(args[argnums[i]])d(args[argnums[j]]).

    >>> hessian(lambda x: x ** 3)(2.0)
    12.0
    >>> hessian(lambda x, y: x * x * y, argnums=(0, 1))(1.0, 2.0)
    ((4.0, 2.0), (2.0, 0.0))
    >>> hessian(lambda p: p[0] ** 2 * p[1])([1.0, 2.0])
    [[4.0, 2.0], [2.0, 0.0]]
    """
    nums, single = _argnums(argnums, "hessian")

    @functools.wraps(f)
    def hess(*args, **kwargs):
        inputs = _Inputs(args, _resolve(nums, args, "hessian"), "hessian")
        with _differentiating():
            out = f(*inputs.args, **kwargs)
            (value,), _ = _outputs(out, "hessian", scalar=True)
            first = _gradient(value, inputs.wrt, True)  # Values, so that they can be differentiated again
            rows = [_gradient(g, inputs.wrt, inputs.higher) for g in first]
        return _matrix(inputs, rows, single)

    return hess


def _gradient(value, wrt, higher):
    if not isinstance(value, Value):
        return [0.0] * len(wrt)
    grads = _backward(_live([value], wrt), {value: 1.0}, higher)
    return [grads.get(w, 0.0) for w in wrt]


def _matrix(inputs, rows, single):
    """rows[k][m] = d2f/d(number k)d(number m), shaped as JAX's hessian (jacfwd of jacrev): an int argnums gives
    the argument's structure holding its structure; a tuple gives, per argument i, its structure holding a tuple
    over the arguments j of args[j]'s structure."""
    starts = [sum(inputs.sizes[:i]) for i in range(len(inputs.sizes))]

    def block(k, j):  # d/d(args[j]) of the k-th first derivative, in args[j]'s structure
        return unflatten(inputs.trees[j], [_result(h, inputs.higher) for h in
                                           rows[k][starts[j]:starts[j] + inputs.sizes[j]]])
    if single:
        return unflatten(inputs.trees[0], [block(k, 0) for k in range(inputs.sizes[0])])
    return tuple(unflatten(tree_i, [tuple(block(k, j) for j in range(len(inputs.trees)))
                                    for k in range(starts[i], starts[i] + n_i)])
                 for i, (tree_i, n_i) in enumerate(zip(inputs.trees, inputs.sizes)))


def _pair(primals, tangents, fname):
    """primals and tangents as lists of arguments, checked to have one tangent number per primal number."""
    for name, x in (("primals", primals), ("tangents", tangents)):
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"{fname}: {name} must be a tuple (or list) of arguments, one per argument of f, got "
                            f"{type(x).__name__} {show(x)}")
    if len(primals) != len(tangents):
        raise ValueError(f"{fname}: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent per "
                         f"primal")
    flat = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p_tree = flatten(p, f"{fname}: primal {i}")[1]
        t_leaves, t_tree = flatten(conform(t, p_tree), f"{fname}: tangent {i}")
        if p_tree != t_tree:
            raise ValueError(f"{fname}: tangent {i} is {describe(t_tree)}, but primal {i} is {describe(p_tree)}; "
                             f"a tangent has the primal's structure, one number per number")
        flat += [x if isinstance(x, Value) else real(x, f"{fname} (tangent {i})") for x in t_leaves]
    return list(primals), flat


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: (f(*primals), the derivative of f at primals in the direction tangents), in one forward pass.

    `primals` and `tangents` are tuples (or lists) with one entry per argument of f, a tangent having its
    primal's structure. f may return a Value or a list (tuple, dict) of them: the tangent has the same structure.

    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    """
    primals, seeds = _pair(primals, tangents, "jvp")
    inputs = _Inputs(primals, range(len(primals)), "jvp")
    higher = inputs.higher or any(isinstance(t, Value) for t in seeds)
    with _differentiating():
        outs, tree = _outputs(f(*inputs.args), "jvp")
        tangents_ = _forward(_live(outs, inputs.wrt), dict(zip(inputs.wrt, seeds)), higher)
        tangent = [tangents_.get(o, 0.0) if isinstance(o, Value) else 0.0 for o in outs]
    return (unflatten(tree, [_result(o, higher) for o in outs]),
            unflatten(tree, [_result(t, higher) for t in tangent]))


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """Reverse mode as a function: (f(*primals), vjp_fn), where vjp_fn(cotangent) gives, for each primal, the
    cotangent times the Jacobian of f there (one backward pass per call; the graph is built once).

    `cotangent` has the structure of f's result (a number for a Value, a list for a list of Values).

    >>> out, vjp_fn = vjp(lambda x, y: [x * y, x + y], 2.0, 3.0)
    >>> out, vjp_fn([1.0, 0.0])
    ([6.0, 5.0], (3.0, 2.0))
    """
    inputs = _Inputs(primals, range(len(primals)), "vjp")
    with _differentiating():
        outs, tree = _outputs(f(*inputs.args), "vjp")
        order = _live(outs, inputs.wrt)
    value = unflatten(tree, [_result(o, inputs.higher) for o in outs])

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        leaves, given = flatten(conform(cotangent, tree), "vjp_fn: the cotangent")
        if given != tree:
            raise ValueError(f"vjp_fn: the cotangent is {describe(given)}, but f returned {describe(tree)}; give "
                             f"one number per output, in the output's structure")
        seeds = {}
        for o, c in zip(outs, leaves):
            c = c if isinstance(c, Value) else real(c, "vjp_fn (cotangent)")
            if isinstance(o, Value):
                seeds[o] = seeds[o] + c if o in seeds else c  # an output given twice gets both
        higher = inputs.higher or any(isinstance(c, Value) for c in leaves)
        with _differentiating():
            grads = _backward(order, seeds, higher)
            return tuple(inputs.split([grads.get(w, 0.0) for w in inputs.wrt], higher))

    return value, vjp_fn


def jacobian(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0,
             mode: str = "rev") -> Callable[..., Any]:
    """A function that returns the Jacobian of f with respect to the arguments in argnums, as JAX's jacobian: f's
    result structure (a number for a Value) holding, per output, the derivative's structure: that argument's for an
    int argnums (0 by default), a tuple of them for a tuple.

    mode="rev" builds it row by row, one backward pass per output; mode="fwd" column by column, one forward pass
    per input number (jvp). Same numbers; the cheaper mode is the one with fewer passes.

    >>> jacobian(lambda x, y: [x * y, x + y], argnums=(0, 1))(2.0, 3.0)
    [(3.0, 2.0), (1.0, 1.0)]
    >>> jacobian(lambda p: [p[0] * p[1], p[0] + p[1]])([2.0, 3.0])
    [[3.0, 2.0], [1.0, 1.0]]
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {show(mode)}")
    nums, single = _argnums(argnums, "jacobian")

    @functools.wraps(f)
    def jac(*args, **kwargs):
        inputs = _Inputs(args, _resolve(nums, args, "jacobian"), "jacobian")
        with _differentiating():
            outs, tree = _outputs(f(*inputs.args, **kwargs), "jacobian")
            order = _live(outs, inputs.wrt)
            if mode == "rev":
                rows = []
                for o in outs:
                    grads = _backward(order, {o: 1.0}, inputs.higher) if isinstance(o, Value) else {}
                    rows.append([grads.get(w, 0.0) for w in inputs.wrt])
            else:
                columns = []
                for w in inputs.wrt:
                    tangents = _forward(order, {w: 1.0}, inputs.higher)
                    columns.append([tangents.get(o, 0.0) if isinstance(o, Value) else 0.0 for o in outs])
                rows = [[column[i] for column in columns] for i in range(len(outs))]
            per_output = [inputs.split(row) for row in rows]
            return unflatten(tree, [row[0] if single else tuple(row) for row in per_output])

    return jac


def hvp(f: Callable[..., Any]) -> Callable[[Sequence[Any], Sequence[Any]], Any]:
    """A function of (primals, tangents) that returns the Hessian of scalar f times the vector tangents, one
    number per primal number (in the primals' structure), without building the Hessian: forward mode over
    reverse, jvp(grad(f)).

    >>> hvp(lambda x, y: x * x * y)((1.0, 2.0), (1.0, 0.0))
    (4.0, 2.0)
    """
    @functools.wraps(f)
    def h(primals, tangents):
        primals, _ = _pair(primals, tangents, "hvp")
        if not primals:
            raise ValueError("hvp: primals is empty; give the point as a tuple with one entry per argument of f")
        vg = _value_and_grad(f, tuple(range(len(primals))), "hvp")
        product = jvp(lambda *a: vg(*a)[1], primals, tangents)[1]
        return tuple(product) if isinstance(tangents, tuple) else list(product)

    return h


def parameter_grads(loss: Any, params: Sequence[Any]) -> list[Any]:
    """d(loss)/d(p) for each of params, by the chain rule along the paths from the parameters to the loss only,
    as compile's programs compute them (their eager reruns use this): a derivative that no parameter's gradient
    needs (of the data, say) is not computed, so it cannot fail. In the order backward() adds them: the same
    floats."""
    order = topological_order(loss)
    wanted = set(params)
    for node in order:
        if node.grad_fn is not None and any(p in wanted for p in node.parents):
            wanted.add(node)
    grads = {loss: 1.0} if loss in wanted else {}
    for node in reversed(order):
        g = grads.get(node)
        if g is None or node.grad_fn is None:
            continue
        for p, d in zip(node.parents, node.grad_fn.local_grads(node, wanted=wanted)):
            if d is not None:  # (as backprop adds them, in the same order: the same floats)
                grads[p] = grads[p] + g * d if p in grads else g * d
    return [grads.get(p, 0.0) for p in params]
