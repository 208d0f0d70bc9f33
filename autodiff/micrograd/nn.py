"""micrograd.nn on autodiff: Module, Neuron, Layer and MLP that build, initialise, compute and print as micrograd's
do (the same random draws in the same order, so random.seed(1337) gives micrograd's model), made of autodiff's
Parameters and nn.Module (so they also save, load and draw like autodiff's models).

The one rule where autodiff's own nn differs: a micrograd Layer of one neuron returns the bare Value, so that
`model(x)` of an MLP ending in one neuron is a Value, as micrograd's demo.ipynb expects.
"""
import random

import nn as _nn
from autodiff import Parameter

__all__ = ["Module", "Neuron", "Layer", "MLP"]


class Module(_nn.Module):
    """micrograd's Module: zero_grad() and parameters() (and autodiff's nn.Module for the rest)."""

    def parameters(self):
        return []


class Neuron(Module):
    """relu(sum_i w_i x_i + b), or linear with nonlin=False; w_i from random.uniform(-1, 1), b = 0."""

    def __init__(self, nin, nonlin=True):
        self.w = [Parameter(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Parameter(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)  # b + w_0 x_0 + w_1 x_1 + ..., micrograd's order
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """nout Neurons on the same inputs; a Layer of one neuron returns its Value, not a list of one."""

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes nouts; every layer but the last is ReLU."""

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
