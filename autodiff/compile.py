"""autodiff.compile: trace a loss function once, then replay its forward and backward pass as straight-line Python.

The first call runs the function on Values and records the graph. The graph becomes one Python function with one
line per op forward and one per gradient contribution, in exactly the order the eager engine uses, so the results
are the same floats; Python runs such code many times faster than it builds Values. Later calls with new
parameters and new data (of the same shapes) only run that function.

Tracing records what happened on the first call: control flow that depends on data (an `if` on `.data`) is frozen
into the program the way it went then. A call whose data have other sizes is traced again.
"""
from __future__ import annotations

import builtins
import collections
import functools
import itertools
import math
import numbers
import operator
import re
import warnings
from typing import Any, Callable, Iterable, Literal, overload

from .batch import BatchStep
from .engine import Constant, Parameter, Value, add_grads, grad_computed, topological_order
from .functional import parameter_grads
from .floats import pow_, power_slope, sigmoid_, vpow_
from .grad_mode import recording_on
from .guards import gc_paused, numbers_in_scope, traced_call, what_changes
from .ops import absolute_op, add_op, cos_op, log_op, mul_op, neg_op, power_op, sin_op, sqrt_op, sub_op, vpower_op
from .explain import readable
from .errors import derivative_number, finite, forward_number
from .errors import show as _show
from .trees import as_values, flatten, unflatten

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
# Anything not finite there runs the call eagerly, which raises the engine's error (or gives IEEE's numbers).
PROPAGATING = {add_op, sub_op, mul_op, neg_op, absolute_op, log_op, sqrt_op, sin_op, cos_op}  # an inf or nan operand gives an inf or nan result (or Python raises)
def _power_slope(x, y, out):
    """power's d/dx as the eager engine computes it: the table's y * x ** (y - 1), or floats.power_slope where
    that overflows (nan if neither is finite: the call then runs eagerly, which raises the engine's error)."""
    try:
        d = y * x ** (y - 1) if y else 0.0
    except ArithmeticError:
        d = math.nan
    if d - d and math.isfinite(x) and math.isfinite(y):
        rescued = power_slope(x, y, out)
        return math.nan if rescued is None else rescued
    return d


GLOBALS = {"_power_slope": _power_slope, "math": math, "_add": operator.add, "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
           "sigmoid": sigmoid_, "pow_": pow_, "vpow_": vpow_, "inf": math.inf, "nan": math.nan}


@functools.cache
def templates(op):
    """The op's formulas as format strings of {x}, {y} and {out} (on floats, value(x) is x); None for a primitive."""
    if not op.formulas:
        return None
    forward, *rules = op.formulas
    forms = [forward if forward.startswith(("pow_", "vpow_")) else readable(forward)] + [readable(r) for r in rules]
    return tuple(re.sub(r"\b(x|y|out)\b", r"{\1}", f) for f in forms)  # (pow_ keeps its guard: no complex)


@overload
def compile(fn: Callable[..., Any], params: None = None, *, has_aux: bool = False,
            max_programs: int = 8) -> Compiled: ...
@overload
def compile(fn: Callable[..., Any], params: Iterable[Value] | Any, *, has_aux: bool = False,
            batch: Literal[False] = False, max_programs: int = 8) -> CompiledStep: ...
@overload
def compile(fn: Callable[..., Any], params: Iterable[Value] | Any, *, batch: Literal[True],
            reduce: str = "mean", max_programs: int = 8) -> BatchStep: ...


