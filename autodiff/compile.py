"""autodiff.compile: trace a loss function once, then replay its forward and backward pass as straight-line Python.

The first call runs the function on Values and records the graph. The graph becomes one Python function with one
line per op forward and one per gradient contribution, in exactly the order the eager engine uses, so the results
are the same floats; Python runs such code many times faster than it builds Values. Later calls with new
parameters and new data (of the same shapes) only run that function.

Tracing records what happened on the first call: control flow that depends on data (an `if` on `.data`) is frozen
into the program the way it went then. A call whose data have other sizes is traced again.
"""
import builtins
import functools
import math
import numbers
import re

from . import engine
from .engine import Constant, Value, recording_on, topological_order
from .explain import readable
from .errors import derivative_number, finite, forward_number
from .errors import show as _show
from .functional import watch

__all__ = ["compile"]

# The program writes each op of the table as its formulas (engine.TABLE: the forward, then d(out)/d(input) per input,
# of the inputs x, y and the output out), so that a line of the program is plain arithmetic, not a function call.
# An op without formulas (a user's primitive) is called through its own functions. The forwards that refuse inputs
# run here as Python's own functions: outside their domain those raise Python's errors, and then the program runs
# once more eagerly, so that the error the user sees is the engine's, naming the op and the operand.
#
# The non-finite policy is the eager engine's (an inf or nan from finite operands is an error) at the cost of one
# addition per checked value: an inf or nan that appears in the program reaches the loss or a gradient through
# every op below, and so is seen at the end; the inputs of every other op (relu(-inf) is 0) are summed into a check.
# Anything not finite there, with finite inputs, runs the call eagerly, which raises the engine's error.
PROPAGATING = {engine.add, engine.sub, engine.mul, engine.neg, engine.absolute, engine.log, engine.sqrt, engine.leaky,
               engine.sin, engine.cos}  # an inf or nan operand gives an inf or nan result (or Python raises)
GLOBALS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
           "sigmoid": engine.sigmoid_, "pow_": engine.pow_, "vpow_": engine.vpow_, "inf": math.inf, "nan": math.nan}


@functools.cache
def templates(op):
    """The op's formulas as format strings of {x}, {y} and {out} (on floats, value(x) is x); None for a primitive."""
    if not op.formulas:
        return None
    forward, *rules = op.formulas
    forms = [forward if forward.startswith(("pow_", "vpow_")) else readable(forward)] + [readable(r) for r in rules]
    return tuple(re.sub(r"\b(x|y|out)\b", r"{\1}", f) for f in forms)  # (pow_ keeps its guard: no complex)


def compile(loss_fn, has_aux=False):
    """Trace loss_fn(params, *data) once; return step(param_values, *data) -> (value, grads) on floats.

    `param_values` is a flat list of numbers, each data argument a number or a (nested) list of numbers; both are
    inputs of the program. grads are d(value)/d(param) for every parameter. With has_aux=True, loss_fn returns
    (loss, aux) with aux a (nested) list of Values, and step returns ((value, aux as floats), grads), as in JAX.
    """
    if not callable(loss_fn):
        raise TypeError(f"compile: expected a function loss_fn(params, *data), got {type(loss_fn).__name__}")
    return Compiled(loss_fn, has_aux)


class Compiled:
    """A traced loss function; one program per shape of the arguments."""

    def __init__(self, loss_fn, has_aux):
        self.loss_fn, self.has_aux = loss_fn, has_aux
        self.programs = {}  # (number of parameters, shape of the data) -> Program
        self.__name__ = getattr(loss_fn, "__name__", "loss_fn")
        self.__doc__ = getattr(loss_fn, "__doc__", None)

    def __repr__(self):
        return f"<compiled {self.__name__}: {len(self.programs)} program(s)>"

    def __call__(self, param_values, *data):
        params = _floats(param_values)
        flat, shape = [], []
        for i, d in enumerate(data):
            shape.append(_flatten(d, flat, f"data argument {i}"))
        key = (len(params), tuple(shape))
        program = self.programs.get(key)
        if program is None:
            program = self.programs[key] = Program(self, params, data)
        return program.run(params, flat, data)

    def eager(self, params, data):
        """Run loss_fn on Values and backward(): the reference, and the source of precise errors."""
        with recording_on():
            leaves = [Value(p) for p in params]
            data_values = [_values(d) for d in data]
            out = self.loss_fn(leaves, *data_values)
            loss, aux = out if self.has_aux else (out, None)
            _check_loss(loss, self.__name__)
            if isinstance(loss, Value):
                loss.backward()
        value = loss.data if isinstance(loss, Value) else float(loss)
        grads = [leaf.grad + 0.0 for leaf in leaves]
        return ((value, _floats_of(aux)), grads) if self.has_aux else (value, grads)

    @property
    def source(self):
        """The Python code of the most recent program (to read what tracing recorded)."""
        return next(reversed(self.programs.values())).source if self.programs else ""


