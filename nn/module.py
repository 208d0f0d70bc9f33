"""Modules: a neuron, a layer, a multi-layer perceptron. Nothing here computes a gradient: they are all Values.

In the notation of docs/backprop.md (w_jk: the weight into neuron j from input k): a neuron j computes
net_j = sum_k w_jk o_k + b_j and outputs o_j = phi(net_j); the bias is the weight of an extra input that is always 1
(the "augmented weight"). Neuron j's w[k] is w_jk.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
from typing import Any, Iterable, Iterator, Sequence, TypeVar

import autodiff
from autodiff import Parameter, Value, grad_computed
from autodiff.engine import passes
from autodiff.errors import show

from .serialize import read_model, write_model

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS"]
M = TypeVar("M", bound="Module")
Inputs = Sequence["Value | float"] | Value | float

def linear(v: Value) -> Value:
    """The identity: a neuron's output without an activation."""
    return v


# name: (phi, the gain of the initialisation; see Neuron). Functions of a module, so a model pickles.
ACTIVATIONS = {
    "relu": (autodiff.relu, math.sqrt(2.0)),
    "leaky_relu": (autodiff.leaky_relu, math.sqrt(2.0)),
    "tanh": (autodiff.tanh, 1.0),
    "sigmoid": (autodiff.sigmoid, 1.0),
    "linear": (linear, 1.0),
}


def _activation(name, where):
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {name!r}; choose one of {', '.join(map(repr, ACTIVATIONS))}")
    return ACTIVATIONS[name][0]


def _count(n, what, where):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{where}: {what} must be a positive int, got {n!r}")
    return n


def _inputs(x, n, where):
    """The inputs as a list of the right length (floats and Values are both fine)."""
    if isinstance(x, (Value, int, float)):
        x = [x]
    x = list(x)
    if len(x) != n:
        raise ValueError(f"{where}: expected {n} input(s), got {len(x)}")
    return x


def clear_grads(params: Iterable[Value], set_to_none: bool = True) -> None:
    """zero_grad() of modules and optimizers: each .grad back to "not computed", or 0.0; under backward's lock."""
    with passes:
        for p in params:
            if not set_to_none:
                p.grad = 0.0
            elif grad_computed(p):
                del p.grad


