"""compile(fn, params, batch=True): one sample's traced program, replayed over a whole batch with an array library.

`fn` describes one sample. It is traced once, on one sample, into straight-line code in which every per-sample
quantity is an array along the batch axis and every parameter a number that broadcasts; the reduction over the
batch (the mean or the sum) is the array library's. The ops with a kink or a branch (relu, abs, leaky_relu) become
elementwise selections, so one program serves every sample. The arrays may be numpy's or PyTorch's (on their
device): the program is written against the Python array API standard, through array-api-compat.

The non-finite policy is the eager engine's: a sample whose numbers go infinite or nan from finite operands is run
again eagerly, alone, and its error (naming the op) says which sample it was.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import warnings
from typing import Any

from . import engine
from .engine import Constant, Parameter, Value, add_grads, topological_order
from .grad_mode import recording_on
from .guards import gc_paused, numbers_in_scope, traced_call, what_changes
from .errors import show
from .functional import parameter_grads, watch
from .trees import as_values

__all__ = ["BatchStep"]

# Each op of the table on arrays: the forward, then d(out)/d(input) per input, of the operands {x}, {y} and the
# output {out}. where() is the array library's.
ARRAY = {
    "add": ("{x} + {y}", "1", "1"),
    "sub": ("{x} - {y}", "1", "-1"),
    "mul": ("{x} * {y}", "{y}", "{x}"),
    "div": ("{x} / {y}", "1.0 / {y}", "-{out} / {y}"),
    "power": ("{x} ** {y}", "{y} * {x} ** ({y} - 1)", None),  # y is a number (a Constant)
    "vpower": ("where({x} < 0, nan, {x} ** {y})",  # a negative base to a Value power: refused, as eager does
               "where({y} != 0, {y} * {x} ** ({y} - 1), 0.0)", "where({x} != 0, {out} * log({x}), 0.0)"),
    "leaky": ("where({x} > 0, {x}, {y} * {x})", "where({x} > 0, 1.0, {y})", "where({x} > 0, 0.0, {x})"),
    "neg": ("-{x}", "-1"),
    "absolute": ("abs({x})", "where({x} > 0, 1.0, where({x} < 0, -1.0, 0.0))"),
    "exp": ("exp({x})", "{out}"),
    "log": ("where({x} > 0, log({x}), nan)", "1.0 / {x}"),  # log(0) is refused as eager does, not -inf
    "sqrt": ("sqrt({x})", "0.5 / {out}"),
    "tanh": ("tanh({x})", "1 - {out} ** 2"),
    "sigmoid": ("sigmoid({x})", "{out} * (1 - {out})"),
    "relu": ("xp.maximum({x}, 0.0)", "xp.astype(~({x} <= 0), xp.float64)"),  # relu'(nan) is 1, as in eager
    "sin": ("sin({x})", "cos({x})"),
    "cos": ("cos({x})", "-sin({x})"),
    "step": ("xp.astype(~({x} <= 0), xp.float64)", "0.0"),  # step(nan) is 1, as in eager
    "sign": ("where({x} > 0, 1.0, where({x} < 0, -1.0, 0.0))", "0.0"),
    "slope": ("where({x} > 0, 1.0, {y})", "0.0", "where({x} > 0, 0.0, 1.0)"),
    "below": ("where({x} > 0, 0.0, {y})", "0.0", "where({x} > 0, 0.0, 1.0)"),
}
# An inf or nan operand of these gives an inf or nan result, seen at the end; the others' inputs (relu(-inf) is 0,
# an overflow that a tanh hides) are added into a check, one addition each.
PROPAGATING = {"add", "sub", "mul", "neg", "absolute", "log", "sqrt", "sin", "cos"}  # (x / inf is 0: not here)
KEYS = {**dict(zip(engine.OPS, engine.TABLE)), watch: "input"}  # Op -> its row (watch: grad's identity)


def namespace_of(data, fname="compile(..., batch=True)"):
    """The array namespace of the data (numpy's or PyTorch's, through array-api-compat)."""
    try:
        import array_api_compat
    except ImportError:
        raise ImportError(f"{fname} needs array-api-compat and an array library: pip install numpy "
                          f"array-api-compat (in a checkout of autodiff: pip install -e '.[batch]')") from None
    arrays = [d for d in data if array_api_compat.is_array_api_obj(d)]
    if arrays:
        try:
            return array_api_compat.array_namespace(*arrays)
        except TypeError as e:
            raise TypeError(f"{fname}: the data are arrays of different libraries ({e}); give them all as numpy "
                            f"arrays or all as torch tensors") from None
    try:
        import numpy
    except ImportError:
        raise ImportError(f"{fname} needs an array library for data given as lists: pip install numpy") from None
    return array_api_compat.array_namespace(numpy.zeros(1))


class BatchStep:
    """compile(fn, params, batch=True): step(*data) -> the mean (or summed) loss over the batch, a float, with
    every parameter's .grad added d(that loss)/d(parameter), and step.losses the call's per-sample losses (an array);
    step.per_sample(*data) -> (losses, grads), arrays of shapes (N,) and (N, number of parameters)."""

    def __init__(self, fn: Any, params: list[Any], reduce: str, max_programs: int = 8) -> None:
        if reduce not in ("mean", "sum"):
            raise ValueError(f"compile(..., batch=True): reduce must be 'mean' or 'sum', got {show(reduce)}")
        self.fn, self.params, self.reduce, self.max_programs = fn, params, reduce, max_programs
        self.programs = {}  # (per-sample shapes of the data, numbers in fn's scope) -> [BatchProgram], latest first
        self.warned = False
        self.losses = None  # the per-sample losses of the latest call
        self.__name__ = getattr(fn, "__name__", "fn")

    def __repr__(self):
        return f"<batched {self.__name__} of {len(self.params)} parameters: {self._count()} program(s)>"

    def __call__(self, *data: Any) -> float:
        xp, columns, n, key, arrays = self._prepare(data)
        params = self._param_values()
        key, programs = self._programs(key, arrays, xp)
        program, losses = (programs[0], 0.0) if programs else (None, None)
        if program is not None:
            with _quiet(xp):
                losses, grads, check, _ = program.fn(program.inputs(params), columns, n, xp, "reduce")
        if losses is None:  # a sample decides otherwise than the trace: each sample by the program of its path
            losses, each = self._by_path(xp, key, params, columns, n, arrays)
            total, grads = float(xp.sum(losses)), [float(g) for g in xp.sum(each, axis=0)]
            reached = [any(r) for r in zip(*(p.reached for p in self.programs[key]))] or [g != 0 for g in grads]
        else:
            total = float(xp.sum(losses)) if _is_array(losses) and losses.ndim else float(losses) * n
            grads = [float(g) for g in grads]
            if not (math.isfinite(total) and all(map(math.isfinite, grads)) and all(_all_finite(xp, c) for c in check)):
                losses, each = self._repaired(xp, program, params, columns, n, arrays)
                total, grads = float(xp.sum(losses)), [float(g) for g in xp.sum(each, axis=0)]
            reached = program.reached
        scale = 1.0 / n if self.reduce == "mean" else 1.0
        # (a parameter the loss does not reach keeps its .grad, as in backward())
        add_grads([p for p, r in zip(self.params, reached) if r], [g * scale for g, r in zip(grads, reached) if r])
        self.losses = _full(xp, losses, n)
        return total * scale

    def per_sample(self, *data: Any) -> tuple[Any, Any]:
        """(losses, grads): each sample's loss, shape (N,), and each sample's gradient, shape (N, number of
        parameters), in the data's array library; no .grad changes."""
        xp, columns, n, key, arrays = self._prepare(data)
        params = self._param_values()
        key, programs = self._programs(key, arrays, xp)
        program, losses = (programs[0], 0.0) if programs else (None, None)
        if program is not None:
            with _quiet(xp):
                losses, grads, check, _ = program.fn(program.inputs(params), columns, n, xp, "each")
        if losses is None:
            losses, grads = self._by_path(xp, key, params, columns, n, arrays)
        else:
            losses, grads = _full(xp, losses, n), xp.stack([_full(xp, g, n) for g in grads], axis=1)
            if not (_all_finite(xp, losses) and _all_finite(xp, grads) and all(_all_finite(xp, c) for c in check)):
                losses, grads = self._repaired(xp, program, params, columns, n, arrays)
        self.losses = losses
        return losses, grads

    # ----- internals -----

    def _param_values(self):
        values = [p.data for p in self.params]
        if all(type(v) is float for v in values):  # (the usual case, without an isinstance per parameter)
            return values
        values = []
        for i, p in enumerate(self.params):
            d = p.data
            if isinstance(d, bool) or not isinstance(d, numbers.Real):
                raise TypeError(f"compile(..., batch=True): the .data of parameter {i} {p!r} is not a number")
            values.append(float(d))
        return values

    def _prepare(self, data):
        if not data:
            raise TypeError(f"{self.__name__} (batched): give the data as arrays whose first axis is the batch")
        xp = namespace_of(data)
        arrays = []
        for i, d in enumerate(data):
            try:
                a = xp.asarray(d)
                if xp.isdtype(a.dtype, ("bool", "complex floating")):
                    raise TypeError(f"its dtype is {a.dtype}")
                a = xp.astype(a, xp.float64, copy=False)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{self.__name__} (batched): data argument {i} is not an array of numbers ({e})") \
                    from None
            if a.ndim == 0:
                raise ValueError(f"{self.__name__} (batched): data argument {i} is a single number; each data "
                                 f"argument is an array whose first axis is the batch (shape (N, ...))")
            arrays.append(a)
        n = arrays[0].shape[0]
        for i, a in enumerate(arrays):
            if a.shape[0] != n:
                raise ValueError(f"{self.__name__} (batched): data argument {i} has {a.shape[0]} samples but "
                                 f"argument 0 has {n} (shapes {[tuple(b.shape) for b in arrays]}); every data "
                                 f"argument needs one entry per sample")
        if n == 0:
            raise ValueError(f"{self.__name__} (batched): the batch is empty")
        key = (tuple(tuple(a.shape[1:]) for a in arrays), numbers_in_scope(self.fn))
        columns = []
        for a in arrays:
            flat = xp.reshape(a, (n, -1))
            columns += [flat[:, j] for j in range(flat.shape[1])]
        return xp, columns, n, key, arrays

    def _programs(self, key, arrays, xp):
        """The programs of these data shapes (and numbers in fn's scope), latest path first: traced on sample 0 if
        there is none yet."""
        programs = self.programs.setdefault(key, [])
        if not programs:
            if self._count() >= self.max_programs:
                return key, programs  # none: _by_path runs the samples eagerly, and says why
            with gc_paused():
                program = BatchProgram(self.fn, self.params, arrays, xp, self.__name__, 0)
            if not programs:
                del self.programs[key]
            key = (key[0], numbers_in_scope(self.fn))  # what fn left in its scope (a list it appends to, say)
            programs = self.programs.setdefault(key, [])
            programs.insert(0, program)
        if programs[0].check_structure(arrays, xp):  # (once, on the first batch of more than one sample)
            del self.programs[key]
            key = (key[0], numbers_in_scope(self.fn))
            self.programs.setdefault(key, [])[:0] = programs
            programs = self.programs[key]
        return key, programs

    def _count(self):
        return sum(map(len, self.programs.values()))

    @property
    def source(self):
        """The array code of the most recently traced program (to read what tracing recorded)."""
        latest = [p for programs in self.programs.values() for p in programs]
        return max(latest, key=lambda p: p.made).source if latest else ""

    def _by_path(self, xp, key, params, columns, n, arrays):
        """Each sample replayed by the program of its path (the one whose guards hold for it: traced on the first
        sample that none fits, up to max_programs; past that, eagerly). Returns (losses, grads) per sample."""
        programs = self.programs[key]
        losses = xp.zeros((n,), dtype=xp.float64, device=columns[0].device if columns else None)
        grads = xp.zeros((n, len(self.params)), dtype=xp.float64, device=losses.device)
        left = xp.arange(n, device=losses.device)
        failed = None
        k = 0
        while left.shape[0]:
            if k == len(programs):
                if self._count() >= self.max_programs:
                    self._warn(failed, key)
                    for i in [int(j) for j in left]:
                        losses[i], grads[i, :] = self._eager_row(xp, arrays, i, grads)
                    break
                with gc_paused():
                    programs.append(BatchProgram(self.fn, self.params, arrays, xp, self.__name__, int(left[0])))
            program = programs[k]
            k += 1
            cols = [c[left] for c in columns]
            with _quiet(xp):
                out = program.fn(program.inputs(params), cols, left.shape[0], xp, "each")
            if out[0] is None:  # only some of these samples are on its path: those, again
                ok = out[3]
                failed = failed or program.guards[0]
                mine, left = left[ok], left[~ok]
                if not mine.shape[0]:
                    continue
                cols = [c[mine] for c in columns]
                with _quiet(xp):
                    out = program.fn(program.inputs(params), cols, mine.shape[0], xp, "each")
            else:
                mine, left = left, left[:0]
            m = mine.shape[0]
            each_loss = _full(xp, out[0], m)
            each_grad = xp.stack([_full(xp, g, m) for g in out[1]], axis=1) if out[1] else \
                xp.zeros((m, 0), dtype=xp.float64, device=losses.device)
            bad = _not_finite(xp, each_loss, m) | xp.any(~xp.isfinite(each_grad), axis=1)
            for c in out[2]:
                bad = bad | _not_finite(xp, c, m)
            losses[mine], grads[mine] = each_loss, each_grad
            for i in [int(mine[j]) for j in xp.nonzero(bad)[0]]:  # not finite: the engine's error, or eager's numbers
                losses[i], grads[i, :] = self._eager_row(xp, arrays, i, grads)
        return losses, grads

    def _eager_row(self, xp, arrays, i, like):
        """Sample i run alone and eagerly: (its loss, its gradient as an array row); its error names the sample."""
        sample = [_sample(xp, a, i) for a in arrays]
        try:
            with recording_on():
                loss = self.fn(*as_values(sample))
                row = parameter_grads(loss, self.params) if isinstance(loss, Value) else [0.0] * len(self.params)
        except (engine.DomainError, engine.RangeError) as e:
            raise type(e)(f"sample {i} of the batch: {e}") from None
        row = [float(g) for g in row]
        return float(loss.data if isinstance(loss, Value) else loss), xp.asarray(row, dtype=xp.float64,
                                                                                  device=like.device)

    def _warn(self, guard, key):
        if self.warned:
            return
        self.warned = True
        why = what_changes(guard, key, self.programs)
        warnings.warn(f"autodiff.compile: {self.__name__} (batched) holds {self.max_programs} programs "
                      f"(max_programs) and some samples fit none of them, because {why}; such samples run eagerly "
                      f"from now on (same numbers, slower). Pass compile(..., max_programs=...) for more, or take "
                      f"the decision out of the function", RuntimeWarning, stacklevel=4)

    def _repaired(self, xp, program, params, columns, n, arrays):
        """Some number is not finite: each sample that has one runs again alone, eagerly. Its error (the engine's,
        naming the op) is raised with the sample's index; if it has none (an inf that came with the data, or an
        overflow of the batch's order of summation that eager's order avoids), its numbers are eager's.
        Returns (losses, grads) per sample, shapes (N,) and (N, P)."""
        with _quiet(xp):
            losses, each, check, _ = program.fn(program.inputs(params), columns, n, xp, "each")
        losses, grads = _full(xp, losses, n), xp.stack([_full(xp, g, n) for g in each], axis=1)
        bad = _not_finite(xp, losses, n) | xp.any(~xp.isfinite(grads), axis=1)
        for c in check:
            bad = bad | _not_finite(xp, c, n)
        for i in [int(k) for k in xp.nonzero(bad)[0]]:
            losses[i], grads[i, :] = self._eager_row(xp, arrays, i, grads)
        return losses, grads