def compile(fn: Callable[..., Any], params: Iterable[Value] | Any = None, *, has_aux: bool = False,
            batch: bool = False, reduce: str = "mean", max_programs: int = 8) -> Compiled | CompiledStep | BatchStep:
    """Trace a loss once; later calls replay its forward and backward pass as straight-line Python.

    By reference, as one trains with backward(): `step = compile(fn, model.parameters())` (or `compile(fn, model)`:
    anything with .parameters(), or a list of Values) with `fn(*data)` returning the loss. Each `step(*data)` reads
    every parameter's current .data, **adds** d(loss)/d(param) into its .grad exactly as loss.backward() would (bit
    for bit), and returns the loss as a float, so an optimizer's zero_grad() and step() work as usual. Values that
    fn captures and that are not in `params` are read afresh on every call (their gradients are not computed); a
    captured nn Parameter missing from `params` is an error, since that is almost always a mistake. Values that fn
    makes itself from plain numbers (Value(a) for a number a it reads) are constants of the trace: pass such data
    as arguments.

    Functional, as in JAX: `step = compile(loss_fn)` with `loss_fn(params, *data)`; `step(param_values, *data)`
    takes the parameters as a list of numbers (or a dict, tuple or nested list of them) and returns (value, grads),
    the grads in the same structure, touching no .grad.

    Data arguments are numbers, arrays, or nested lists (or dicts) of them, inputs of the program; data of new sizes
    trace again. With has_aux=True the function returns (loss, aux), aux a nested list of Values, and the step returns
    (value, aux as floats) where it would return the value.

    Nothing a trace assumed goes stale: every decision Python made from a traced number (`if p.data > 0`, a max of
    two .data) is a guard, taken again from each call's
    own numbers, and so are the numbers (and lists of numbers) in fn's closure and in the globals its code names.
    A call that decides otherwise is traced again for its path and the new program kept beside the others; past
    `max_programs` programs such calls run eagerly, with a RuntimeWarning naming what keeps changing. A number
    that goes through a math function (math.exp(p.data)) leaves the guards' reach: use autodiff.exp and friends.
    The kink of a relu inside a derivative taken in the loss needs no guard: that choice is an op of the graph
    (step(x), in the op table), made on every call. See autodiff/guards.py.

    Batched, with batch=True: `fn(*sample)` describes one sample, and `step(*arrays)` takes arrays (numpy's or
    PyTorch's) whose first axis is the batch, replays the one traced program over all samples at once with the
    array library, adds d(the mean loss)/d(param) (reduce="sum": of the summed loss) into each .grad and returns that
    loss; `step.per_sample(*arrays)` gives each sample's loss and gradient as arrays. See autodiff/batch.py.
    """
    if not callable(fn):
        what = "fn(*data)" if params is not None else "loss_fn(params, *data)"
        raise TypeError(f"compile: expected a function {what}, got {type(fn).__name__}")
    if isinstance(params, bool):  # compile(loss_fn, True): has_aux given by position, as before params existed
        params, has_aux = None, params
    if batch:
        if params is None:
            raise ValueError("compile(fn, batch=True) needs the parameters: compile(fn, model.parameters(), "
                             "batch=True), with fn(*sample) the loss of one sample")
        if has_aux:
            raise ValueError("compile: batch=True does not take has_aux; compute the extra outputs with "
                             "step.per_sample or eagerly")
        return BatchStep(fn, _parameters(params), reduce, _bound(max_programs))
    if params is None:
        return Compiled(fn, has_aux, max_programs)
    return CompiledStep(fn, _parameters(params), has_aux, max_programs)


class Compiled:
    """compile(loss_fn): a traced loss function of (params, *data); programs per shape of the arguments, each kept
    with the decisions its trace made (guards), checked on every call."""

    def __init__(self, loss_fn, has_aux, max_programs=8):
        self.loss_fn, self.has_aux = loss_fn, has_aux
        self.max_programs = _bound(max_programs)
        self.programs = {}  # (shape of the arguments, the numbers fn reads from its scope) -> [Program], latest first
        self.warned = False
        self.__name__ = getattr(loss_fn, "__name__", "loss_fn")
        self.__doc__ = getattr(loss_fn, "__doc__", None)

    def __repr__(self):
        return f"<compiled {self.__name__}: {self._count()} program(s)>"

    def _count(self):
        return sum(map(len, self.programs.values()))

    def __call__(self, param_values: Any, *data: Any) -> Any:  # (value, grads); with aux, see compile
        tree = None  # param_values as a flat list; else its structure (lists, tuples, dicts), kept for the grads
        if isinstance(param_values, (list, tuple, dict)):
            param_values, tree = flatten(param_values, "compiled function: param_values")
        params = _floats(param_values)
        data, flat, key = _data(data)
        key, latest = self._latest((len(params), tree, key), params, flat)
        found = latest[0] if latest is not None and latest[0] is not None else self._run(
            key, params, flat, data, lambda: [Value(p) for p in params],
            lambda leaves, d: self.loss_fn(_shaped(tree, leaves), *d), lambda: self.eager(params, data, tree),
            latest[1] if latest is not None else None)
        if not isinstance(found, tuple):
            return found  # the eager pass's (value, grads)
        program, result = found
        if not isinstance(result, tuple):
            value, grads = program.decide(result, params, flat, lambda: self.eager(params, data, tree))
            return value, _shaped(tree, grads)
        value, grads, aux = result
        grads = _shaped(tree, [g + 0.0 for g in grads])  # as eager: a pass starts from 0.0 (no -0.0 comes back)
        return ((value, _unflatten(program.aux_shape, iter(aux))), grads) if self.has_aux else (value, grads)

    def eager(self, params, data, tree=None):
        """Run loss_fn on Values and backward(): the reference, and the source of precise errors."""
        leaves = [Value(p) for p in params]
        value = self._backward(lambda d: self.loss_fn(_shaped(tree, leaves), *d), data, leaves)
        grads = [leaf.grad + 0.0 for leaf in leaves]
        return (value, grads)

    def _latest(self, key, params, flat):
        """(key with the scope's snapshot, the latest program of that key and its result, or None): the common
        case, run straight from the call."""
        key = (key, numbers_in_scope(self.loss_fn))
        programs = self.programs.get(key)
        if not programs:
            return key, None
        program = programs[0]
        result = program.run(params, flat)
        return key, (None if type(result) is Failed else (program, result), result)

    def _run(self, key, params, flat, data, leaves, call, eager, failed=None):
        """(program, its result) from the first program of this key whose guards hold (but the latest, which
        _latest ran), traced now if none does; past max_programs, the eager pass's result instead (with a warning,
        once)."""
        programs = self.programs.setdefault(key, [])
        skip_latest, failed = failed is not None, failed.guard if failed is not None else None
        for k, program in enumerate(programs):
            if k == 0 and skip_latest:
                continue
            result = program.run(params, flat)
            if type(result) is Failed:
                failed = failed or result.guard
                continue
            if k:
                programs.insert(0, programs.pop(k))  # the latest path first
            return program, result
        if self._count() >= self.max_programs:
            self._warn(failed, key)
            return eager()
        with gc_paused():
            program = Program(self.__name__, self.has_aux, leaves(), call, data, self.loss_fn)
        if not programs:
            del self.programs[key]
        key = (key[0], numbers_in_scope(self.loss_fn))  # what fn left in its scope (a list it appends to, say)
        self.programs.setdefault(key, []).insert(0, program)
        return program, program.run(params, flat)

    def _warn(self, guard, key):
        if self.warned:
            return
        self.warned = True
        why = what_changes(guard, key, self.programs)
        warnings.warn(f"autodiff.compile: {self.__name__} holds {self.max_programs} programs (max_programs) and this "
                      f"call fits none of them, because {why}; such calls run eagerly from now on (same numbers, "
                      f"slower). Pass compile(..., max_programs=...) for more, or take the decision out of the "
                      f"function", RuntimeWarning, stacklevel=4)

    def _backward(self, call, data, params):
        """call(data as Values), and d(loss)/d(params) added into their .grad as backward() adds them (only along the
        paths to the parameters, as a program: functional.parameter_grads); returns the loss as a float (and aux,
        with has_aux)."""
        with recording_on():
            out = call([as_values(d) for d in data])
            loss, aux = out if self.has_aux else (out, None)
            _check_loss(loss, self.__name__)
            if isinstance(loss, Value):
                add_grads(params, parameter_grads(loss, params))
        value = loss.data if isinstance(loss, Value) else float(loss)
        return (value, _floats_of(aux)) if self.has_aux else value

    @property
    def source(self):
        """The Python code of the most recent program (to read what tracing recorded)."""
        latest = [p for programs in self.programs.values() for p in programs]
        return max(latest, key=lambda p: p.made).source if latest else ""


