"""autodiff: reverse-mode automatic differentiation on scalars, small enough to read in one sitting."""
from .engine import (Value, Parameter, Constant, Op, DomainError, RangeError, grad_computed, no_grad, primitive,
                     exp, log, sqrt, tanh, sigmoid, relu, leaky_relu, sin, cos)
from .functional import grad, value_and_grad, hessian
from .gradcheck import gradcheck, GradcheckError
from .draw import draw, save_svg, GraphvizMissing
from .animate import animate
from .compile import compile as compile  # public, but not in __all__: see below

__all__ = ["Value", "Parameter", "Constant", "Op", "DomainError", "RangeError", "grad_computed", "no_grad",
           "grad", "value_and_grad", "hessian", "primitive", "gradcheck", "GradcheckError",
           "draw", "save_svg", "animate", "GraphvizMissing",
           "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "sin", "cos"]
# autodiff.compile is public too, but left out of __all__: `from autodiff import *` must not hide Python's compile
__version__ = "0.1.0"
