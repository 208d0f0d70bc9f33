"""autodiff: reverse-mode automatic differentiation on scalars; the core (engine.py) reads in one sitting, and every
op that runs is plain Python in ops.py."""
from .engine import (Value, Parameter, Constant, Op, DomainError, RangeError, grad_computed, no_grad, primitive,
                     exp, log, sqrt, tanh, sigmoid, relu, leaky_relu, sin, cos)
from .anomaly import detect_anomaly
from .functional import grad, value_and_grad, hessian, jvp, vjp, jacobian, hvp
from .gradcheck import gradcheck, GradcheckError
from .explain import explain
from .draw import draw, save_svg, GraphvizMissing
from .animate import animate
from .compile import compile as compile  # public, but not in __all__: see below
from . import engine, grad_mode, ops  # noqa: F401  (autodiff.ops.mul is what x * y runs)

__all__ = ["Value", "Parameter", "Constant", "Op", "DomainError", "RangeError", "grad_computed", "no_grad", "detect_anomaly",
           "grad", "value_and_grad", "hessian", "jvp", "vjp", "jacobian", "hvp", "primitive", "gradcheck", "GradcheckError", "explain",
           "draw", "save_svg", "animate", "GraphvizMissing",
           "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos"]
# autodiff.compile is public too, but left out of __all__: `from autodiff import *` must not hide Python's compile
__version__ = "0.1.0"


def _warn_if_nn_is_shadowed() -> None:
    """autodiff's nn sits beside it; a learner's own nn.py (next to a notebook) would be imported instead: say so."""
    import importlib.util
    import os
    import sys
    import warnings
    ours = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nn")
    module = sys.modules.get("nn")
    spec = module.__spec__ if module is not None else importlib.util.find_spec("nn")
    found = os.path.abspath(getattr(spec, "origin", None) or "") if spec is not None else ""
    if found and os.path.isdir(ours) and not found.startswith(ours + os.sep):
        warnings.warn(f"the module nn that Python finds is {found}, not autodiff's nn ({ours}), so `from nn import "
                      f"MLP` would import that one; rename your own nn.py (or folder), or work in another folder",
                      stacklevel=3)


_warn_if_nn_is_shadowed()
