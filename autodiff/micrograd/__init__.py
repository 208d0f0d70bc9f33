"""micrograd's package layout on autodiff: replace `micrograd.` by `autodiff.micrograd.` in a notebook's imports and
it runs on this engine.

    from autodiff.micrograd.engine import Value        # autodiff's Value (with micrograd's _prev, _op, _backward)
    from autodiff.micrograd.nn import Neuron, Layer, MLP

`nn` here behaves as micrograd's: weights from random.uniform(-1, 1) in micrograd's order, bias 0, ReLU unless
nonlin=False, and a Layer of one neuron returns the bare Value (autodiff's own nn returns a list). What differs from
micrograd's engine is said in autodiff/compat.py.
"""
from . import engine, nn

__all__ = ["engine", "nn"]