class CompiledStep(Compiled):
    """compile(fn, params): a traced loss fn(*data) whose gradients go into the parameters' .grad, like backward()."""

    def __init__(self, fn, params, has_aux, max_programs=8):
        super().__init__(fn, has_aux, max_programs)
        self.params = params

    def __repr__(self):
        return f"<compiled {self.__name__} of {len(self.params)} parameters: {self._count()} program(s)>"

    def __call__(self, *data: Any) -> Any:  # the loss, a float; with has_aux, (loss, aux)
        params = _floats([p.data for p in self.params], self.params)
        data, flat, key = _data(data)
        key, latest = self._latest(key, params, flat)
        found = latest[0] if latest is not None and latest[0] is not None else self._run(
            key, params, flat, data, lambda: self.params, lambda leaves, d: self.loss_fn(*d),
            lambda: self.eager(data), latest[1] if latest is not None else None)
        if not isinstance(found, tuple) or not isinstance(found[0], Program):
            return found  # the eager pass's loss (its gradients are in .grad)
        program, result = found
        if not isinstance(result, tuple):
            before = [(p, p.grad if grad_computed(p) else None) for p in self.params]
            try:
                return program.decide(result, params, flat, lambda: self.eager(data))
            except RuntimeError:  # a bug in the program: the eager pass it compared with must not count
                for p, old in before:
                    if old is None:
                        del p.grad
                    else:
                        p.grad = old
                raise
        value, grads, aux = result
        # as backward() does for a leaf it reaches: old grad (or 0.0) + this pass's
        reached = program.reached
        add_grads([p for p, r in zip(self.params, reached) if r], [g for g, r in zip(grads, reached) if r])
        return (value, _unflatten(program.aux_shape, iter(aux))) if self.has_aux else value

    def eager(self, data):
        """fn on Values and loss.backward(), into the parameters' .grad: the reference, and precise errors."""
        return self._backward(lambda d: self.loss_fn(*d), data, self.params)


class Failed:
    """A program's answer when one of its guards decides otherwise than the trace did (guard: that Guard)."""

    __slots__ = ("guard",)

    def __init__(self, guard):
        self.guard = guard


_made = itertools.count()


