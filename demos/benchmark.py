"""Benchmarks: autodiff (eager and compiled) side by side with micrograd 0.1.0, PyTorch on 0-d tensors and, on the
tiny GPT of W6, the minimal local-gradients engine (the design of microgpt's Value, written out below). Every
measurement runs in a fresh process; engines are interleaved round by round; the report gives, per workload, each
engine's time as a ratio to micrograd's in the same round (median, min-max), and W6 also as a ratio to the
local-gradients engine, with the garbage collector on and off.

    .venv/bin/python -m demos.benchmark            # the full run (about 11 minutes on 2 cores): writes
                                                   # demos/benchmark_results.md and the table in docs/compile.md
    .venv/bin/python -m demos.benchmark --quick    # about a minute; prints, and writes only with --results
    .venv/bin/python -m demos.benchmark --against REV   # W1 and W6, eager and compiled, this checkout against git
                                                        # revision REV, interleaved in one run (about 6 minutes)

Install the engines compared with: .venv/bin/pip install -e '.[bench]'. Each engine is checked to compute the same loss and
gradients as autodiff before it is timed.
"""
import argparse
import datetime
import gc
import math
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ["autodiff", "autodiff-compiled", "micrograd", "torch", "local", "torch-vectorized", "autodiff-batched",
           "autodiff-batched-torch"]
NAMES = {"autodiff": "autodiff", "autodiff-compiled": "autodiff compiled",
         "autodiff-compiled-scope": "autodiff compiled, data from the enclosing scope", "micrograd": "micrograd 0.1.0",
         "torch": "PyTorch 0-d tensors", "local": "local-gradients engine",
         "torch-vectorized": "PyTorch vectorized (nn.Linear)", "autodiff-batched": "autodiff batched (numpy)",
         "autodiff-batched-torch": "autodiff batched (torch tensors)"}


# ----- the workloads, run inside a worker process --------------------------------------------------------------

def moons_data(n=100, seed=0):
    sys.path.insert(0, str(ROOT / "demos"))
    from moons import make_moons
    return make_moons(n, 0.1, seed)


def initial_weights(seed=1):
    from nn import MLP
    return [p.data for p in MLP(2, [16, 16, 1], seed=seed).parameters()]


def reference_step(weights, X, y):
    """autodiff eager: the loss and gradients every engine must reproduce."""
    from nn import MLP, hinge_loss
    model = MLP(2, [16, 16, 1], seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), weights)))
    loss = hinge_loss([model(x)[0] for x in X], y) + 1e-4 * sum(p * p for p in model.parameters())
    loss.backward()
    return loss.data, [p.grad for p in model.parameters()]