class BatchProgram:
    """One sample's graph as array code: fn(inputs, columns, n, xp, mode) -> (losses, param grads, check, None),
    where mode "reduce" sums each grad over the batch and "each" keeps it per sample; when some sample decides
    otherwise than the trace did (a guard), (None, None, None, the samples whose guards hold) instead."""

    def __init__(self, fn, params, arrays, xp, name, i=0):
        loss, inputs, order, self.guards, self.captured = self._trace(fn, params, arrays, xp, i, name)
        self.fn_, self.params, self.name, self.sample, self.made = fn, params, name, i, next(_made)
        self.signature, self.path, self.checked = _signature(loss, inputs, order, params), _path(self.guards, order), False
        self.check_structure(arrays, xp)
        _check(name, params, inputs, order, loss)
        self.source, self.reached = _generate(loss, params, inputs, order, self.captured, self.guards)
        scope = {"_is_array": _is_array}
        exec(compile(self.source, f"<autodiff.compile {name}, batched>", "exec"), scope)
        self.fn = scope["make"]()

    def inputs(self, params):
        """The numbers the program reads besides the data: the parameters, then the captured Values (afresh)."""
        return params + [float(v.data) for v in self.captured] if self.captured else params

    def check_structure(self, arrays, xp):
        """Another sample (the last of the first batch of more than one) on the same path (the same guards) must
        build the same graph; if not, the function decides something from its data that the guards cannot see (a
        math function of .data), and one program cannot serve every sample."""
        n = arrays[0].shape[0]
        if self.checked or n < 2:
            return False
        j = n - 1 if self.sample != n - 1 else 0
        loss, inputs, order, guards, _ = self._trace(self.fn_, self.params, arrays, xp, j, self.name)
        if _path(guards, order) == self.path and _signature(loss, inputs, order, self.params) != self.signature:
            raise ValueError(f"compile({self.name}, batch=True): the per-sample function builds a different graph for "
                             f"sample {j} than for sample {self.sample}, with every comparison of a traced number "
                             f"deciding alike: it decides from its data in a way the guards cannot see (a number "
                             f"through a math function, float() or a conversion); use autodiff's functions "
                             f"(autodiff.exp, ...) on the Values, or compile it without batch=True")
        self.checked = True
        return True

    @staticmethod
    def _trace(fn, params, arrays, xp, i, name):
        """fn on sample i, as Values, recording its decisions: (its loss, the Values of its data, the graph's order,
        the guards, the captured leaves)."""
        try:
            trace, out, inputs = traced_call(fn, params, [_sample(xp, a, i) for a in arrays], lambda data: fn(*data))
        except (engine.DomainError, engine.RangeError) as e:
            raise type(e)(f"sample {i} of the batch: {e}") from None
        mine = set(params)
        if not isinstance(out, Value) and (isinstance(out, bool) or not isinstance(out, numbers.Real)):
            raise TypeError(f"compile({name}, batch=True): the per-sample function must return a scalar Value (the "
                            f"sample's loss), got {type(out).__name__} {show(out)}")
        guard_nodes = list(dict.fromkeys(n for g in trace.guards for n in g.nodes()))
        roots = ([out] if isinstance(out, Value) else []) + [n for n in guard_nodes if n is not out]
        order = topological_order(*roots) if roots else []
        known = mine | set(inputs)
        captured = [n for n in order if n.grad_fn is None and type(n) is not Constant and n not in known]
        return out, inputs, order, trace.guards, captured