class Program:
    """One traced graph, as straight-line Python: run(params, data) -> (value, grads, aux)."""

    def __init__(self, name, has_aux, leaves, call, data, fn=None):
        trace, out, inputs = traced_call(fn, leaves, data, lambda values: call(leaves, values))
        mine = set(leaves)
        loss, aux = out if has_aux else (out, None)
        _check_loss(loss, name)
        aux_nodes = _nodes_of(aux, name) if has_aux else []
        self.guards = trace.guards
        guard_nodes = list(dict.fromkeys(n for g in self.guards for n in g.nodes()))
        loss_order = topological_order(loss) if isinstance(loss, Value) else []
        extra = aux_nodes + [n for n in guard_nodes if n not in set(aux_nodes)]
        order = topological_order(*([loss] if isinstance(loss, Value) else []), *extra) if extra else loss_order
        _check_parameters(name, leaves, loss_order, order)
        # every other leaf is read afresh on each call (a captured Value's .data may change): inputs of the program
        known = mine | set(inputs)
        self.captured = [n for n in order if n.grad_fn is None and type(n) is not Constant and n not in known]
        self.aux_shape = _floats_of(aux)  # only the nesting is used: no reference to the traced graph remains
        self.source, self.reached = _generate(loss, leaves, inputs + self.captured, aux_nodes, order, loss_order,
                                              self.guards, guard_nodes)
        self.name, self.made = name, next(_made)
        self.finite_constants = finite([float(n.data) for n in order if type(n) is Constant])
        namespace = dict(GLOBALS, FAILED=[Failed(g) for g in self.guards] + [Failed(None)])
        for op in {n.grad_fn for n in order if n.grad_fn is not None and not n.grad_fn.formulas}:
            namespace[_fname(op)] = _as_float(op.forward, op.name, None)
            for i, rule in enumerate(op.rules):
                namespace[_fname(op, i)] = _as_float(rule, op.name, i)
        if len(self.source) <= ONE_FUNCTION:
            exec(builtins.compile(self.source, f"<autodiff.compile {name}>", "exec"), namespace)
            self.fn = namespace["program"]
        else:
            self.fn = _in_pieces(self.source, namespace, name)

    def run(self, params, flat):
        """(value, grads, aux) from the program; Failed if a guard decides otherwise than the trace; or, where the
        eager engine must decide, None (an inf or nan somewhere) or the arithmetic error that Python raised (an op
        out of its domain)."""
        if self.captured:
            flat = flat + [float(v.data) for v in self.captured]
        try:
            out = self.fn(params, flat)
        except (ArithmeticError, ValueError) as e:
            return e
        if type(out) is Failed:
            return out
        value, grads, aux, check = out
        if value - value or check or sum(map(operator.sub, grads, grads)):  # x - x: 0.0 if finite, else nan
            return None  # an inf or nan somewhere: the eager engine's error, or IEEE's numbers
        return value, grads, aux

    def decide(self, failure, params, flat, eager):
        """Run the call eagerly (it raises the engine's error, naming the op); a program that failed where the
        eager engine does not, with nothing infinite in it and no decision it could have taken otherwise before
        its guards were checked, is a bug in compile and says so."""
        result = eager()
        if (failure is not None and not self.guards and self.finite_constants and finite(params) and finite(flat)
                and finite([float(v.data) for v in self.captured])):
            raise RuntimeError(f"autodiff.compile: the program traced from {self.name} failed with "
                               f"{type(failure).__name__}: {failure}, but the eager engine computes this call; "
                               f"this is a bug in autodiff.compile, please report it (to go on, call the function "
                               f"eagerly)") from failure
        return result


def _bound(max_programs):
    if isinstance(max_programs, bool) or not isinstance(max_programs, int) or max_programs < 1:
        raise ValueError(f"compile: max_programs must be a whole number of at least 1, got {_show(max_programs)}")
    return max_programs


ONE_FUNCTION = 2_000_000  # characters: a longer program is compiled in pieces (Python's compiler needs about 80
                          # bytes of memory per character of one function: a 300k-op graph would need a gigabyte)


def _in_pieces(source, namespace, name, lines_per_piece=5000):
    """The program as statements run one piece after another in one namespace: each piece is compiled alone, so
    compiling takes little memory, at the cost of slower (global) names when it runs."""
    lines = source.splitlines()[1:]  # the body of def program(params, data)
    pieces, piece = [], []
    for line in lines:
        if len(piece) >= lines_per_piece and not line.startswith("     "):  # a new statement: a place to cut
            pieces.append(piece)
            piece = []
        piece.append(line[4:])
    piece[-1] = piece[-1].replace("return ", "result_ = ", 1)
    pieces.append(piece)
    codes = [builtins.compile("\n".join(p) + "\n", f"<autodiff.compile {name}, piece {k}>", "exec")
             for k, p in enumerate(pieces)]

    def program(params, data):
        scope = dict(namespace, params=params, data=data)
        for code in codes:
            exec(code, scope)
        return scope["result_"]
    return program


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