class Program:
    """One traced graph, as straight-line Python: run(params, data) -> (value, grads)."""

    def __init__(self, compiled, params, data):
        self.compiled = compiled
        with recording_on():
            leaves = [Value(p) for p in params]
            inputs = []
            data_values = [_values(d, inputs) for d in data]
            out = compiled.loss_fn(leaves, *data_values)
        loss, aux = out if compiled.has_aux else (out, None)
        _check_loss(loss, compiled.__name__)
        if leaves and not (isinstance(loss, Value) and set(leaves) & set(topological_order(loss))):
            raise ValueError(f"compile: the loss of {compiled.__name__} does not depend on any of the {len(leaves)} "
                             f"parameters, so every gradient would be 0; compute it from params (its first argument; "
                             f"a Value made from p.data is cut off from it)")
        aux_nodes = _nodes_of(aux, compiled.__name__) if compiled.has_aux else []
        self.aux_shape = _floats_of(aux)  # only the nesting is used: no reference to the traced graph remains
        self.source = _generate(loss, leaves, inputs, aux_nodes)
        self.finite_constants = finite([n.data for n in _graph(loss, aux_nodes) if n.grad_fn is None])
        namespace = dict(GLOBALS)
        for op in {n.grad_fn for n in _graph(loss, aux_nodes) if n.grad_fn is not None and not n.grad_fn.formulas}:
            namespace[_fname(op)] = _as_float(op.forward, op.name, None)
            for i, rule in enumerate(op.rules):
                namespace[_fname(op, i)] = _as_float(rule, op.name, i)
        exec(builtins.compile(self.source, f"<autodiff.compile {compiled.__name__}>", "exec"), namespace)
        self.fn = namespace["program"]

    def run(self, params, flat, data):
        try:
            value, grads, aux, check = self.fn(params, flat)
        except (ArithmeticError, ValueError) as e:  # Python's errors from a forward or a derivative out of its domain
            failure = e
        else:
            failure = None
            total = value + check + sum(grads)
            if total - total:  # an inf or nan somewhere: the eager engine decides (its error, or IEEE's numbers)
                return self.compiled.eager(params, data)
        if failure is not None:
            result = self.compiled.eager(params, data)  # raises the engine's own error, naming the op
            if self.finite_constants and finite(params) and finite(flat):
                raise RuntimeError(f"autodiff.compile: the program traced from {self.compiled.__name__} failed with "
                                   f"{type(failure).__name__}: {failure}, but the eager engine computes this call; "
                                   f"this is a bug in autodiff.compile, please report it (to go on, call the function "
                                   f"eagerly)") from failure
            return result  # an inf or nan in the program: IEEE arithmetic, which the eager engine follows
        if self.compiled.has_aux:
            return (value, _unflatten(self.aux_shape, iter(aux))), grads
        return value, grads


def _as_float(f, name, i):
    """A primitive's forward (i None) or derivative i, giving floats as the eager engine takes them."""
    def number(*xs):
        out = f(*xs)
        if type(out) is float:
            return out
        return forward_number(name, out, xs) if i is None else derivative_number(name, i, xs[:-1], out, False)
    return number


def _fname(op, i=None):
    return f"_op{id(op)}" if i is None else f"_op{id(op)}_d{i}"


def _graph(loss, aux_nodes):
    """Every node of the loss and the aux outputs, each after its parents, each once."""
    seen, order = set(), []
    for root in ([loss] if isinstance(loss, Value) else []) + aux_nodes:
        for node in topological_order(root):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def _generate(loss, params, inputs, aux_nodes):
    """The program's source: unpack inputs, one line per op, then one line per gradient contribution."""
    order = _graph(loss, aux_nodes)
    names = {}
    for i, p in enumerate(params):
        names[p] = f"p{i}"
    for i, x in enumerate(inputs):
        names[x] = f"x{i}"
    lines = ["def program(params, data):"]
    checked = []  # the values whose inf or nan might not reach the loss: the inputs of the ops that can absorb one
    if params:
        lines.append(f"    {', '.join(names[p] for p in params)}, = params")
    if inputs:
        lines.append(f"    {', '.join(names[x] for x in inputs)}, = data")
    for k, node in enumerate(order):
        if node in names:
            continue
        if node.grad_fn is None:  # a constant of the program: a number, or a Value made or captured inside loss_fn
            names[node] = _literal(node.data)
            continue
        names[node] = f"v{k}"
        args = [names[p] for p in node.parents]
        lines.append(f"    v{k} = {_forward(node, args)}")
        if node.grad_fn not in PROPAGATING:
            checked += [a for p, a in zip(node.parents, args) if p.grad_fn is not None]
    checked += [names[n] for n in aux_nodes if n.grad_fn is not None]
    lines.append("    check = 0.0")
    for i in range(0, len(checked), 64):  # 0.0 unless one of them is inf or nan (or they add up beyond 1e308)
        lines.append(f"    check += 0.0 * ({' + '.join(checked[i:i + 64])})")
    if not isinstance(loss, Value):
        lines.append(f"    return {_literal(float(loss))}, [0.0] * {len(params)}, "
                     f"[{', '.join(names[n] for n in aux_nodes)}], check")
        return "\n".join(lines) + "\n"

    # backward: only through nodes that lead to a parameter, in the eager engine's order
    wanted = set(params)
    for node in topological_order(loss):
        if node.grad_fn is not None and any(p in wanted for p in node.parents):
            wanted.add(node)
    grad = {loss: "1.0"}
    for node in reversed(topological_order(loss)):
        if node.grad_fn is None or node not in grad:
            continue
        g = grad[node]
        for i, p in enumerate(node.parents):
            if type(p) is Constant or p not in wanted:
                continue
            d = _derivative(node, i, names)
            # g * d, as the engine computes it: the local derivative first (hence the parentheses)
            term = g if d == "1.0" else f"-{g}" if d == "-1.0" else f"{g} * ({d})"
            if p in grad:
                lines.append(f"    {grad[p]} += {term}")
            else:
                grad[p] = f"g{names[p]}"
                lines.append(f"    {grad[p]} = {term}")
    grads = ", ".join(grad.get(p, "0.0") for p in params)
    lines.append(f"    return {names[loss]}, [{grads}], [{', '.join(names[n] for n in aux_nodes)}], check")
    return "\n".join(lines) + "\n"