_made = itertools.count()


def _path(guards, order):
    """The decisions of a trace, comparable across traces: each guard's test (nodes by their place) and outcome."""
    index = {node: k for k, node in enumerate(order)}
    return [guard.source(lambda n: f"n{index[n]}") for guard in guards]


def _signature(loss, inputs, order, params):
    index = {node: i for i, node in enumerate(order)}
    roles = {**{p: ("param", k) for k, p in enumerate(params)}, **{v: ("data", j) for j, v in enumerate(inputs)}}
    return [roles.get(node) or (node.op, tuple(index[p] for p in node.parents),
                                node.data if not node.parents else None) for node in order]


def _check(name, params, inputs, order, loss):
    mine = set(params)
    if not any(node in mine for node in order):
        raise ValueError(f"compile({name}, batch=True): the loss does not depend on any of the {len(params)} "
                         f"parameters, so every gradient would be 0")
    for node in order:
        if isinstance(node, Parameter) and node not in mine:
            raise ValueError(f"compile({name}, batch=True): the function uses the Parameter {node!r}, which is not "
                             f"one of the parameters compiled for; pass all of them (model.parameters())")
        if node.grad_fn is not None and node.grad_fn not in KEYS:
            raise ValueError(f"compile({name}, batch=True): the op {node.op} is not one of autodiff's table (a "
                             f"primitive, or an Op of your own), so it has no array form; compile without batch=True "
                             f"to use it")