def w1_autodiff(weights, X, y, steps):
    from nn import MLP, SGD, hinge_loss
    model = MLP(2, [16, 16, 1], seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), weights)))
    opt = SGD(model.parameters(), lr=0.1)
    out, times = None, []
    for _ in range(steps):
        t = time.perf_counter()
        loss = hinge_loss([model(x)[0] for x in X], y) + 1e-4 * sum(p * p for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        if out is None:
            out = (loss.data, [p.grad for p in model.parameters()])
        opt.step()
        times.append(time.perf_counter() - t)
    return out, times


def w1_compiled(weights, X, y, steps, scope=False):
    """autodiff.compile by reference: the training step as one writes it for backward(), traced once; with
    scope=True, the data read from the enclosing scope (each point made a Value inside the function) instead of
    passed as arguments."""
    import resource

    import autodiff
    from autodiff import Value
    from nn import MLP, SGD, hinge_loss
    model = MLP(2, [16, 16, 1], seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), weights)))
    opt = SGD(model.parameters(), lr=0.1)
    if scope:
        fn = autodiff.compile(lambda: hinge_loss([model([Value(a) for a in x])[0] for x in X], y) +
                              1e-4 * sum(p * p for p in model.parameters()), model)
        step = lambda X, y: fn()  # noqa: E731
    else:
        step = autodiff.compile(lambda X, y: hinge_loss([model(x)[0] for x in X], y) +
                                1e-4 * sum(p * p for p in model.parameters()), model)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    loss = step(X, y)  # the first call traces and compiles
    trace = {"seconds": time.perf_counter() - t,
             "peak_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024}  # Linux: KiB
    out = (loss, [p.grad for p in model.parameters()])
    opt.step()
    return out, _timed(steps, lambda: (opt.zero_grad(), step(X, y), opt.step())), trace


def _timed(steps, one_step):
    """The seconds of each of `steps` calls of one_step."""
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        one_step()
        times.append(time.perf_counter() - t)
    return times


def w1_micrograd(weights, X, y, steps):
    from micrograd.nn import MLP
    model = MLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), weights):
        p.data = w
    out, times = None, []
    for _ in range(steps):
        t = time.perf_counter()
        scores = [model(x) for x in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        if out is None:
            out = (loss.data, [p.grad for p in model.parameters()])
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        times.append(time.perf_counter() - t)
    return out, times


def w1_torch(weights, X, y, steps):
    import torch
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    sizes = [2, 16, 16, 1]
    out, times = None, []
    for _ in range(steps):
        t = time.perf_counter()
        scores = []
        for x in X:
            act, k = [torch.tensor(v, dtype=torch.float64) for v in x], 0
            for layer in range(3):
                nxt = []
                for _ in range(sizes[layer + 1]):
                    w, b = params[k:k + sizes[layer]], params[k + sizes[layer]]
                    k += sizes[layer] + 1
                    net = b
                    for wi, xi in zip(w, act):
                        net = net + wi * xi
                    nxt.append(torch.relu(net) if layer < 2 else net)
                act = nxt
            scores.append(act[0])
        loss = sum(torch.relu(1 - yi * s) for yi, s in zip(y, scores)) * (1.0 / len(y)) + \
            1e-4 * sum(p * p for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        if out is None:
            out = (loss.item(), [p.grad.item() for p in params])
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
        times.append(time.perf_counter() - t)
    return out, times


# ----- W6: a tiny GPT, written with scalar Values in the style of microgpt --------------------------------------

class LocalValue:
    """The minimal local-gradients engine, the design of microgpt's Value (Karpathy, 2026): every op computes its
    local derivatives as floats in the forward pass and keeps them beside its children; backward() sorts the graph
    recursively and multiplies. The reference for W6, written out here as it is there."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data, self.grad, self._children, self._local_grads = data, 0, children, local_grads

    def __add__(self, other):
        other = other if isinstance(other, LocalValue) else LocalValue(other)
        return LocalValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, LocalValue) else LocalValue(other)
        return LocalValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other): return LocalValue(self.data ** other, (self,), (other * self.data ** (other - 1),))
    def log(self): return LocalValue(math.log(self.data), (self,), (1 / self.data,))
    def exp(self): return LocalValue(math.exp(self.data), (self,), (math.exp(self.data),))
    def relu(self): return LocalValue(max(0, self.data), (self,), (float(self.data > 0),))
    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1
        for v in reversed(topo):
            for child, local in zip(v._children, v._local_grads):
                child.grad += local * v.grad


VOCAB, EMBD, HEADS, BLOCK = 27, 16, 4, 16


def documents(n=64, seed=42):
    """Made-up lowercase names of 8 to 14 letters: with the start/end token, 10 to 16 tokens per document."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(8, 14))) for _ in range(n)]


def gpt_weights(seed=42):
    """4,192 weights: token and position embeddings, attention, MLP, output head."""
    rng = random.Random(seed)
    mat = lambda nout, nin: [[rng.gauss(0, 0.08) for _ in range(nin)] for _ in range(nout)]
    return {"wte": mat(VOCAB, EMBD), "wpe": mat(BLOCK, EMBD), "lm_head": mat(VOCAB, EMBD),
            "wq": mat(EMBD, EMBD), "wk": mat(EMBD, EMBD), "wv": mat(EMBD, EMBD), "wo": mat(EMBD, EMBD),
            "fc1": mat(4 * EMBD, EMBD), "fc2": mat(EMBD, 4 * EMBD)}


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def softmax(logits):
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def gpt(sd, token, pos, keys, values):
    """One position of a one-layer GPT (microgpt's shape): embeddings, rmsnorm, 4-head causal attention over the
    keys and values so far, a relu MLP, the logits."""
    hd = EMBD // HEADS
    x = [t + p for t, p in zip(sd["wte"][token], sd["wpe"][pos])]
    x = rmsnorm(x)
    residual = x
    x = rmsnorm(x)
    q, k, v = linear(x, sd["wq"]), linear(x, sd["wk"]), linear(x, sd["wv"])
    keys.append(k)
    values.append(v)
    attended = []
    for h in range(HEADS):
        s = h * hd
        qh = q[s:s + hd]
        logits = [sum(qh[j] * kt[s + j] for j in range(hd)) / hd ** 0.5 for kt in keys]
        weights = softmax(logits)
        attended.extend(sum(weights[t] * values[t][s + j] for t in range(len(values))) for j in range(hd))
    x = [a + b for a, b in zip(linear(attended, sd["wo"]), residual)]
    residual = x
    x = [xi.relu() for xi in linear(rmsnorm(x), sd["fc1"])]
    x = [a + b for a, b in zip(linear(x, sd["fc2"]), residual)]
    return linear(x, sd["lm_head"])


def gpt_train(engine, steps):
    """W6: `steps` training steps of the tiny GPT, one document each, Adam on floats as microgpt does it:
    ((loss, gradients) of the first step, the time of every step, the last loss)."""
    weights, docs = gpt_weights(), documents()
    sd = {k: [[engine.value(w) for w in row] for row in m] for k, m in weights.items()}
    params = [p for m in sd.values() for row in m for p in row]
    m1, m2 = [0.0] * len(params), [0.0] * len(params)
    lr, b1, b2, eps = 0.01, 0.85, 0.99, 1e-8
    out, times = None, []
    for step in range(steps):
        t0 = time.perf_counter()
        doc = docs[step % len(docs)]
        tokens = [VOCAB - 1] + [ord(c) - 97 for c in doc] + [VOCAB - 1]
        n = min(BLOCK, len(tokens) - 1)
        keys, values, losses = [], [], []
        for pos in range(n):
            probs = softmax(gpt(sd, tokens[pos], pos, keys, values))
            losses.append(-probs[tokens[pos + 1]].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        if out is None:
            out = (float(loss.data), [engine.grad(p) for p in params])
        lr_t = lr * (1 - step / max(steps, 1))
        for i, p in enumerate(params):
            g = engine.grad(p)
            m1[i] = b1 * m1[i] + (1 - b1) * g
            m2[i] = b2 * m2[i] + (1 - b2) * g ** 2
            mh, vh = m1[i] / (1 - b1 ** (step + 1)), m2[i] / (1 - b2 ** (step + 1))
            p.data -= lr_t * mh / (vh ** 0.5 + eps)
            engine.zero(p)
        times.append(time.perf_counter() - t0)
    return out, times, float(loss.data)


class _Engine:
    """How W6 makes a weight, reads its gradient and zeroes it, for one engine."""

    def __init__(self, value, grad=lambda p: float(p.grad), zero=lambda p: setattr(p, "grad", 0.0)):
        self.value, self.grad, self.zero = value, grad, zero


def _gpt_engine(engine):
    if engine == "autodiff":
        from autodiff import Value
        return _Engine(Value)
    if engine == "local":
        sys.setrecursionlimit(100_000)  # its topological sort recurses once per node of depth
        return _Engine(LocalValue)
    if engine == "micrograd":
        from micrograd.engine import Value
        _add_exp_and_log(Value)
        sys.setrecursionlimit(100_000)
        return _Engine(Value)
    if engine == "torch":
        import torch
        return _Engine(lambda w: torch.tensor(w, dtype=torch.float64, requires_grad=True),
                       lambda p: 0.0 if p.grad is None else p.grad.item(), lambda p: setattr(p, "grad", None))
    raise ValueError(engine)


def _add_exp_and_log(Value):
    """micrograd 0.1.0 has no exp or log: W6 adds them in micrograd's own style (a closure per node)."""
    if hasattr(Value, "log"):
        return

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += (1 / self.data) * out.grad
        out._backward = _backward
        return out

    Value.exp, Value.log = exp, log


def chain(engine, depth):
    """W2: x*1.0001+0.001 repeated `depth` times, then backward: (value, dx, seconds)."""
    if engine == "torch":
        import torch
        x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    else:
        Value = _value_class(engine)
        x = Value(1.0)
    t = time.perf_counter()
    y = x
    for _ in range(depth):
        y = y * 1.0001 + 0.001
    y.backward()
    seconds = time.perf_counter() - t
    if engine == "torch":
        return y.item(), x.grad.item(), seconds
    return y.data, x.grad, seconds


def chain_compiled(depth):
    import autodiff

    def f(p):
        y = p[0]
        for _ in range(depth):
            y = y * 1.0001 + 0.001
        return y

    step = autodiff.compile(f)
    t = time.perf_counter()
    step([1.0])
    trace = {"seconds": time.perf_counter() - t}
    t = time.perf_counter()
    value, grads = step([1.0])
    return value, grads[0], time.perf_counter() - t, trace


def wide(engine, n):
    """W3: the sum of n products of 1,000 inputs, summed as a balanced tree: (value, grad of input 0, seconds)."""
    rng = random.Random(0)
    xs0 = [rng.uniform(-1, 1) for _ in range(1000)]
    if engine == "torch":
        import torch
        xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in xs0]
    else:
        Value = _value_class(engine)
        xs = [Value(v) for v in xs0]
    t = time.perf_counter()
    terms = [xs[k % 1000] * xs[(7 * k + 3) % 1000] for k in range(n)]
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)] + (
            [terms[-1]] if len(terms) % 2 else [])
    terms[0].backward()
    seconds = time.perf_counter() - t
    if engine == "torch":
        return terms[0].item(), xs[0].grad.item(), seconds
    return terms[0].data, xs[0].grad, seconds