def _forward(node, args):
    op = node.grad_fn
    if op is engine.power and type(node.parents[1]) is Constant:  # a number fixed in the graph: an integer one
        c = node.parents[1].data                                      # is plain arithmetic
        if math.isfinite(c) and c == int(c) and not (c < 0 and node.parents[0].data == 0):
            return f"{args[0]} ** {_literal(c)}"
    if op.formulas:
        return templates(op)[0].format(x=args[0], y=args[1] if len(args) > 1 else None)
    return f"{_fname(op)}({', '.join(args)})"


def _derivative(node, i, names):
    """The expression of d(node)/d(parent i)."""
    op = node.grad_fn
    args = [names[p] for p in node.parents]
    if op is engine.power and type(node.parents[1]) is Constant:
        c = node.parents[1].data
        return "0.0" if c == 0 else f"{_literal(c)} * {args[0]} ** {_literal(c - 1)}"
    if op.formulas:
        return templates(op)[1 + i].format(x=args[0], y=args[1] if len(args) > 1 else None, out=names[node])
    return f"{_fname(op, i)}({', '.join(args + [names[node]])})"


def _literal(x):
    """A number as source text, in parentheses when negative (so that -2.0 ** 2 cannot mean -(2.0 ** 2))."""
    if not math.isfinite(x):
        return "inf" if x > 0 else "(-inf)" if x < 0 else "nan"
    return repr(float(x)) if math.copysign(1.0, x) > 0 else f"({float(x)!r})"  # -0.0 too


# ----- arguments ---------------------------------------------------------------------------------------------------

def _floats(values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"compiled function: param_values must be a list of numbers, got {type(values).__name__} "
                        f"{_show(values)}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"compiled function: param_values[{i}] is {type(v).__name__} {_show(v)}, expected a "
                            f"number (pass floats, not Values: p.data)")
        out.append(float(v))
    return out


def _flatten(d, out, where):
    """Append the numbers of a (nested) list to out; return its shape (a number: None; a list: a tuple)."""
    if isinstance(d, (list, tuple)):
        return tuple(_flatten(item, out, f"{where}[{i}]") for i, item in enumerate(d))
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        raise TypeError(f"compiled function: {where} is {type(d).__name__} {_show(d)}, expected a number or a "
                        f"(nested) list of numbers")
    out.append(float(d))
    return None


def _values(d, inputs=None):
    """The same nesting with a leaf Value for every number (collected in inputs, in order)."""
    if isinstance(d, (list, tuple)):
        return [_values(item, inputs) for item in d]
    v = Value(d)
    if inputs is not None:
        inputs.append(v)
    return v


def _nodes_of(aux, name):
    out = []
    stack = [aux]
    while stack:
        a = stack.pop()
        if isinstance(a, (list, tuple)):
            stack.extend(reversed(a))
        elif isinstance(a, Value):
            out.append(a)
        else:
            raise TypeError(f"compile({name}, has_aux=True): aux must be a (nested) list of Values, found "
                            f"{type(a).__name__}")
    return out


def _floats_of(aux):
    if isinstance(aux, (list, tuple)):
        return [_floats_of(a) for a in aux]
    return aux.data if isinstance(aux, Value) else aux


def _unflatten(shape, it):
    if isinstance(shape, (list, tuple)):
        return [_unflatten(s, it) for s in shape]
    return next(it)


def _check_loss(loss, name):
    if not isinstance(loss, Value) and (isinstance(loss, bool) or not isinstance(loss, numbers.Real)):
        raise TypeError(f"compile: {name} must return a scalar Value (the loss), got {type(loss).__name__} "
                        f"{_show(loss)}")