def _generate(loss, params, inputs, order, captured=(), guards=()):
    """The program's source: make() returns program(P, D, N, xp, mode).

    A weighted sum of per-sample values with parameters as weights, c + sum_k w_k a_k (a neuron's net input), is not
    written op by op: the sums of one layer (the same a_k, other weights) become one matrix product, and in the
    backward pass their grads two more (grad of the a_k, and of the weights summed over the batch).
    """
    pnum = {p: k for k, p in enumerate(params)}
    dnum = {v: j for j, v in enumerate(inputs)}
    batched, live = set(inputs), set(params)  # nodes that vary by sample; nodes that depend on a parameter
    for node in order:
        if node.grad_fn is not None:
            if any(p in batched for p in node.parents):
                batched.add(node)
            if any(p in live for p in node.parents):
                live.add(node)
    uses = {}
    for node in order:
        for i, p in enumerate(node.parents):
            uses.setdefault(p, []).append((node, i))
    guard_nodes = {n for g in guards for n in g.nodes()}
    for n in guard_nodes:  # a guard reads it: it keeps a name of its own (no matrix absorbs it, no sum takes it in)
        uses.setdefault(n, []).extend([(None, -1), (None, -1)])
    cnum = {v: len(params) + k for k, v in enumerate(captured)}
    groups, form_of, owner = _linear_forms(order, loss, pnum, batched, uses)
    absorbed = set(owner)  # the nodes inside the sums, which the program never writes
    layers = _layers(groups, uses, pnum, owner, form_of)  # group -> (activation, the group it feeds)
    feeds = {g2: g for g, (_, g2) in layers.items()}  # group -> the layer whose activations are its inputs
    for g, (act, _) in layers.items():
        absorbed.update(f[0] for f in groups[g][1])  # the sums and their activations live in matrices
        absorbed.update(act)

    name, lines, checks, made = {}, [], [], set()
    for i, node in enumerate(order):
        if node in pnum:
            name[node] = f"P[{pnum[node]}]"
        elif node in dnum:
            name[node] = f"D[{dnum[node]}]"
        elif node in cnum:  # a captured Value, read afresh on every call
            name[node] = f"P[{cnum[node]}]"
        elif node.grad_fn is None:  # a Constant: a number of the program
            name[node] = _literal(node.data)
        elif node in absorbed:
            g = next((g for g, (act, _) in layers.items() if node is act[0]), None)
            if g is not None and g not in made:  # a layer in matrices: its sums and activations at once
                made.add(g)
                lines += _layer_forward(g, groups, layers, feeds, name, pnum, checks)
            continue
        elif node in form_of:
            g, m = form_of[node]
            a_list, forms = groups[g]
            if g not in made:
                made.add(g)
                lines += _layer_forward(g, groups, layers, feeds, name, pnum, checks)
            rest = forms[m][2]
            name[node] = f"v{i}"
            lines.append(f"        v{i} = " + " + ".join([f"S{g}[:, {m}]"] + [name[r] for r in rest]))
        else:
            key = KEYS[node.grad_fn]
            args = [_operand(p, node, key, name, batched) for p in node.parents]
            forward = "{x}" if key == "input" else ARRAY[key][0]
            name[node] = f"v{i}"
            lines.append(f"        v{i} = {forward.format(x=args[0], y=args[1] if len(args) > 1 else '')}")
            if key not in PROPAGATING and key != "input":
                checks += [a for a, p in zip(args, node.parents) if p.grad_fn is not None or p in dnum]

    if guards:  # the trace's decisions, taken again for every sample: the samples that decide otherwise go elsewhere
        tests = ", ".join(g.source(name.__getitem__, array=True) for g in guards)
        checks += [c for g in guards for c in g.computed(name.__getitem__)]
        lines.append(f"        OK = _ok([{tests}])")
        lines.append("        if OK is not None:")
        lines.append("            return None, None, None, OK")

    # the backward pass: each grad once, as the sum of its contributions, last node first
    each = {}  # node -> per-sample contributions to its grad
    reduced = {p: [] for p in params}  # parameter -> contributions to its grad summed over the batch
    grad = {loss: "1.0"} if isinstance(loss, Value) else {}
    back, left = [], {g: len(forms) for g, (_, forms) in groups.items()}

    def give(p, per_sample, summed):
        if p in pnum:
            reduced[p].append((summed, per_sample))
        elif p in live and type(p) is not Constant:
            each.setdefault(p, []).append(per_sample)

    def layer_backward(g, g_sums):
        """The backward pass of one layer of weighted sums S = A W^T (+ B), given grad(S) as an (N, M) matrix."""
        a_list, forms = groups[g]
        back.append(f"        G{g} = {g_sums}")
        back.append(f"        GA{g} = G{g} @ W{g}")
        back.append(f"        DW{g} = xp.matrix_transpose(G{g}) @ A{g} if mode == 'reduce' else None")
        back.append(f"        SG{g} = ONES @ G{g} if mode == 'reduce' else None  # the sum over the batch (BLAS)")
        for m, (_, weights, rest) in enumerate(forms):
            for k, w in enumerate(weights):
                give(w, f"G{g}[:, {m}] * A{g}[:, {k}]", f"DW{g}[{m}, {k}]")
            if g in layers:  # (a layer in matrices has no sum nodes of its own: its biases get their grads here)
                for r in rest:
                    give(r, f"G{g}[:, {m}]", f"SG{g}[{m}]")
        if g in feeds:  # A is the activation H = act(S') of the layer before: its grad is a matrix too
            before = feeds[g]
            key = KEYS[layers[before][0][0].grad_fn]
            rule = MATRIX_RULES.get(key, ARRAY[key][1]).format(x=f"S{before}", y="", out=f"H{before}")
            back.append(f"        GA{g} *= {rule}  # in place: GA{g} is used only here")
            layer_backward(before, f"GA{g}")
        else:
            for k, a in enumerate(a_list):
                give(a, f"GA{g}[:, {k}]", None)

    for node in reversed(order):
        if node in absorbed or node not in live or node in pnum or node.grad_fn is None:
            continue
        if node is not loss:
            if node not in each:
                continue
            grad[node] = "g" + name[node][1:]  # v12's grad is g12
            back.append(f"        {grad[node]} = {' + '.join(each[node])}")
        g_node = grad[node]
        if node in form_of:
            g, m = form_of[node]
            for r in groups[g][1][m][2]:  # the sum's other terms, now (they come before the layer's other sums)
                give(r, g_node, f"SG{g}[{m}]")
            left[g] -= 1
            if left[g] == 0:  # every sum of the layer has its grad: the layer's backward products
                layer_backward(g, f"xp.stack([{', '.join(f'_n({grad[f[0]]})' for f in groups[g][1])}], axis=1)")
            continue
        for i, p in enumerate(node.parents):
            if type(p) is Constant or (p not in live):
                continue
            give(p, _term(g_node, node, i, name, batched), f"_red({g_node}, {_derivative(node, i, name, batched)})")
    out = [" + ".join(summed for summed, _ in reduced[p]) or "0.0" for p in params]
    per = [" + ".join(per_sample for _, per_sample in reduced[p]) or "0.0" for p in params]
    check = "[" + ", ".join(checks) + "]"  # the inputs of the ops that can hide an inf or nan
    return "\n".join([
        "def make():",
        "    kept = {}",
        "    def program(P, D, N, xp, mode):",
        "        exp, log, sqrt, tanh, sin, cos, abs = xp.exp, xp.log, xp.sqrt, xp.tanh, xp.sin, xp.cos, xp.abs",
        "        nan, inf = float('nan'), float('inf')",
        "        device = D[0].device if D else None",
        "        ONES = xp.ones((N,), dtype=xp.float64, device=device)",
        "        def sigmoid(x):  # two forms, so that exp never overflows",
        "            e = exp(-abs(x))",
        "            return where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
        "        def _a(v):  # a number as a 0-d array, so that where() takes it",
        "            return v if _is_array(v) else xp.asarray(v, dtype=xp.float64, device=device)",
        "        def where(c, a, b):  # float64 whatever the branches are (torch makes float32 of two numbers)",
        "            return xp.where(c if _is_array(c) else xp.asarray(c, device=device), _a(a), _a(b))",
        "        def _n(v):  # one number per sample",
        "            return v if _is_array(v) and v.ndim else xp.full((N,), float(v), dtype=xp.float64, device=device)",
        "        def _b(c):  # a test's outcome as a boolean array (or 0-d array)",
        "            return c if _is_array(c) else xp.asarray(bool(c), device=device)",
        "        def _ok(tests):  # which samples decide as the trace did; None if all do",
        "            ok = xp.ones((N,), dtype=xp.bool, device=device)",
        "            for t in tests:",
        "                ok = ok & _b(t)",
        "            return None if bool(xp.all(ok)) else ok",
        "        def _red(g, d):  # sum over the batch of g * d",
        "            if _is_array(g) and _is_array(d) and g.ndim and d.ndim:",
        "                return xp.vecdot(g, d)",
        "            s = g * d",
        "            return xp.sum(s) if _is_array(s) and s.ndim else s * N",
        *lines,
        *back,
        f"        losses = {name[loss] if isinstance(loss, Value) else _literal(loss)}",
        f"        check = {check}",
        "        kept.clear()  # this call's arrays stay until the next call's are made: the allocator reuses their",
        "        kept.update(locals())  # memory instead of returning it to the system and faulting it in again",
        "        if mode == 'reduce':",
        f"            return losses, [{', '.join(f'({e})' for e in out)}], check, None",
        f"        return losses, [{', '.join(f'({e})' for e in per)}], check, None",
        "    return program",
    ]) + "\n", [bool(reduced[p]) for p in params]