def _check_parameters(name, leaves, loss_order, order):
    """Refuse a loss that depends on no parameter, and a captured nn Parameter that is not one of them."""
    mine = set(leaves)
    if leaves and not any(node in mine for node in loss_order):
        raise ValueError(f"compile: the loss of {name} does not depend on any of the {len(leaves)} parameters, so "
                         f"every gradient would be 0; compute it from them (a Value made from p.data is cut off)")
    for node in order:
        if isinstance(node, Parameter) and node not in mine:
            label = f" {node.label!r}" if node.label else ""
            raise ValueError(f"compile: {name} reads the Parameter{label} ({node.data!r}), which is not among the "
                             f"parameters given to compile, so its gradient would be lost and its number frozen; "
                             f"pass all of them (compile(fn, model.parameters()); in the functional form, call the "
                             f"model inside `with model.using(params):`), or use a plain Value for a constant")


def _generate(loss, params, inputs, aux_nodes, order, loss_order, guards=(), guard_nodes=()):
    """The program's source: unpack the inputs, the forward pass, the backward pass, return; and which parameters
    the loss reaches.

    Python compiles a long expression many times faster than as many statements, so: a value used once, and not
    read by the backward pass, is written into the expression that uses it (a neuron's weighted sum is one line);
    each gradient is written once, as the sum of its contributions in the order the eager engine adds them (so the
    floats are the same); and a piece of graph that repeats (one sample's pass through a model, in a loss over a
    batch) is written once, as a function for its forward and one for its backward, called once per sample.
    """
    index = {p: i for i, p in enumerate(params)}
    par, uses = {}, {}  # each op node's parents (read once: the walks below read them many times); their uses
    for node in order:
        op = node.grad_fn
        if op is not None:
            ps = par[node] = (node._x, node._y) if op.n == 2 else (node._x,) if op.n == 1 else node._x
            for p in ps:
                uses[p] = uses.get(p, 0) + 1
    wanted = set(params)  # the nodes with a path to a parameter: the backward pass runs through these only
    for node in loss_order:
        for p in par.get(node, ()):
            if p in wanted:
                wanted.add(node)
                break
    roots = set(aux_nodes) | set(guard_nodes) | ({loss} if isinstance(loss, Value) else set())
    instances, classes = _instances(loss_order, index, set(inputs), uses, roots, par)
    inside = {n for root, (_, nodes, _) in instances.items() for n in nodes if n is not root}
    outer = [n for n in order if n not in inside]
    named = _needs(outer + [n for cls in classes for n in cls["template"][1]], wanted, roots)
    for c, cls in enumerate(classes):
        cls["source"], cls["params"] = _class_source(c, *cls["template"], index, wanted, named, uses)

    names = {p: f"p{i}" for i, p in enumerate(params)}
    names.update((x, f"x{i}") for i, x in enumerate(inputs))
    lines = ["def program(params, data):"]
    if params:
        lines.append(f"    {', '.join(names[p] for p in params)}, = params")
    if inputs:
        lines.append(f"    {', '.join(names[x] for x in inputs)}, = data")
    for cls in classes:
        lines += cls["source"]
    checked, checks = [], []
    _forward_lines(outer, names, named, uses, lines, "    ", checked,
                   lambda root, k: _call(root, k, instances, names, lines, checks))
    if guards:  # the decisions of the trace, taken again from this call's numbers: any other way, another program
        lines.append("    try:")
        for k, guard in enumerate(guards):
            lines.append(f"        if not {guard.source(names.__getitem__)}:")
            lines.append(f"            return FAILED[{k}]")
        lines.append("    except (ArithmeticError, ValueError, TypeError):")
        lines.append("        return FAILED[-1]")
    checked += [names[n] for n in aux_nodes if n.grad_fn is not None]
    _check_lines(checked, checks, "check", lines, "    ")
    aux = ", ".join(names[n] for n in aux_nodes)
    if not isinstance(loss, Value):
        lines.append(f"    return {_literal(float(loss))}, [0.0] * {len(params)}, [{aux}], check")
        return "\n".join(lines) + "\n", [False] * len(params)

    # backward, in the eager engine's order: a node's grad is written when the last contribution to it is known
    reached = [False] * len(params)
    if instances:  # the parameters' grads in a list, added to in the engine's order (the samples' in one go)
        lines.append(f"    A = [-0.0] * {len(params)}")

        def to_param(p, term):
            reached[index[p]] = True
            lines.append(f"    A[{index[p]}] = A[{index[p]}] + {term}")
    else:
        to_param = None
    terms = {loss: ["1.0"]}
    for k, node in enumerate(reversed(loss_order)):
        if node in inside or node.grad_fn is None or node not in wanted or node not in terms:
            continue
        g = _sum(terms.pop(node), f"g{k}", lines, "    ")
        if node in instances:
            c, _, slots = instances[node]
            call = f"b{c}({g}, s{names[node][1:]}{''.join(', ' + names[d] for d in slots)})"
            idx = classes[c]["params"]
            for i in idx:
                reached[i] = True
            if idx == list(range(len(params))):
                lines.append(f"    A = list(map(_add, A, {call}))")
            else:
                lines.append(f"    for i, t in zip({tuple(idx)!r}, {call}):")
                lines.append("        A[i] = A[i] + t")
            continue
        _contributions(node, g, names, wanted, terms, to_param)
    if instances:
        grads = [f"A[{i}]" if reached[i] else "0.0" for i in range(len(params))]
    else:
        grads = [_sum(terms[p], f"g{names[p]}", lines, "    ") if p in terms else "0.0" for p in params]
        reached = [p in terms for p in params]
    lines.append(f"    return {names[loss]}, [{', '.join(grads)}], [{aux}], check")
    return "\n".join(lines) + "\n", reached