class Module:
    """Something with parameters: named, listed, zeroed, saved and loaded the same way for every model."""

    _name = ""  # this module's dotted name inside the model that holds it

    def named_parameters(self) -> list[tuple[str, Value]]:
        """[(dotted name, Value)] in a fixed order: attributes in definition order, lists and tuples by index.

        A Value (or module) reachable twice is listed once, under its first name.
        """
        return [(name, obj) for name, obj, _, _ in self._walk(once=True) if isinstance(obj, Value)]

    def named_modules(self) -> list[tuple[str, Module]]:
        """[(dotted name, Module)] for this module ('') and every module inside it, in the same order."""
        return [("", self)] + [(name, obj) for name, obj, _, _ in self._walk(once=True) if isinstance(obj, Module)]

    def _walk(self, once: bool) -> list[tuple[str, Any, Any, Any]]:
        """(dotted name, object, holder, key) for every Value and Module held by this module: its public attributes
        in definition order, lists and tuples by index, depth first (iteratively: deep models cannot hit the
        recursion limit). With once=True, each object once, at its first place; else every place it is held,
        which using() needs to swap a shared parameter everywhere. Every caller reads the model through this."""
        found, seen, entered, stack = [], {id(self)}, set(), [("", self, None, None)]
        while stack:
            name, obj, holder, key = stack.pop()
            if holder is not None:
                if isinstance(obj, (Value, Module)):
                    if once and id(obj) in seen:
                        continue
                    seen.add(id(obj))
                    found.append((name, obj, holder, key))
                elif id(obj) in seen:  # a list or tuple already entered (cycles end there)
                    continue
                else:
                    seen.add(id(obj))
            if isinstance(obj, Value) or (isinstance(obj, Module) and holder is not None and id(obj) in entered):
                continue
            entered.add(id(obj))  # a module's insides are walked once, even where it is held twice
            items = vars(obj).items() if isinstance(obj, Module) else enumerate(obj)
            stack.extend(reversed([(f"{name}.{k}" if name else str(k), v, obj, k) for k, v in items
                                   if not (isinstance(k, str) and k.startswith("_"))
                                   and isinstance(v, (Value, Module, list, tuple))]))
        return found

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the order of named_parameters()."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's .grad (gradients accumulate across backward() calls), as PyTorch does: by default
        each grad goes back to "not computed" (it reads 0.0; an optimizer then skips a parameter that the next
        backward() does not reach), or with set_to_none=False it is set to 0.0. Done between passes: a backward()
        running in another thread is not split by it."""
        clear_grads(self.parameters(), set_to_none)

    @contextlib.contextmanager
    def using(self: M, params: Iterable[Value]) -> Iterator[M]:
        """Run the model with these Values as its parameters (in parameters() order); its own come back after.

        For functions of the parameters, such as autodiff.compile's loss_fn(params, *data).
        """
        own = self.parameters()
        params = list(params)
        if len(params) != len(own):
            raise ValueError(f"{type(self).__name__}.using: expected {len(own)} parameters, got {len(params)}")
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}.using: parameter {i} is a {type(p).__name__}, expected a "
                                f"Value")
        self._replace({id(a): b for a, b in zip(own, params)})
        try:
            yield self
        finally:
            self._replace({id(b): a for a, b in zip(own, params)})

    def _replace(self, mapping: dict[int, Value]) -> None:
        """Put mapping[id(v)] wherever a parameter v is held (every place, if it is shared)."""
        places = [(holder, key, mapping[id(v)]) for _, v, holder, key in self._walk(once=False)
                  if isinstance(v, Value) and id(v) in mapping]
        for holder, _, _ in places:
            if isinstance(holder, tuple):
                raise ValueError(f"{type(self).__name__}.using: a parameter is held in a tuple, which cannot be "
                                 f"changed; hold it in a list")
        for holder, key, new in places:
            if isinstance(holder, Module):
                setattr(holder, key, new)
            else:
                holder[key] = new

    def state_dict(self) -> dict[str, float]:
        """{dotted name: float}, every parameter's value."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, float], *, source: str = "state_dict") -> None:
        """Set every parameter from `state`; on any problem raise ValueError and change nothing."""
        params = dict(self.named_parameters())
        if not isinstance(state, dict):
            raise ValueError(f"{source}: expected a dict of parameter values, got {type(state).__name__}")
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if missing or unexpected:
            parts = ([f"missing {_few(missing)}"] if missing else []) + (
                [f"unexpected {_few(unexpected)}"] if unexpected else [])
            raise ValueError(f"{source}: wrong architecture for this {type(self).__name__}: {'; '.join(parts)}")
        values = {}
        for name in params:
            v = state[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                shape = f"a list of {len(v)}" if isinstance(v, (list, tuple)) else type(v).__name__
                raise ValueError(f"{source}: wrong shape for {name}: expected a number, got {shape}")
            try:
                v = float(v)
            except OverflowError:  # an int of hundreds of digits
                raise ValueError(f"{source}: {name} is an integer of {len(str(v))} digits, too large for a "
                                 f"float") from None
            if not math.isfinite(v):
                raise ValueError(f"{source}: {name} is {v}, not a finite number")
            values[name] = v
        for name, p in params.items():  # all checked: now change the model
            p.data = values[name]

    def config(self) -> dict[str, Any] | None:
        """The arguments that rebuild this module's architecture (None if unknown)."""
        return None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a versioned JSON file, atomically: a failure leaves any old file as it was."""
        write_model(path, type(self).__name__, self.config(), self.state_dict())

    def load(self: M, path: str | os.PathLike[str] | None = None) -> M:
        """Load saved parameters into this model (a ValueError naming the file changes nothing); returns the model.

        For a new model built from a file, use Model.from_file(path).
        """
        if not isinstance(self, Module):  # MLP.load(path), on the class: a bad file is still refused as such
            path = self
            kind, config, state = read_model(path)
            known = {}
            for c in _subclasses(Module):  # by name; nn's own first (autodiff.micrograd.nn has an MLP too)
                known.setdefault(c.__name__, c)
            if kind in known and config is not None:
                known[kind]._check_size(path, config, state)
            raise TypeError(f"load() loads into a model: model.load(path); for a new model from the file "
                            f"{str(path)!r}, use {kind if kind in known else 'MLP'}.from_file(path)")
        if path is None:
            raise TypeError(f"{type(self).__name__}.load(path): give the path of a file written by save()")
        kind, config, state = read_model(path)
        self._check_file(path, kind, config)
        self.load_state_dict(state, source=str(path))
        return self

    @classmethod
    def from_file(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Build a model of this class from a file written by save(), architecture and all."""
        kind, config, state = read_model(path)
        if kind != cls.__name__ or config is None:
            raise ValueError(f"{path}: holds a {kind}, not a {cls.__name__}")
        cls._check_size(path, config, state)
        try:
            model = cls(**config)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: its architecture {show(config)} is not valid: {e}") from None
        model.load_state_dict(state, source=str(path))
        return model

    @classmethod
    def _check_size(cls, path: Any, config: dict[str, Any], state: dict[str, Any]) -> None:
        """From the numbers alone, before anything is built: the file's architecture has its parameters."""
        try:
            n = cls.parameter_count(config)  # a file cannot make us build a giant
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: its architecture {show(config)} is not valid: {e}") from None
        if n is not None and n != len(state):
            raise ValueError(f"{path}: wrong architecture: its config {show(config)} has {n} parameters but the "
                             f"file holds {len(state)}; the file is corrupt")

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int | None:
        """How many parameters a model of this class built from `config` has, without building it (None if the
        class does not say); a ValueError if the config is not valid."""
        return None

    def _same_architecture(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as compared with another model's (MLP: a hidden activation without hidden layers is moot)."""
        return config

    def _check_file(self, path: Any, kind: Any, config: Any) -> None:
        if kind != type(self).__name__:
            raise ValueError(f"{path}: wrong architecture: the file holds a {kind}, this model is a "
                             f"{type(self).__name__}")
        mine = self.config()
        if mine is not None and isinstance(config, dict) and (
                self._same_architecture(config) != self._same_architecture(mine)):
            diff = ", ".join(f"{k} {config.get(k)!r} in the file but {mine.get(k)!r} here"
                             for k in mine if config.get(k) != mine.get(k))
            raise ValueError(f"{path}: wrong architecture: {diff or show(config)}")

    def _name_parameters(self) -> None:
        """Label every parameter with its dotted name, and tell every module its own (drawings use both)."""
        modules = [""]  # the names of the modules around the object walked (depth first: a stack of prefixes)
        for name, obj, _, _ in self._walk(once=True):
            while modules[-1] and not name.startswith(modules[-1] + "."):
                modules.pop()
            if isinstance(obj, Value):
                obj.label = name
                if isinstance(obj, Parameter):
                    obj.modules = tuple(reversed(modules))
            else:
                obj._name = name
                modules.append(name)


def _subclasses(cls):
    """Every subclass of cls, breadth first (its direct subclasses in the order they were defined come first)."""
    found, queue = [], [cls]
    while queue:
        for sub in queue.pop(0).__subclasses__():
            found.append(sub)
            queue.append(sub)
    return found


def _few(names, n=3):
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


class Neuron(Module):
    """o = phi(sum_k w_k x_k + b).

    Initialisation: w_k uniform in [-a, a] with a = gain * sqrt(3 / nin), so that Var(w) = gain^2 / nin keeps the
    variance of net the same from layer to layer (He et al. with gain sqrt(2) for relu-like phi, LeCun with gain 1
    otherwise): small and random. b starts at 0.
    """

    def __init__(self, nin: int, activation: str = "relu", rng: random.Random | int | None = None) -> None:
        _count(nin, "nin", "Neuron")
        self._phi = _activation(activation, "Neuron")
        self.activation = activation
        # None: Python's global random, so random.seed() applies; an int seeds a generator of this neuron's own
        rng = random if rng is None else random.Random(rng) if isinstance(rng, int) else rng
        a = ACTIVATIONS[activation][1] * math.sqrt(3.0 / nin)
        self.w = [Parameter(rng.uniform(-a, a)) for _ in range(nin)]
        self.b = Parameter(0.0)
        self._name_parameters()

    def __call__(self, x: Inputs) -> Value:
        x = _inputs(x, len(self.w), "Neuron")
        net = self.b
        for w, xi in zip(self.w, x):
            net = net + w * xi
        out = self._phi(net)
        if self._name and out.parents and not out.label:
            out.label = self._name  # the neuron's output carries its name: drawings group by it
        return out

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        return _count(config.get("nin"), "nin", "Neuron") + 1

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons that see the same inputs; calling it always returns a list, even of one."""

    def __init__(self, nin: int, nout: int, activation: str = "relu",
                 rng: random.Random | int | None = None) -> None:
        _count(nin, "nin", "Layer")
        _count(nout, "nout", "Layer")
        _activation(activation, "Layer")
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]
        self._name_parameters()

    def __call__(self, x: Inputs) -> list[Value]:
        x = _inputs(x, len(self.neurons[0].w), "Layer")
        return [n(x) for n in self.neurons]

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.neurons[0].w), "nout": len(self.neurons), "activation": self.neurons[0].activation}

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        return (_count(config.get("nin"), "nin", "Layer") + 1) * _count(config.get("nout"), "nout", "Layer")

    def __repr__(self) -> str:
        c = self.config()
        return f"Layer({c['nin']}, {c['nout']}, activation={c['activation']!r})"


class MLP(Module):
    """g(x) = f^L(W^L f^(L-1)(... f^1(W^1 x))): hidden layers use `activation`, the last `output_activation`.

    Calling it always returns a list (of one Value for one output). The same seed gives the same model.
    """

    def __init__(self, nin: int, nouts: int | Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", seed: int | None = None) -> None:
        _count(nin, "nin", "MLP")
        if isinstance(nouts, int) and not isinstance(nouts, bool):
            nouts = [nouts]
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for n in nouts:
            _count(n, "every layer size in nouts", "MLP")
        _activation(activation, "MLP")
        _activation(output_activation, "MLP (output_activation)")
        self.activation, self.output_activation = activation, output_activation
        rng = random if seed is None else random.Random(seed)
        sizes = [nin] + list(nouts)
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation, rng)
                       for i in range(len(nouts))]
        self._name_parameters()

    def __call__(self, x: Inputs) -> list[Value]:
        x = _inputs(x, len(self.layers[0].neurons[0].w), "MLP")  # the error names the model the user called
        for layer in self.layers:
            x = layer(x)
        return x

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.layers[0].neurons[0].w), "nouts": [len(la.neurons) for la in self.layers],
                "activation": self.activation, "output_activation": self.output_activation}

    @classmethod
    def parameter_count(cls, config: dict[str, Any]) -> int:
        nouts = config.get("nouts")
        nouts = [nouts] if isinstance(nouts, int) and not isinstance(nouts, bool) else nouts
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {show(nouts)}")
        sizes = [_count(config.get("nin"), "nin", "MLP")] + [_count(n, "every layer size in nouts", "MLP")
                                                             for n in nouts]
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))

    def _same_architecture(self, config: dict[str, Any]) -> dict[str, Any]:
        nouts = config.get("nouts")
        if isinstance(nouts, list) and len(nouts) == 1:  # no hidden layer: the hidden activation is never used
            return {k: v for k, v in config.items() if k != "activation"}
        return config

    def to_torch(self, dtype: Any = None) -> Any:
        """An equivalent torch.nn.Sequential (same weights, outputs and gradients), in float64 unless dtype says."""
        from .interop import to_torch
        return to_torch(self, dtype)

    @classmethod
    def from_torch(cls, seq: Any) -> MLP:
        """An MLP with the weights of a torch.nn.Sequential of Linear layers and activations."""
        from .interop import from_torch
        return from_torch(cls, seq)

    def __repr__(self) -> str:
        c = self.config()
        return (f"MLP({c['nin']}, {c['nouts']}, activation={c['activation']!r}, "
                f"output_activation={c['output_activation']!r})")