VECTOR = {"relu", "tanh", "sigmoid", "exp", "sin", "cos", "absolute", "neg"}  # activations a layer takes as one op
MATRIX_RULES = {"relu": "~({x} <= 0)"}  # relu' as a mask that multiplies in place (1 for nan, as in eager)


def _layers(groups, uses, pnum, owner, form_of):
    """The layers whose sums (each with one parameter as its bias, or none) all go through the same activation, one
    each, into the inputs of one next layer and nowhere else: {group: ([activation of each sum], next group)}.
    Such a layer is computed as matrices: S = A W^T + B, H = act(S), and the next layer's A is H."""
    out = {}
    for g2, (a_list, _) in groups.items():
        if not all(a.grad_fn is not None and len(a.parents) == 1 for a in a_list):
            continue
        sums = [a.parents[0] for a in a_list]
        if not all(s in form_of for s in sums) or len({form_of[s][0] for s in sums}) != 1:
            continue
        g = form_of[sums[0]][0]
        forms = groups[g][1]
        if g == g2 or [f[0] for f in forms] != sums or g in out:
            continue
        keys = {KEYS.get(a.grad_fn) for a in a_list}
        if len(keys) != 1 or next(iter(keys)) not in VECTOR:
            continue
        rests = [f[2] for f in forms]
        if not (all(len(r) == 1 and r[0] in pnum for r in rests) or all(not r for r in rests)):
            continue
        if any(len(uses.get(s, ())) != 1 for s in sums):  # a sum used by its activation only
            continue
        if any(u not in owner or form_of[owner[u]][0] != g2 for a in a_list for u, _ in uses.get(a, ())):
            continue  # each activation feeds the next layer's products only
        out[g] = (list(a_list), g2)
    return out