def _needs(nodes, wanted, roots):
    """Which values must have a name: read by a derivative, a root, or an input of an op that reads it twice or
    can hide an inf (a value used twice gets a name too, see _forward_lines)."""
    named = set(roots)
    for node in nodes:
        op = node.grad_fn
        if op is None:
            continue
        parents = node.parents
        once, reads = _reads(op, len(parents), op is power_op and type(parents[1]) is Constant)
        if op not in PROPAGATING:
            named.update(parents)
        else:
            named.update(p for p, o in zip(parents, once) if not o)
        if node in wanted:
            for p, read in zip(parents, reads):
                if type(p) is Constant or p not in wanted:
                    continue
                named.update(q for q, r in zip(parents, read) if r)
                if read[-1]:
                    named.add(node)
    return named


@functools.cache
def _reads(op, n, number_exponent):
    """For an op: whether its forward reads each input once; for each input, which of (x, y, out) the derivative
    with respect to it reads."""
    forms = templates(op)
    once = tuple(forms is not None and forms[0].count("{" + v + "}") == 1 for v in "xy"[:n])
    if number_exponent:
        return once, (((True, False, False), (False, False, False)))
    if forms is None:
        return once, tuple((True,) * n + (True,) for _ in range(n))
    return once, tuple(tuple("{" + v + "}" in d for v in "xy"[:n]) + ("{out}" in d,) for d in forms[1:])


def _forward_lines(nodes, names, named, uses, lines, indent, checked, call=None):
    """The forward pass of nodes (in order): a line per named value, the others written into their user."""
    depth = {}
    for k, node in enumerate(nodes):
        if node in names:
            continue
        op = node.grad_fn
        if op is None:  # a constant of the program: a number, or a Value made or captured inside the function
            names[node] = _literal(node.data)
            continue
        if call is not None and call(node, k):  # a repeated piece of graph, as one call
            continue
        parents = node.parents
        expr = _forward(node, [names[p] for p in parents])
        d = 1 + max((depth.get(p, 0) for p in parents), default=0)
        if node in named or uses.get(node, 0) != 1 or d > 24:
            names[node] = f"v{k}"
            lines.append(f"{indent}v{k} = {expr}")
        else:
            names[node] = f"({expr})"  # written into the one expression that uses it
            depth[node] = d
        if op not in PROPAGATING:
            checked += [names[p] for p in parents if p.grad_fn is not None]


def _check_lines(checked, checks, name, lines, indent):
    """name = 0.0 unless a checked value is inf or nan (or they add up beyond 1e308); checks are such sums."""
    lines.append(f"{indent}{name} = 0.0")
    for i in range(0, len(checked), 64):
        lines.append(f"{indent}{name} += 0.0 * ({' + '.join(checked[i:i + 64])})")
    for i in range(0, len(checks), 64):
        lines.append(f"{indent}{name} += {' + '.join(checks[i:i + 64])}")


def _contributions(node, g, names, wanted, terms, to_param):
    """node's chain rule: g * d(node)/d(parent) for every parent that leads to a parameter."""
    for i, p in enumerate(node.parents):
        if type(p) is Constant or p not in wanted:
            continue
        d = _derivative(node, i, names)
        # g * d, as the engine computes it: the local derivative first (hence the parentheses)
        term = g if d == "1.0" else f"-{g}" if d == "-1.0" else f"{g} * ({d})"
        if to_param is not None and p.grad_fn is None:
            to_param(p, term)
        else:
            terms.setdefault(p, []).append(term)


def _call(root, k, instances, names, lines, checks):
    """The forward of a repeated piece of graph whose output is root: a call of its class's function."""
    if root not in instances:
        return False
    c, _, slots = instances[root]
    names[root] = f"r{k}"
    lines.append(f"    r{k}, s{k}, c{k} = f{c}({', '.join(names[d] for d in slots)})")
    checks.append(f"c{k}")
    return True


# ----- repeated pieces of graph -------------------------------------------------------------------------------------