def bytes_per_op(engine, n_ops):
    """W4: memory held by a graph of n_ops ops (a chain x*1.0001+0.001), per op, as tracemalloc sees it."""
    import gc
    import tracemalloc
    Value = _value_class(engine)
    x = Value(1.0)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    y = x
    for _ in range(n_ops // 2):
        y = y * 1.0001 + 0.001
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return held / n_ops


def growth(engine, cycles=20, n_ops=10_000):
    """Memory still held after each of `cycles` build/backward/free cycles (default GC settings): growth per cycle."""
    import array
    import tracemalloc
    Value = _value_class(engine)
    held = array.array("d", [0.0] * cycles)  # storing into it allocates nothing that tracemalloc would count
    tracemalloc.start()
    for k in range(cycles):
        x = Value(1.0)
        y = x
        for _ in range(n_ops // 2):
            y = y * 1.0001 + 0.001
        y.backward()
        del x, y
        held[k] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (held[-1] - held[cycles // 2]) / (cycles - 1 - cycles // 2)


def _value_class(engine):
    if engine == "autodiff":
        from autodiff import Value
    elif engine == "micrograd":
        from micrograd.engine import Value
        sys.setrecursionlimit(10_000_000)  # its backward recurses once per node of depth (noted in the report)
    elif engine == "local":
        Value = LocalValue
    else:
        raise ValueError(engine)
    return Value


# ----- W7: the W1 model and loss over a whole batch at once --------------------------------------------------

def w7_reference(weights, X, y):
    """PyTorch vectorized, float64: the loss and gradients (in autodiff's parameter order) the batched run must give."""
    loss, grads, _ = _w7_torch(weights, X, y, 0)
    return loss, grads


def _w7_torch(weights, X, y, steps):
    """The W1 step with nn.Linear layers over the whole batch (float64), as one writes it in PyTorch."""
    import torch
    sizes = [2, 16, 16, 1]
    layers, k = [], 0
    for nin, nout in zip(sizes, sizes[1:]):
        layer = torch.nn.Linear(nin, nout).double()
        w = torch.tensor(weights[k:k + nout * (nin + 1)], dtype=torch.float64).reshape(nout, nin + 1)
        with torch.no_grad():
            layer.weight.copy_(w[:, :nin])
            layer.bias.copy_(w[:, nin])
        layers.append(layer)
        k += nout * (nin + 1)
    net = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)

    def step():
        net.zero_grad()
        loss = torch.relu(1 - yt * net(Xt)[:, 0]).mean() + 1e-4 * sum((p * p).sum() for p in net.parameters())
        loss.backward()
        return loss

    loss = step()
    grads = []
    for layer in layers:  # autodiff's order: each neuron's weights, then its bias
        grads += torch.cat([layer.weight.grad, layer.bias.grad[:, None]], dim=1).reshape(-1).tolist()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
        times.append(time.perf_counter() - t)
    return loss.item(), grads, times


def _w7_batched(weights, X, y, steps, tensors):
    import numpy

    import autodiff
    from nn import MLP, SGD, hinge_loss
    model = MLP(2, [16, 16, 1], seed=0)
    model.load_state_dict(dict(zip(model.state_dict(), weights)))
    params = model.parameters()
    step = autodiff.compile(lambda x, label: hinge_loss([model(x)[0]], [label]), params, batch=True)
    l2 = autodiff.compile(lambda: 1e-4 * sum(p * p for p in params), params)
    X_, y_ = numpy.array(X), numpy.array(y, dtype=float)
    if tensors:
        import torch
        X_, y_ = torch.tensor(X_), torch.tensor(y_)
    opt = SGD(params, lr=0.1)
    t = time.perf_counter()
    loss = step(X_, y_) + l2()  # the first call traces one sample
    trace = {"seconds": time.perf_counter() - t}
    out = (loss, [p.grad for p in params])
    opt.step()
    return out, _timed(steps, lambda: (opt.zero_grad(), step(X_, y_), l2(), opt.step())), trace


SCALAR_AT_MOST = 1_000  # the scalar replay of a bigger batch is timed on this many points and scaled (it is linear)


def w7(engine, n):
    X, y = moons_data(n, seed=3)
    weights = initial_weights()
    steps = 20
    note = ""
    if engine == "torch-vectorized":
        loss, grads, times = _w7_torch(weights, X, y, steps)
        trace = None
    elif engine == "autodiff-compiled":
        m = min(n, SCALAR_AT_MOST)
        (loss, grads), times, trace = w1_compiled(weights, X[:m], y[:m], 3)
        if m < n:
            times, note = [t * n / m for t in times], f"timed on {m:,} points, times {n // m}"
            trace["seconds"] *= n / m
        X, y = X[:m], y[:m]
    else:
        (loss, grads), times, trace = _w7_batched(weights, X, y, steps, engine == "autodiff-batched-torch")
    ref_loss, ref_grads = w7_reference(weights, X, y)
    ok = close(loss, ref_loss) and all(close(a, b) for a, b in zip(grads, ref_grads))
    return {"seconds": statistics.median(times), "ok": ok, "trace": trace, "note": note}


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))


def worker(engine, workload, size):
    """Run one measurement in this (fresh) process; return a JSON-able result."""
    if workload == "W1":
        X, y = moons_data()
        weights = initial_weights()
        ref_loss, ref_grads = reference_step(weights, X, y)
        trace = None
        if engine == "autodiff":
            (loss, grads), times = w1_autodiff(weights, X, y, size)
        elif engine in ("autodiff-compiled", "autodiff-compiled-scope"):
            (loss, grads), times, trace = w1_compiled(weights, X, y, size, scope=engine.endswith("scope"))
        elif engine == "torch":
            (loss, grads), times = w1_torch(weights, X, y, size)
        else:
            (loss, grads), times = w1_micrograd(weights, X, y, size)
        ok = close(loss, ref_loss) and all(close(a, b) for a, b in zip(grads, ref_grads))
        return {"seconds": statistics.median(times), "ok": ok, "trace": trace}
    if workload == "W7":
        return w7(engine, size)
    if workload in ("W6", "W6-gc-off"):
        (ref_loss, ref_grads), _, _ = gpt_train(_gpt_engine("autodiff"), 1)
        gc.collect()
        if workload == "W6-gc-off":
            gc.disable()
        try:
            (loss, grads), times, _ = gpt_train(_gpt_engine(engine), size)
        finally:
            gc.enable()
        ok = close(loss, ref_loss) and all(close(a, b) for a, b in zip(grads, ref_grads))
        return {"seconds": statistics.median(times), "ok": ok, "trace": None}
    if workload == "W2":
        if engine == "autodiff-compiled":
            value, grad, seconds, trace = chain_compiled(size)
        else:
            value, grad, seconds = chain(engine, size)
            trace = None
        return {"seconds": seconds, "ok": close(grad, 1.0001 ** size, 1e-6), "trace": trace}
    if workload == "W3":
        value, grad, seconds = wide(engine, size)
        ref = wide_reference(size)
        return {"seconds": seconds, "ok": close(grad, ref, 1e-9)}
    if workload == "W4":
        return {"bytes": bytes_per_op(engine, size), "ok": True}
    if workload == "W5":
        return {"bytes": growth(engine), "ok": True}
    raise ValueError(workload)


def wide_reference(n):
    rng = random.Random(0)
    xs = [rng.uniform(-1, 1) for _ in range(1000)]
    g = 0.0
    for k in range(n):
        i, j = k % 1000, (7 * k + 3) % 1000
        g += (xs[j] if i == 0 else 0.0) + (xs[i] if j == 0 else 0.0)
    return g


# ----- the driver ----------------------------------------------------------------------------------------------

def available(engine):
    """None if the engine can run here, else why not."""
    module = {"autodiff": "autodiff", "autodiff-compiled": "autodiff", "micrograd": "micrograd.engine",
              "torch": "torch", "local": "autodiff", "torch-vectorized": "torch",
              "autodiff-batched": "numpy, array_api_compat", "autodiff-batched-torch": "torch, array_api_compat"}[engine]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    if probe.returncode == 0:
        return None
    return f"not installed (pip install -e '.[bench]'): {probe.stderr.strip().splitlines()[-1]}"


def plan(quick):
    """[(workload, size, label, engines)]: what to measure."""
    every = ["autodiff", "autodiff-compiled", "micrograd", "torch"]
    scalar = ["autodiff", "micrograd", "torch"]
    depths = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    rows = [("W1", 2 if quick else 3, "W1 moons training step (65k ops)", every)]
    for d in depths:
        engines = every if d <= 100_000 else [e for e in scalar if e != "micrograd"]
        rows.append(("W2", d, f"W2 chain of depth {d:,}, build + backward", engines))
    for n in ([10_000] if quick else [100_000, 1_000_000]):
        rows.append(("W3", n, f"W3 sum of {n:,} products, build + backward", scalar))
    rows.append(("W4", 10_000 if quick else 100_000, f"W4 bytes per op, a graph of {10_000 if quick else 100_000:,} "
                                                     f"ops", ["autodiff", "micrograd"]))
    rows.append(("W5", 0, "W5 memory still held per build/backward/free cycle (bytes)",
                 ["autodiff", "micrograd"]))
    steps = 2 if quick else 4
    rows.append(("W6", steps, "W6 tiny GPT training step (about 110k ops)", ["autodiff", "micrograd", "torch", "local"]))
    rows.append(("W6-gc-off", steps, "W6 with the garbage collector off", ["autodiff", "micrograd", "local"]))
    for n in ([100, 1_000] if quick else [100, 10_000]):
        rows.append(("W7", n, f"W7 W1's model and loss at batch {n:,}", W7_ENGINES))
    return rows


W7_ENGINES = ["torch-vectorized", "autodiff-batched", "autodiff-batched-torch", "autodiff-compiled"]


def run_worker(engine, workload, size, timeout, root=ROOT):
    """One measurement in a fresh process: this file's workloads, on the autodiff and nn of `root`."""
    cmd = [sys.executable, str(ROOT / "demos" / "benchmark.py"), "--worker", engine, workload, str(size)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"took more than {timeout} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["crashed"])[-1]
        return {"error": last if done.returncode > 0 else f"crashed (signal {-done.returncode})"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(quick, rounds, progress=print):
    skipped = {e: why for e in ENGINES if (why := available(e))}
    rows = plan(quick)
    results = {}  # (workload, size) -> engine -> [result per round]
    rng = random.Random(0)
    timeout = 120 if quick else 900
    for r in range(rounds):
        for workload, size, label, engines in rows:
            order = [e for e in engines if e not in skipped]
            rng.shuffle(order)  # interleaved, in a different order every round
            for engine in order:
                if workload in ("W4", "W5") and r > 0:
                    continue  # memory is deterministic: one round is enough
                res = run_worker(engine, workload, size, timeout)
                results.setdefault((workload, size), {}).setdefault(engine, []).append(res)
                progress(f"round {r + 1}/{rounds} {label}: {NAMES[engine]}: "
                         f"{res.get('error') or _short(res)}")
    return rows, results, skipped


def _short(res):
    if "seconds" in res:
        return f"{res['seconds'] * 1000:.1f} ms" + ("" if res["ok"] else " (WRONG RESULT)")
    return f"{res['bytes']:.0f} bytes"


def table(rows, results, skipped, base_engine="micrograd", shown=("autodiff", "autodiff-compiled", "torch")):
    """A table of ratios to base_engine's time in the same round, median (min-max); base_engine's own column is
    its absolute median."""
    shown = list(shown)
    head = f"| workload | {NAMES[base_engine]} | " + " | ".join(NAMES[e] for e in shown) + " |"
    lines = [head, "|" + "---|" * (len(shown) + 2)]
    for workload, size, label, engines in rows:
        if base_engine not in engines and workload == "W7":
            continue  # (W7 has a table of its own, as ratios to PyTorch vectorized)
        res = results.get((workload, size), {})
        base = res.get(base_engine, [])
        key = "bytes" if workload in ("W4", "W5") else "seconds"
        cells = [_absolute(base, key)]
        for e in shown:
            if e in skipped:
                cells.append("not installed")
            elif e not in engines:
                cells.append("n/a")
            else:
                cells.append(_ratio(res.get(e, []), base, key))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _absolute(runs, key):
    good = [r[key] for r in runs if key in r]
    if not good:
        return (runs[0].get("error", "n/a") if runs else "n/a")
    m = statistics.median(good)
    return f"{m * 1000:.1f} ms" if key == "seconds" else f"{m:,.0f}"


def _ratio(runs, base, key):
    if not runs:
        return "n/a"
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        return f"failed: {errors[0]}"
    if not all(r["ok"] for r in runs):
        return "WRONG RESULT"
    if key == "bytes" and len(base) and "bytes" in base[0]:
        b = base[0]["bytes"]
        return f"{runs[0]['bytes']:,.0f} ({runs[0]['bytes'] / b:.2f}x)" if b else f"{runs[0]['bytes']:,.0f}"
    pairs = [(r[key], m[key]) for r, m in zip(runs, base) if key in m]
    if not pairs:
        return f"{statistics.median(r[key] for r in runs) * 1000:.1f} ms"
    ratios = [a / b for a, b in pairs]
    text = f"{statistics.median(ratios):.3g}x ({min(ratios):.3g}-{max(ratios):.3g})"
    if runs[0].get("note"):
        text += f" ({runs[0]['note']})"
    traces = [r["trace"] for r in runs if r.get("trace")]
    if traces:
        text += f", trace {statistics.median(t['seconds'] for t in traces):.2f} s once"
        if "peak_mb" in traces[0]:
            text += f" (peak memory +{statistics.median(t['peak_mb'] for t in traces):.0f} MB)"
    return text


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def report(rows, results, skipped, quick, rounds, seconds):
    notes = [f"- {NAMES[e]}: {why}" for e, why in skipped.items()]
    return f"""# Benchmark results

`python -m demos.benchmark{' --quick' if quick else ''}`, {datetime.date.today().isoformat()}, Python
{platform.python_version()}, {machine()}; {rounds} round(s), {seconds:.0f} s in all.

Each cell is the engine's time divided by micrograd's in the same round: the median over rounds, then the
smallest and largest (lower is faster; 0.25x means four times as fast). The micrograd column is its absolute
median. Every measurement ran in a fresh process, the engines in a new random order every round, with Python's
default garbage collector settings. Before it was timed, every engine computed the same loss and gradients as
autodiff (to 1e-9).

{table(rows, results, skipped)}

W6 as ratios to the local-gradients engine (the design of microgpt's `Value`, written out in the benchmark), with
Python's garbage collector on (the default) and off:

{gpt_table(rows, results, skipped)}

W7 as ratios to PyTorch vectorized over the batch:

{batch_table(rows, results, skipped)}

- W1: micrograd's moons setup: MLP(2, [16, 16, 1]) on 100 points, hinge loss + 1e-4 L2, backward, SGD update,
  the same starting weights for every engine; the median of the steps of one process. autodiff compiled replays
  a program traced once by reference (`autodiff.compile(fn, model)`, gradients into .grad, SGD as eager); the
  one-off trace and compile is given after the ratio, with the growth of the process's peak memory during it.
- W2: micrograd's backward is recursive: its recursion limit was raised for it; at depth 1,000,000 it is not run.
  autodiff compiled replays the traced chain (up to depth 100,000; the trace is given after the ratio).
- W3: the sum is a balanced tree of additions, so that the graph is wide and shallow.
- W4, W5: memory as tracemalloc sees Python objects (so not PyTorch's); W4 divides the memory held by the graph by
  its number of ops (micrograd also makes a Value of every constant); W5 is the growth per cycle over the last
  half of 20 cycles of build, backward and free on a 10,000-op graph (0 means nothing leaks).
- W6: a one-layer GPT in the style of Karpathy's microgpt (token and position embeddings, rmsnorm, 4-head causal
  attention over the keys and values so far, a relu MLP, softmax cross-entropy; 4,192 weights), one made-up
  10-16 token document per step, Adam on floats; the median step of one process. micrograd 0.1.0 has no exp or
  log: the benchmark adds both in its own style. autodiff compiled does not apply: the tokens choose which
  weights a step reads, so a traced program would hold one document's choices.
- W7: the W1 model, loss and SGD step over a whole batch of moons points: PyTorch with nn.Linear layers in float64;
  autodiff batched replays one point's traced loss over the batch (`autodiff.compile(fn, params, batch=True)`, the
  L2 term compiled by reference beside it), on numpy arrays or on torch tensors; autodiff compiled is the scalar
  replay of W1 (for a batch over 1,000 points it is timed on 1,000 and scaled: its time is linear in the batch).
  Every engine's loss and gradients were checked against PyTorch's (to 1e-9).
- {MICROGRAD_RUST}
{chr(10).join(notes)}
"""


MICROGRAD_RUST = ("micrograd-rust is not in the table: its only release is a source package whose build needs Rust "
                  "crates from a registry these machines cannot reach. A hand build of its unchanged engine measured "
                  "0.028x micrograd on W1 (36 ms per step on these machines), leaking every graph and crashing past "
                  "about 52,000-deep chains.")


def gpt_table(rows, results, skipped):
    rows = [r for r in rows if r[0].startswith("W6")]
    return table(rows, results, skipped, "local", ("autodiff", "micrograd", "torch"))


def batch_table(rows, results, skipped):
    rows = [r for r in rows if r[0] == "W7"]
    return table(rows, results, skipped, "torch-vectorized", W7_ENGINES[1:])


def against(rev, rounds, progress=print):
    """autodiff at this checkout and at git revision `rev` (a worktree of its own), interleaved round by round with
    the engine each is a ratio to, on the same workload code (this file's): eager W1 and W6, and W1 compiled with
    the data passed as arguments and read from the enclosing scope (the replay, and the first call that traces).
    Returns [(row, rev's, this checkout's, this / rev)]."""
    import tempfile
    jobs = [("W1", 3, "micrograd", "autodiff"), ("W6", 4, "local", "autodiff"),
            ("W1", 3, "micrograd", "autodiff-compiled"), ("W1", 3, "micrograd", "autodiff-compiled-scope")]
    times, traces = {}, {}  # (workload, engine, who) -> [seconds per round]; compiled: first calls
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            trees = {rev: other, "this checkout": ROOT}
            rng = random.Random(0)
            for r in range(rounds):
                runs = {(w, size, base, base, "base", ROOT) for w, size, base, _ in jobs}
                runs |= {(w, size, engine, engine, who, t) for w, size, _, engine in jobs for who, t in trees.items()}
                runs = sorted(runs, key=str)
                rng.shuffle(runs)
                for w, size, engine, _, who, root in runs:
                    res = run_worker(engine, w, size, 900, root)
                    if res.get("error") or not res["ok"]:
                        raise SystemExit(f"{w} {engine} at {who}: {res.get('error') or 'a wrong result'}")
                    times.setdefault((w, engine, who), []).append(res["seconds"])
                    if res.get("trace"):
                        traces.setdefault((w, engine, who), []).append(res["trace"]["seconds"])
                    progress(f"round {r + 1}/{rounds} {w} {NAMES[engine]} ({who}): {res['seconds'] * 1000:.1f} ms")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)

    def ratio(a, b):
        qs = [x / y for x, y in zip(a, b)]
        return f"{statistics.median(qs):.3g}x ({min(qs):.3g}-{max(qs):.3g})"
    rows = []
    for w, _, base, engine in jobs:
        mine, theirs = times[w, engine, "this checkout"], times[w, engine, rev]
        base_times = times[w, base, "base"]
        rows.append((f"{w} {NAMES[engine]} / {NAMES[base]}", ratio(theirs, base_times), ratio(mine, base_times),
                     ratio(mine, theirs)))
        if (w, engine, rev) in traces:  # the first call, in eager steps of the same tree and round
            steps = {who: [t / e for t, e in zip(traces[w, engine, who], times[w, "autodiff", who])] for who in trees}
            rows.append((f"{w} {NAMES[engine]}: first call (traces), in eager steps",
                         *[f"{statistics.median(steps[who]):.3g} ({min(steps[who]):.3g}-{max(steps[who]):.3g})"
                           for who in (rev, "this checkout")],
                         ratio(traces[w, engine, "this checkout"], traces[w, engine, rev])))
    return rows


def update_readme(readme, tbl):
    text = readme.read_text()
    start, end = "<!-- benchmark table: start -->", "<!-- benchmark table: end -->"
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{tbl}\n{end}{tail}")
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description="Time autodiff against micrograd, PyTorch and the minimal "
                                            "local-gradients engine, each measurement in a fresh process.")
    p.add_argument("--quick", action="store_true", help="small sizes and 2 rounds: about a minute on 2 cores "
                   "(the full run takes about 11 minutes); prints the tables and writes nothing unless --results is given")
    p.add_argument("--rounds", type=int, help="rounds (default: 2 with --quick, else 5)")
    p.add_argument("--results", type=Path, default=None,
                   help="where to write the report (default: demos/benchmark_results.md after a full run)")
    p.add_argument("--readme", type=Path, default=None,
                   help="a page whose Performance table to update (default: docs/compile.md after a full run)")
    p.add_argument("--against", metavar="REV", help="time W1 and W6 (eager, and W1 compiled) at this checkout and at "
                   "git revision REV in one interleaved run (about 6 minutes with 5 rounds), and print the ratios")
    p.add_argument("--worker", nargs=3, metavar=("ENGINE", "WORKLOAD", "SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        engine, workload, size = args.worker
        print(json.dumps(worker(engine, workload, int(size))))
        return 0
    rounds = args.rounds or (2 if args.quick else 5)
    if args.against:
        rows = against(args.against, rounds)
        print(f"\n| workload | {args.against} | this checkout | this checkout / {args.against} |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return 0
    start = time.perf_counter()
    rows, results, skipped = measure(args.quick, rounds)
    text = report(rows, results, skipped, args.quick, rounds, time.perf_counter() - start)
    from autodiff.files import atomic_write
    tables = table(rows, results, skipped) + "\n\n" + gpt_table(rows, results, skipped) + "\n\n" + batch_table(
        rows, results, skipped)
    print("\n" + tables)
    results_path = args.results or (None if args.quick else ROOT / "demos" / "benchmark_results.md")
    if results_path is not None:
        atomic_write(results_path, text.encode("utf-8"))
        print(f"\nwrote {results_path}")
    readme = args.readme or (None if args.quick else ROOT / "docs" / "compile.md")
    if readme is not None and update_readme(readme, tables):
        print(f"updated the Performance table in {readme}")
    wrong = [k for k, v in results.items() for e, runs in v.items() for r in runs if r.get("ok") is False]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
