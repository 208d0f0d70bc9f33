"""Random expression programs for property tests: random ops over earlier nodes, so subexpressions are shared.

Every op is total on the reals (arguments are squashed into its domain), so any program is valid.
"""
from hypothesis import settings
from hypothesis import strategies as st

from autodiff import Value

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)  # seeded: the same examples every run

# name: (on autodiff Values, on torch tensors)
UNARY = {
    "tanh": (lambda a: a.tanh(), lambda t, a: t.tanh(a)),
    "sigmoid": (lambda a: a.sigmoid(), lambda t, a: t.sigmoid(a)),
    "sin": (lambda a: a.sin(), lambda t, a: t.sin(a)),
    "cos": (lambda a: a.cos(), lambda t, a: t.cos(a)),
    "exp": (lambda a: a.tanh().exp(), lambda t, a: t.exp(t.tanh(a))),
    "log": (lambda a: (a * a + 1).log(), lambda t, a: t.log(a * a + 1)),
    "sqrt": (lambda a: (a * a + 0.5).sqrt(), lambda t, a: t.sqrt(a * a + 0.5)),
    "square": (lambda a: a ** 2, lambda t, a: a ** 2),
    "cube": (lambda a: a ** 3, lambda t, a: a ** 3),
    "inverse": (lambda a: (a * a + 1) ** -1.5, lambda t, a: (a * a + 1) ** -1.5),
    "neg": (lambda a: -a, lambda t, a: -a),
    "affine": (lambda a: 1.5 * a - 0.25, lambda t, a: 1.5 * a - 0.25),
    "rpow": (lambda a: 2 ** a.tanh(), lambda t, a: 2 ** t.tanh(a)),
}
KINKED = {  # not differentiable at one point: compared with PyTorch (same conventions), not with differences
    "abs": (lambda a: abs(a), lambda t, a: a.abs()),
    "relu": (lambda a: a.relu(), lambda t, a: t.relu(a)),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), lambda t, a: t.nn.functional.leaky_relu(a, 0.1)),
}
BINARY = {
    "+": (lambda a, b: a + b, lambda t, a, b: a + b),
    "-": (lambda a, b: a - b, lambda t, a, b: a - b),
    "*": (lambda a, b: a * b, lambda t, a, b: a * b),
    "/": (lambda a, b: a / (b * b + 1), lambda t, a, b: a / (b * b + 1)),
    "**": (lambda a, b: (a * a + 0.5) ** b.tanh(), lambda t, a, b: (a * a + 0.5) ** t.tanh(b)),
}


def programs(unary):
    """A number of inputs and a list of steps (op, i, j) that refer to any earlier node: shared subexpressions."""
    names = sorted(unary) + sorted(BINARY)

    @st.composite
    def draw(draw_):
        n_inputs = draw_(st.integers(1, 3))
        steps = []
        for k in range(draw_(st.integers(1, 10))):
            size = n_inputs + k
            steps.append((draw_(st.sampled_from(names)), draw_(st.integers(0, size - 1)),
                          draw_(st.integers(0, size - 1))))
        xs = draw_(st.lists(st.floats(-1.5, 1.5), min_size=n_inputs, max_size=n_inputs))
        return steps, xs

    return draw()


def run(steps, xs, table, lib=None):
    """Evaluate a program on inputs xs with either autodiff (lib=None) or torch; returns every node."""
    nodes = list(xs)
    for name, i, j in steps:
        if name in BINARY:
            f = BINARY[name][0 if lib is None else 1]
            nodes.append(f(nodes[i], nodes[j]) if lib is None else f(lib, nodes[i], nodes[j]))
        else:
            f = table[name][0 if lib is None else 1]
            nodes.append(f(nodes[i]) if lib is None else f(lib, nodes[i]))
    return nodes


def as_function(steps, table):
    def f(*xs):
        return run(steps, list(xs), table)[-1] * 1.0  # * 1.0: the output is a Value even if it is an input
    return f


def five_point(f, xs, i, h=1e-3):
    """d f / d x_i by the fourth-order central difference (error O(h^4))."""
    def at(d):
        return f(*[Value(x + d if k == i else x) for k, x in enumerate(xs)]).data
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