def _instances(loss_order, index, inputs, uses, roots, par):
    """Pieces of the graph that repeat: {root: (class, its op nodes in order, its data inputs)}, and the classes.

    A piece is every op node an output depends on that nothing outside it uses; its inputs are parameters, data
    and numbers. Two pieces are of one class if they are the same ops on the same parameters and numbers, wired the
    same way (their data may differ). A loss over a batch has one piece per sample.
    """
    sig, table = {}, {}
    setdefault = table.setdefault
    for node in loss_order:
        ps = par.get(node)
        if ps is None:
            key = ("p", index[node]) if node in index else ("d",) if node in inputs else ("c", node.data)
        elif len(ps) == 2:
            key = (node.grad_fn, sig[ps[0]], sig[ps[1]])
        else:
            key = (node.grad_fn, *[sig[p] for p in ps])
        sig[node] = setdefault(key, len(table))
    count = collections.Counter(sig.values())
    op_nodes = [n for n in loss_order if n in par]
    instances, classes, forms, leaves = {}, [], {}, {}
    covered = set()
    budget = 4 * len(loss_order)  # the walks below, in nodes: past it, stop looking (tracing stays linear)
    for at in range(len(op_nodes) - 1, -1, -1):
        root = op_nodes[at]
        if root in covered or count[sig[root]] < 4:
            continue
        if budget < 0:
            break
        # its op nodes, walking back through the engine's order: in a piece of its own they come right before
        # it (the same order for every piece of a class)
        nodes, expected, internal, k = [], {root}, {}, at
        while expected and k >= 0:
            n = op_nodes[k]
            k -= 1
            if n not in expected:
                break  # one of them came earlier: something outside uses it
            expected.discard(n)
            nodes.append(n)
            for p in par[n]:
                if p in par:
                    internal[p] = internal.get(p, 0) + 1
                    expected.add(p)
        budget -= len(nodes)
        if expected or len(nodes) < 8 or any(internal[n] != uses[n] or n in roots for n in nodes[1:]):
            continue  # used from outside (or too small): not a piece of its own
        nodes.reverse()
        local, slots, form = {}, {}, []  # the piece written out: op, then its inputs (a node of the piece by its
        for n in nodes:                  # number, a parameter by -1 - its index, data and numbers as tuples)
            form.append(n.grad_fn)
            for p in par[n]:
                r = local.get(p)
                if r is None:
                    r = leaves.get(p)
                    if r is None:
                        if p in inputs:
                            r = ("d", slots.setdefault(p, len(slots)))
                        else:
                            r = leaves[p] = -1 - index[p] if p in index else ("c", p.data, math.copysign(1.0, p.data))
                form.append(r)
            local[n] = len(local)
        form = tuple(form)
        c = forms.get(form)
        if c is None:
            c = forms[form] = len(classes)
            classes.append({"template": (root, nodes, list(slots)), "members": []})
        classes[c]["members"].append(root)
        instances[root] = (c, nodes, list(slots))
        covered.update(nodes)
    kept = [cls for cls in classes if len(cls["members"]) >= 2]  # one member is not worth a function
    renumber = {id(cls): c for c, cls in enumerate(kept)}
    instances = {root: (renumber[id(classes[c])], nodes, slots) for root, (c, nodes, slots) in instances.items()
                 if id(classes[c]) in renumber}
    return instances, kept


def _class_source(c, root, nodes, slots, index, wanted, named, uses):
    """The functions of a class of pieces, written from one of them: f{c}(data) -> (output, saved, check) and
    b{c}(grad of the output, saved, data) -> the contributions to the parameters' grads, in parameter order."""
    names = {d: f"d{i}" for i, d in enumerate(slots)}
    for n in nodes:
        for p in n.parents:
            if p.grad_fn is None and p not in names:
                names[p] = f"p{index[p]}" if p in index else _literal(p.data)
    fwd, checked = [], []
    _forward_lines(nodes, names, named | {root}, uses, fwd, "        ", checked)
    bwd, terms, contributions = [], {root: ["g"]}, []
    for k, node in enumerate(reversed(nodes)):
        if node.grad_fn is None or node not in wanted or node not in terms:
            continue
        g = _sum(terms.pop(node), f"g{k}", bwd, "        ")
        _contributions(node, g, names, wanted, terms, lambda p, term: contributions.append((index[p], term)))
    params = [i for i, _ in contributions]
    if len(set(params)) == len(params):  # each parameter once: in parameter order (the order of A)
        contributions.sort()
        params.sort()
    saved = sorted({m for line in bwd + [t for _, t in contributions] for m in re.findall(r"\bv\d+\b", line)},
                   key=lambda v: int(v[1:]))
    args = "".join(f", d{i}" for i in range(len(slots)))
    source = [f"    def f{c}({args[2:]}):", *fwd]
    _check_lines(checked, [], "ck", source, "        ")
    source.append(f"        return {names[root]}, ({''.join(v + ', ' for v in saved)}), ck")
    source.append(f"    def b{c}(g, s{args}):")
    if saved:
        source.append(f"        {', '.join(saved)}, = s")
    source += bwd
    source.append(f"        return ({''.join(t + ', ' for _, t in contributions)})")
    return source, params


def _sum(terms, name, lines, indent):
    """A gradient: the sum of its contributions, left to right (a lone name or number needs no line)."""
    if len(terms) == 1 and (terms[0].isidentifier() or terms[0] == "1.0"):
        return terms[0]
    for i in range(0, len(terms), 64):
        lines.append(f"{indent}{name} = {name + ' + ' if i else ''}{' + '.join(terms[i:i + 64])}")
    return name


