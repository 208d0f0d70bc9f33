"""The notes' backpropagation, by hand with plain floats, next to what backward() computes on the same nn model.

Notation (docs/backprop.md walks through it): layer l has weights w^l_jk from neuron k of layer l-1 to neuron j of
layer l (nn's name: layers.{l-1}.neurons.{j}.w.{k}) and biases b^l_j (the augmented weight, whose input is always 1).

    net_j = sum_k w_jk o_k + b_j            o_j = phi(net_j)                       forward pass
    C = 1/N sum_n 1/2 sum_j (o_j - y_j)^2                                          cost, averaged over the set
    delta_j = (o_j - y_j) phi'(net_j)                                              output layer
    delta_j = phi'(net_j) sum_m w_mj delta_m      (m over the next layer)          hidden layers
    dC/dw_jk = delta_j o_k     dC/db_j = delta_j                                    gradient
    Delta w = -mu dC/dw                                                             gradient descent

Run it with:  .venv/bin/python demos/delta_rule.py        (after the README's quick start made .venv/)
"""
import argparse
import math
import random
import sys

from autodiff import Value
from nn import MLP, SGD

# phi and phi', as functions of net (plain floats)
PHI = {
    "relu": (lambda n: n if n > 0 else 0.0, lambda n: 1.0 if n > 0 else 0.0),
    "leaky_relu": (lambda n: n if n > 0 else 0.01 * n, lambda n: 1.0 if n > 0 else 0.01),
    "tanh": (math.tanh, lambda n: 1.0 - math.tanh(n) ** 2),
    "sigmoid": (lambda n: 1 / (1 + math.exp(-n)), lambda n: math.exp(-n) / (1 + math.exp(-n)) ** 2),
    "linear": (lambda n: n, lambda n: 1.0),
}


def weights(model):
    """W[l][j][k] and B[l][j] as floats, read from the nn model (l counts from 0 here)."""
    W = [[[w.data for w in neuron.w] for neuron in layer.neurons] for layer in model.layers]
    B = [[neuron.b.data for neuron in layer.neurons] for layer in model.layers]
    return W, B


def forward(model, x):
    """The forward pass: net and o for every layer; o[0] is the input x."""
    W, B = weights(model)
    o, net = [list(map(float, x))], [None]
    for l, layer in enumerate(model.layers):
        phi = PHI[layer.neurons[0].activation][0]
        net_l = [sum(W[l][j][k] * o[-1][k] for k in range(len(o[-1]))) + B[l][j] for j in range(len(W[l]))]
        net.append(net_l)
        o.append([phi(n) for n in net_l])
    return net, o


def deltas(model, net, o, y):
    """delta for every layer, from the output layer back to the first."""
    W, _ = weights(model)
    L = len(model.layers)
    dphi = [PHI[layer.neurons[0].activation][1] for layer in model.layers]
    delta = [None] * (L + 1)
    delta[L] = [(o[L][j] - y[j]) * dphi[L - 1](net[L][j]) for j in range(len(o[L]))]
    for l in range(L - 1, 0, -1):
        delta[l] = [dphi[l - 1](net[l][j]) * sum(W[l][m][j] * delta[l + 1][m] for m in range(len(delta[l + 1])))
                    for j in range(len(o[l]))]
    return delta


def gradients_by_hand(model, xs, ys):
    """dC/dw_jk = delta_j o_k and dC/db_j = delta_j, averaged over the training set, by nn's parameter names."""
    grads = {}
    for x, y in zip(xs, ys):
        net, o = forward(model, x)
        delta = deltas(model, net, o, y)
        for l in range(1, len(model.layers) + 1):
            for j, d in enumerate(delta[l]):
                for k, o_k in enumerate(o[l - 1]):
                    name = f"layers.{l - 1}.neurons.{j}.w.{k}"
                    grads[name] = grads.get(name, 0.0) + d * o_k / len(xs)
                name = f"layers.{l - 1}.neurons.{j}.b"
                grads[name] = grads.get(name, 0.0) + d / len(xs)
    return grads


def gradients_by_backward(model, xs, ys):
    """The same cost built from Values; backward() fills in every gradient."""
    model.zero_grad()
    cost = Value(0.0)
    for x, y in zip(xs, ys):
        out = model(x)
        cost = cost + 0.5 * sum((o_j - y_j) ** 2 for o_j, y_j in zip(out, y)) / len(xs)
    cost.backward()
    return {name: p.grad for name, p in model.named_parameters()}


def compare(model, xs, ys):
    """[(parameter name, by hand, by backward())] for every parameter."""
    by_hand, by_backward = gradients_by_hand(model, xs, ys), gradients_by_backward(model, xs, ys)
    return [(name, by_hand[name], by_backward[name]) for name, _ in model.named_parameters()]


def gradient_descent_by_hand(model, grads, mu):
    """Delta w = -mu dC/dw for every parameter: the new values, by name."""
    return {name: p.data - mu * grads[name] for name, p in model.named_parameters()}


def example(seed=0, activation="tanh", output_activation="sigmoid", sizes=(3, [4, 3, 2]), n=5):
    """A small seeded model and training set."""
    rng = random.Random(seed)
    model = MLP(sizes[0], sizes[1], activation=activation, output_activation=output_activation, seed=seed)
    xs = [[rng.uniform(-1, 1) for _ in range(sizes[0])] for _ in range(n)]
    ys = [[rng.uniform(0, 1) for _ in range(sizes[1][-1])] for _ in range(n)]
    return model, xs, ys


def main(argv=()):
    argparse.ArgumentParser(description="The delta rule, by hand with plain floats, next to backward() "
                                        "on the same nn model; prints both for every parameter and their largest "
                                        "difference. It takes no options.").parse_args(list(argv))
    model, xs, ys = example()
    rows = compare(model, xs, ys)
    print(f"{model}, {len(xs)} samples, C = 1/N sum_n 1/2 sum_j (o_j - y_j)^2\n")
    print(f"{'parameter':<24} {'delta rule (by hand)':>22} {'backward()':>22} {'difference':>11}")
    for name, hand, engine in rows:
        print(f"{name:<24} {hand:>22.15f} {engine:>22.15f} {abs(hand - engine):>11.1e}")
    worst = max(abs(h - e) for _, h, e in rows)
    print(f"\nlargest difference: {worst:.1e} over {len(rows)} parameters")

    mu = 0.5
    new = gradient_descent_by_hand(model, {name: hand for name, hand, _ in rows}, mu)
    SGD(model.parameters(), lr=mu).step()  # the optimizer uses the grads backward() left in .grad
    step = max(abs(new[name] - p.data) for name, p in model.named_parameters())
    print(f"Delta w = -mu dC/dw (mu = {mu}) by hand vs SGD.step(): largest difference {step:.1e}")
    ok = worst <= 1e-12 and step <= 1e-12
    print("equal to 1e-12" if ok else "NOT EQUAL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
