"""Forward mode against reverse mode on the same graphs: the classic lesson of automatic differentiation.

A Jacobian of a function with n inputs and m outputs takes m backward passes in reverse mode (one per output:
a whole gradient each) and n forward passes in forward mode (one per input: a whole column each). So a loss of many
parameters (n large, m = 1) wants reverse mode, which is why training uses backpropagation, and a curve of one
input with many outputs wants forward mode. This demo builds one graph of each kind, computes its Jacobian both
ways with autodiff.jacobian, counts the passes (a counting op sits where every pass must go through), times them,
and checks that both modes give the same numbers.

Run it with:  .venv/bin/python demos/forward_vs_reverse.py        (after the README's quick start made .venv/)
"""
import argparse
import math
import sys
import time

from autodiff import jacobian, primitive


def counting():
    """An identity op whose derivative counts how often a pass asks for it, and the list it counts into."""
    calls = []

    @primitive(lambda t: calls.append(1) or 1.0)
    def through(t):
        return t

    return through, calls


def many_inputs_one_output(n):
    """f(x_1..x_n) = sum_i tanh(x_i x_(i+1)) + x_i^2 / n: a loss of n parameters. Every pass crosses its output."""
    through, calls = counting()

    def f(*xs):
        total = 0.0
        for i in range(len(xs)):
            total = total + (xs[i] * xs[(i + 1) % len(xs)]).tanh() + xs[i] ** 2 / len(xs)
        return through(total)

    return f, calls, [math.sin(i) for i in range(n)]


def one_input_many_outputs(m):
    """f(x) = [sin(k h) exp(-h / k) for k = 1..m], h = x after 100 steps of h + sin(3h) / 100: a curve of m points
    that share one long computation. Every pass crosses its input."""
    through, calls = counting()

    def f(x):
        h = through(x)
        for _ in range(100):
            h = h + (h * 3.0).sin() / 100
        return [(h * k).sin() * (h * (-1.0 / k)).exp() for k in range(1, m + 1)]

    return f, calls, [0.7]


def matrix(f, xs, mode):
    """The Jacobian as rows, one per output, of one number per input (JAX's jacobian over every argument)."""
    rows = jacobian(lambda *a: (lambda out: out if isinstance(out, list) else [out])(f(*a)),
                    argnums=tuple(range(len(xs))), mode=mode)(*xs)
    return [list(row) for row in rows]


def measure(f, calls, xs, mode):
    """(the Jacobian, the passes it took, the best time of three in ms)."""
    best, jac, passes = math.inf, None, 0
    for _ in range(3):
        del calls[:]
        start = time.perf_counter()
        jac = matrix(f, xs, mode)
        best = min(best, time.perf_counter() - start)
        passes = len(calls)
    return jac, passes, 1000 * best


def main(argv=()):
    parser = argparse.ArgumentParser(description="Forward against reverse mode: passes and time for a Jacobian of "
                                                 "a graph with many inputs and one output, and of one with one "
                                                 "input and many outputs.")
    parser.add_argument("--n", type=int, default=200, help="inputs of the first graph, outputs of the second "
                                                           "(default 200)")
    args = parser.parse_args(list(argv))
    if args.n < 1:
        parser.error("--n must be at least 1")
    print("The Jacobian of each graph, both ways (a pass: one backward() in reverse mode, one tangent sweep "
          "in forward mode):\n")
    print(f"  {'graph':<26}{'inputs':>7}{'outputs':>8}   {'mode':<5}{'passes':>7}{'time':>11}")
    rows = []
    for name, build in (("many inputs, one output", many_inputs_one_output),
                        ("one input, many outputs", one_input_many_outputs)):
        f, calls, xs = build(args.n)
        results = {mode: measure(f, calls, xs, mode) for mode in ("rev", "fwd")}
        (jr, _, _), (jf, _, _) = results["rev"], results["fwd"]
        scale = max(abs(a) for r in jr for a in r) or 1.0
        diff = max(abs(a - b) for r, s in zip(jr, jf) for a, b in zip(r, s)) / scale
        for k, (mode, (jac, passes, ms)) in enumerate(results.items()):
            label = (name, str(len(xs)), str(len(jac))) if k == 0 else ("", "", "")
            print(f"  {label[0]:<26}{label[1]:>7}{label[2]:>8}   {mode:<5}{passes:>7}{ms:>8.1f} ms")
        print(f"  {'':<26}{'':>7}{'':>8}   both modes agree to {diff:.1e} (relative)\n")
        rows.append((name, results, diff))
    print("Reverse mode costs one pass per output, forward mode one per input: pick the mode with fewer passes.")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
