"""Scalar code, vector speed: train the moons MLP on 10,000 points with one sample's traced program replayed over
the whole batch (autodiff.compile(..., batch=True)), and time it beside the eager engine and the scalar replay.

The model and the per-sample loss are the scalar code of demos/moons.py, unchanged: a Neuron is still a loop of
Value products. compile traces that loss on one point and writes it once as array code, in which a layer's weighted
sums are matrix products; numpy then runs it on all points at once.

Run it with:  .venv/bin/python demos/batched.py        (after the README's quick start made .venv/)
"""
import argparse
import sys
import time

import autodiff
from moons import make_moons
from nn import MLP, SGD, hinge_loss


def per_point(model):
    return lambda x, label: hinge_loss([model(x)[0]], [label])


def time_eager(model, X, y):
    """Seconds for one eager step (build every point's graph, backward) on these points."""
    start = time.perf_counter()
    loss = hinge_loss([model(x)[0] for x in X], y)
    loss.backward()
    model.zero_grad()
    return time.perf_counter() - start


def time_compiled(model, X, y, repeats=3):
    """(seconds to trace, seconds per replay) of autodiff.compile's scalar replay on these points."""
    step = autodiff.compile(lambda X, y: hinge_loss([model(x)[0] for x in X], y), model.parameters())
    start = time.perf_counter()
    step(X, y)
    trace = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        step(X, y)
    model.zero_grad()
    return trace, (time.perf_counter() - start) / repeats


def main(argv=()):
    parser = argparse.ArgumentParser(description="Train MLP(2, [16, 16, 1]) on 10,000 moons with the batched replay "
                                                 "of one point's traced loss, and time eager, compiled and batched "
                                                 "steps side by side.")
    parser.add_argument("--points", type=int, default=10_000, help="points to train on (default 10,000)")
    parser.add_argument("--steps", type=int, default=200, help="batched training steps (default 200)")
    parser.add_argument("--reference-points", type=int, default=1_000,
                        help="points the eager and compiled steps are timed on (default 1,000: their time grows "
                             "linearly, and on 10,000 one eager step takes many seconds)")
    args = parser.parse_args(list(argv))
    if args.points < 2 or args.steps < 1 or not 1 <= args.reference_points <= args.points:
        parser.error("--points must be >= 2, --steps >= 1, and 1 <= --reference-points <= --points")
    import numpy

    X, y = make_moons(args.points, 0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    step = autodiff.compile(per_point(model), model.parameters(), batch=True)
    X_, y_ = numpy.array(X), numpy.array(y, dtype=float)
    optimizer = SGD(model.parameters(), lr=1.0)
    start = time.perf_counter()
    loss = step(X_, y_)  # the first call traces one point (and one more, to check the structure)
    trace = time.perf_counter() - start
    model.zero_grad()
    start = time.perf_counter()
    for k in range(args.steps):
        optimizer.zero_grad()
        loss = step(X_, y_)
        optimizer.lr = 1.0 - 0.9 * k / args.steps
        optimizer.step()
    per_step = (time.perf_counter() - start) / args.steps
    right = float(numpy.mean((step.losses < 1) | ((step.losses == 1) & (y_ < 0))))
    print(f"{model}, {args.points:,} points: {args.steps} batched steps in {per_step * args.steps:.2f} s, "
          f"loss {loss:.4f}, training accuracy {right:.1%}\n")

    n = args.reference_points
    fresh = MLP(2, [16, 16, 1], seed=0)
    eager = time_eager(fresh, X[:n], y[:n]) * args.points / n
    trace_c, replay = time_compiled(fresh, X[:n], y[:n])
    scale = args.points / n
    rows = [("eager (a graph of Values per step)", eager, "-"),
            ("compiled (scalar replay of the whole step)", replay * scale, f"{trace_c * scale:.2f} s"),
            ("batched (one point's program over all points)", per_step, f"{trace:.3f} s")]
    note = "" if n == args.points else f" (eager and compiled timed on {n:,} points, times {scale:g})"
    print(f"one training step on {args.points:,} points{note}:")
    print(f"  {'':<48}{'per step':>12}{'speed-up':>11}{'trace':>10}")
    for name, seconds, traced in rows:
        print(f"  {name:<48}{seconds * 1000:>9.1f} ms{eager / seconds:>10.0f}x{traced:>10}")
    print("\nThe per-point code is the same in all three; only how it runs differs.")
    return rows, right


if __name__ == "__main__":
    main(sys.argv[1:])