def _layer_forward(g, groups, layers, feeds, name, pnum, checks):
    """The forward lines of one group of weighted sums: S = A W^T (+ B); for a layer in matrices, H = act(S)."""
    a_list, forms = groups[g]
    weights = ", ".join("[" + ", ".join(f"P[{pnum[w]}]" for w in f[1]) + "]" for f in forms)
    a = f"H{feeds[g]}" if g in feeds else f"xp.stack([{', '.join(name[x] for x in a_list)}], axis=1)"
    lines = [f"        A{g} = {a}",
             f"        W{g} = xp.asarray([{weights}], dtype=xp.float64, device=device)",
             f"        S{g} = A{g} @ xp.matrix_transpose(W{g})"]
    if g in layers:
        if forms[0][2]:
            bias = ", ".join(f"P[{pnum[f[2][0]]}]" for f in forms)
            lines.append(f"        S{g} += xp.asarray([{bias}], dtype=xp.float64, device=device)  # in place: "
                         f"one (N, M) array fewer")
        key = KEYS[layers[g][0][0].grad_fn]
        lines.append(f"        H{g} = {ARRAY[key][0].format(x=f'S{g}')}")
        if key not in PROPAGATING:
            checks.append(f"S{g}")
    return lines


def _linear_forms(order, loss, pnum, batched, uses):
    """The weighted sums c + sum_k w_k a_k in the graph (w_k parameters, a_k per-sample values, at least two
    terms), grouped by their list of a_k: ({group: (a list, [(root, weights, rest terms)])}, {root: (group, m)},
    {node inside a sum: that sum}, the nodes the program never writes)."""
    def product(p):  # (weight, a) if p is w * a or a * w, used only here
        if KEYS.get(p.grad_fn) != "mul" or len(uses.get(p, ())) != 1 or p is loss:
            return None
        x, y = p.parents
        if x in pnum and y in batched and y not in pnum:
            return x, y
        if y in pnum and x in batched and x not in pnum:
            return y, x
        return None

    def inner(p):  # a sum inside a bigger sum
        return KEYS.get(p.grad_fn) == "add" and len(uses.get(p, ())) == 1 and p is not loss and \
            KEYS.get(uses[p][0][0].grad_fn) == "add"

    groups, form_of, owner, by_list = {}, {}, {}, {}
    for node in order:
        if KEYS.get(node.grad_fn) != "add" or inner(node) or node not in batched:
            continue
        terms, rest, stack, inside = [], [], list(reversed(node.parents)), []
        while stack:  # the sum's terms, left to right
            p = stack.pop()
            if inner(p):
                inside.append(p)
                stack.extend(reversed(p.parents))
            elif product(p):
                terms.append(product(p) + (p,))
                inside.append(p)
            else:
                rest.append(p)
        if len(terms) < 2:
            continue
        a_list = tuple(a for _, a, _ in terms)
        g = by_list.setdefault(a_list, len(by_list))
        groups.setdefault(g, (list(a_list), []))[1].append((node, [w for w, _, _ in terms], rest))
        form_of[node] = (g, len(groups[g][1]) - 1)
        owner.update(dict.fromkeys(inside, node))
    return groups, form_of, owner