def _forward(node, args):
    op = node.grad_fn
    if op is power_op and type(node.parents[1]) is Constant:  # a number fixed in the graph: an integer one
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
    if op is power_op and type(node.parents[1]) is Constant and not (i == 0 and abs(node.parents[1].data) < 1):
        c = node.parents[1].data
        return "0.0" if c == 0 else f"{_literal(c)} * {args[0]} ** {_literal(c - 1)}"
    if op in (power_op, vpower_op) and i == 0:  # a small exponent: x ** (y - 1) may overflow where the product
        return f"_power_slope({args[0]}, {args[1]}, {names[node]})"  # does not, as in the eager engine
    if op.formulas:
        return templates(op)[1 + i].format(x=args[0], y=args[1] if len(args) > 1 else None, out=names[node])
    return f"{_fname(op, i)}({', '.join(args + [names[node]])})"


def _literal(x):
    """A number as source text, in parentheses when negative (so that -2.0 ** 2 cannot mean -(2.0 ** 2))."""
    if not math.isfinite(x):
        return "inf" if x > 0 else "(-inf)" if x < 0 else "nan"
    return repr(float(x)) if math.copysign(1.0, x) > 0 else f"({float(x)!r})"  # -0.0 too


# ----- arguments ---------------------------------------------------------------------------------------------------

def _parameters(params):
    """compile's params: a list of distinct Values (or a model, through .parameters())."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, (str, bytes, Value)) or not hasattr(params, "__iter__"):
        raise TypeError(f"compile: params must be a list of Values (model.parameters()), got "
                        f"{type(params).__name__} {_show(params)}")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Value) or type(p) is Constant or p.grad_fn is not None:
            raise TypeError(f"compile: params[{i}] is {_show(p)}, expected a leaf Value (a parameter)")
    if len(set(params)) != len(params):
        raise ValueError("compile: a Value appears twice in params; give each parameter once")
    return params


def _data(data):
    """(the data arguments, the numbers in them, flat, and their shape: the key of a program). Arrays (numpy's,
    PyTorch's: anything with .tolist()), anywhere in them, are taken as the nested lists of their numbers."""
    flat, shape = [], []
    try:
        for i, d in enumerate(data):
            shape.append(_flatten(d, flat, f"data argument {i}"))
    except _AnArray:
        return _data(tuple(_plain(d) for d in data))
    return data, flat, tuple(shape)


class _AnArray(Exception):
    """_flatten met an array: the data are taken again as plain lists."""


def _plain(d):
    if isinstance(d, (list, tuple)):
        return [_plain(item) for item in d]
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items()}
    return d.tolist() if hasattr(d, "tolist") and not isinstance(d, (bool, str, bytes)) else d


def _shaped(tree, leaves):
    """Leaves in the structure of the parameters as given (a flat list if they were not a container)."""
    return list(leaves) if tree is None or tree.kind in (list, tuple) and all(t is None for t in tree.children) else \
        unflatten(tree, leaves)


def _floats(values, params=None):
    if type(values) is list and all(type(v) is float for v in values):  # the usual case, checked quickly
        return values
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"compiled function: param_values must be a list of numbers, got {type(values).__name__} "
                        f"{_show(values)}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            if params is not None:
                raise TypeError(f"compiled step: the .data of parameter {i} {_show(params[i])} is not a number")
            raise TypeError(f"compiled function: param_values[{i}] is {type(v).__name__} {_show(v)}, expected a "
                            f"number (pass floats, not Values: p.data)")
        out.append(float(v))
    return out


def _flatten(d, out, where):
    """Append the numbers of a (nested) list or dict to out; return its shape (a number: None; a list: a tuple; a
    dict: its keys and its values' shapes)."""
    if isinstance(d, (list, tuple)):
        return tuple(_flatten(item, out, f"{where}[{i}]") for i, item in enumerate(d))
    if isinstance(d, dict):
        return dict, tuple(d), tuple(_flatten(v, out, f"{where}[{k!r}]") for k, v in d.items())
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        if hasattr(d, "tolist") and hasattr(d, "shape"):
            raise _AnArray
        raise TypeError(f"compiled function: {where} is {type(d).__name__} {_show(d)}, expected a number, an array "
                        f"or a (nested) list of numbers")
    out.append(float(d))
    return None


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
    return float(aux.data) if isinstance(aux, Value) else aux


def _unflatten(shape, it):
    if isinstance(shape, (list, tuple)):
        return [_unflatten(s, it) for s in shape]
    return next(it)


def _check_loss(loss, name):
    if not isinstance(loss, Value) and (isinstance(loss, bool) or not isinstance(loss, numbers.Real)):
        raise TypeError(f"compile: {name} must return a scalar Value (the loss), got {type(loss).__name__} "
                        f"{_show(loss)}")