def _derivative(u, i, name, batched):
    """d(u)/d(its input i) as an expression (operands of a node that is the same for every sample as 0-d arrays)."""
    key = KEYS[u.grad_fn]
    if key == "input":
        return "1"
    if key == "power" and u.parents[1].data == 0:
        return "0.0"
    x = _operand(u.parents[0], u, key, name, batched)
    y = _operand(u.parents[1], u, key, name, batched) if len(u.parents) > 1 else ""
    return ARRAY[key][1 + i].format(x=x, y=y, out=name[u])


ARITHMETIC = {"add", "sub", "mul", "div", "power", "neg"}  # written with operators, which take numbers as they are


def _operand(p, u, key, name, batched):
    """How an op's formula names its input p: a number that is the same for every sample goes in as a 0-d array
    where a function of the array library needs an array (log(2.0) in torch, where() everywhere)."""
    if p in batched or (u in batched and key in ARITHMETIC):
        return name[p]
    return f"_a({name[p]})"


def _term(g, u, i, name, batched):
    d = _derivative(u, i, name, batched)
    if d == "1":
        return g
    if d == "-1":
        return f"(-{g})"
    return f"{g} * ({d})"


def _literal(x):
    x = float(x)
    return repr(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")


def _sample(xp, a, i):
    """Sample i of a data array as nested lists of floats (a float for a per-sample number)."""
    row = a[i]
    flat = xp.reshape(row, (-1,))
    numbers_ = [float(flat[j]) for j in range(flat.shape[0])]
    shape = tuple(row.shape)
    return _shape(numbers_, shape) if shape else numbers_[0]


def _shape(numbers_, shape):
    if len(shape) == 1:
        return list(numbers_)
    size = len(numbers_) // shape[0]
    return [_shape(numbers_[k * size:(k + 1) * size], shape[1:]) for k in range(shape[0])]


def _is_array(a):
    return hasattr(a, "ndim")


def _full(xp, a, n):
    """a as an array of n per-sample numbers (a number, or a 0-d array, is the same for every sample)."""
    if _is_array(a) and a.ndim:
        return a
    return xp.full((n,), float(a), dtype=xp.float64)


def _not_finite(xp, a, n):
    """Which samples have a number that is not finite in a (per sample; a matrix of them; or one for all)."""
    if _is_array(a) and a.ndim == 2:
        return xp.any(~xp.isfinite(a), axis=1)
    return ~xp.isfinite(_full(xp, a, n))


def _all_finite(xp, a):
    if _is_array(a):
        return bool(xp.all(xp.isfinite(a)))
    return math.isfinite(a)


def _quiet(xp):
    """numpy warns about the inf and nan that where() leaves in the branch it does not take: silence that."""
    if "numpy" in getattr(xp, "__name__", ""):
        import numpy
        return numpy.errstate(all="ignore")
    return contextlib.nullcontext()
