"""The ops of the table, applied: written from engine.TABLE by `python autodiff/generate.py`; do not edit by hand.

For each op of the table, side by side:
  - the function that applies it: a Value's operator or method (x * y is mul(x, y)), with the op's forward written
    in; a two-input op also has its reflected form, for a number on the left (2 * x is rmul(x, 2));
  - its step of backward() on floats: each parent's .grad += g * d(out)/d(parent), g being the node's own grad;
  - the Op itself (engine.Op), which also holds the forward and the local derivatives as functions (on Values they
    give Values: higher-order derivatives) and the table's formulas as text (pictures, explain, compile).
A number on either side of an op becomes a shared Constant (engine.constant), a leaf that receives no gradient.
A result that is not a finite float is checked by the Op (an error naming the op if every operand was finite),
and so is a derivative (the `d - d` test: 0.0 for a finite float). Applying an op costs one call, and a node's
step in backward() one more (mul's and add's are written into engine.backward itself).
"""
import math

from . import grad_mode
from .engine import TABLE, Constant, Op, Value, constant, constants, slow_node, value
from .errors import real, refuse_modulo
from .floats import cos_, div_, exp_, log_, pow_, sigmoid_, sin_, sqrt_, tanh_, vpow_

__all__ = ["OPS"]

_new = object.__new__  # a Value without __init__'s checks: an op's output is a float already


# add (+) -----------------------------------------------------------------------------------------------------------
#   out = x + y
#   d(out)/dx = 1.0
#   d(out)/dy = 1.0

def add(self, other):
    """The op +: out = x + y; d(out)/dx = 1.0; d(out)/dy = 1.0.

    Value.__add__: x is self, y is other (a Value or a number).
    """
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "+")
        other = constants[y] if y in constants else constant(y)
    try:
        out = x + y
    except (ArithmeticError, ValueError, TypeError) as e:
        raise add_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = add_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, add_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, add_op, self, other
    return node


def radd(self, other):
    """The op + with a number on the left, as in 2 + v (Value.__radd__): add(the number's Constant, self).

    out = x + y; d(out)/dx = 1.0; d(out)/dy = 1.0: x is other (the number), y is self.
    """
    return add(other if isinstance(other, Value) else constant(real(other, "+")), self)


def add_backward(node, g):
    """+'s step of backward() on floats: grad(x) += g * 1.0; grad(y) += g * 1.0."""
    px, py = node._x, node._y
    if type(px) is not Constant:
        px.grad += g
    if type(py) is not Constant:
        py.grad += g


add_op = Op(*TABLE['add'], backward=add_backward,
            functions=(lambda x, y: x + y,
                        lambda x, y, out: 1.0,
                        lambda x, y, out: 1.0))


# sub (-) -----------------------------------------------------------------------------------------------------------
#   out = x - y
#   d(out)/dx = 1.0
#   d(out)/dy = -1.0

def sub(self, other):
    """The op -: out = x - y; d(out)/dx = 1.0; d(out)/dy = -1.0.

    Value.__sub__: x is self, y is other (a Value or a number).
    """
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "-")
        other = constants[y] if y in constants else constant(y)
    try:
        out = x - y
    except (ArithmeticError, ValueError, TypeError) as e:
        raise sub_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = sub_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, sub_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, sub_op, self, other
    return node


def rsub(self, other):
    """The op - with a number on the left, as in 2 - v (Value.__rsub__): sub(the number's Constant, self).

    out = x - y; d(out)/dx = 1.0; d(out)/dy = -1.0: x is other (the number), y is self.
    """
    return sub(other if isinstance(other, Value) else constant(real(other, "-")), self)


def sub_backward(node, g):
    """-'s step of backward() on floats: grad(x) += g * 1.0; grad(y) += g * -1.0."""
    px, py = node._x, node._y
    if type(px) is not Constant:
        px.grad += g
    if type(py) is not Constant:
        py.grad -= g


sub_op = Op(*TABLE['sub'], backward=sub_backward,
            functions=(lambda x, y: x - y,
                        lambda x, y, out: 1.0,
                        lambda x, y, out: -1.0))


# mul (*) -----------------------------------------------------------------------------------------------------------
#   out = x * y
#   d(out)/dx = y
#   d(out)/dy = x

def mul(self, other):
    """The op *: out = x * y; d(out)/dx = y; d(out)/dy = x.

    Value.__mul__: x is self, y is other (a Value or a number).
    """
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "*")
        other = constants[y] if y in constants else constant(y)
    try:
        out = x * y
    except (ArithmeticError, ValueError, TypeError) as e:
        raise mul_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = mul_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, mul_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, mul_op, self, other
    return node


def rmul(self, other):
    """The op * with a number on the left, as in 2 * v (Value.__rmul__): mul(the number's Constant, self).

    out = x * y; d(out)/dx = y; d(out)/dy = x: x is other (the number), y is self.
    """
    return mul(other if isinstance(other, Value) else constant(real(other, "*")), self)


def mul_backward(node, g):
    """*'s step of backward() on floats: grad(x) += g * y; grad(y) += g * x."""
    px, py = node._x, node._y
    x, y = px.data, py.data
    if type(px) is not Constant:
        px.grad += g * y
    if type(py) is not Constant:
        py.grad += g * x


mul_op = Op(*TABLE['mul'], backward=mul_backward,
            functions=(lambda x, y: x * y,
                        lambda x, y, out: y,
                        lambda x, y, out: x))


# div (/) -----------------------------------------------------------------------------------------------------------
#   out = div_(x, y)
#   d(out)/dx = 1 / y
#   d(out)/dy = -out / y

def div(self, other):
    """The op /: out = div_(x, y); d(out)/dx = 1 / y; d(out)/dy = -out / y.

    Value.__truediv__: x is self, y is other (a Value or a number).
    """
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "/")
        other = constants[y] if y in constants else constant(y)
    try:
        out = div_(x, y)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise div_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = div_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, div_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, div_op, self, other
    return node


def rdiv(self, other):
    """The op / with a number on the left, as in 2 / v (Value.__rtruediv__): div(the number's Constant, self).

    out = div_(x, y); d(out)/dx = 1 / y; d(out)/dy = -out / y: x is other (the number), y is self.
    """
    return div(other if isinstance(other, Value) else constant(real(other, "/")), self)


def div_backward(node, g):
    """/'s step of backward() on floats: grad(x) += g * (1 / y); grad(y) += g * (-out / y)."""
    px, py = node._x, node._y
    y, out = py.data, node.data
    if type(px) is not Constant:
        try:
            d = 1 / y
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = div_op.non_finite(node, 0)
        px.grad += g * d
    if type(py) is not Constant:
        try:
            d = -out / y
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = div_op.non_finite(node, 1)
        py.grad += g * d


div_op = Op(*TABLE['div'], backward=div_backward,
            functions=(lambda x, y: div_(x, y),
                        lambda x, y, out: 1 / y,
                        lambda x, y, out: -out / y))


# power (**) --------------------------------------------------------------------------------------------------------
#   out = pow_(x, y)
#   d(out)/dx = y * x ** (y - 1) if value(y) else 0.0
#   d(out)/dy = out * log(x) if value(x) else 0.0

def power(self, other, modulo=None):
    """The op **: out = pow_(x, y); d(out)/dx = y * x ** (y - 1) if value(y) else 0.0; d(out)/dy = out * log(x) if value(x) else 0.0.

    Value.__pow__, when the exponent is a number or a Constant: x is self, y is other (a Value or a number).
    """
    if modulo is not None:
        raise refuse_modulo(self, other, modulo)
    if isinstance(other, Value) and type(other) is not Constant:
        return vpower(self, other)  # a Value exponent: the op that also differentiates by the exponent
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "**")
        other = constants[y] if y in constants else constant(y)
    try:
        out = pow_(x, y)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise power_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = power_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, power_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, power_op, self, other
    return node


def power_backward(node, g):
    """**'s step of backward() on floats: grad(x) += g * (y * x ** (y - 1) if y else 0.0); grad(y) += g * (out * log(x) if x else 0.0)."""
    px, py = node._x, node._y
    x, y, out = px.data, py.data, node.data
    if type(px) is not Constant:
        try:
            d = y * x ** (y - 1) if y else 0.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = power_op.non_finite(node, 0)
        px.grad += g * d
    if type(py) is not Constant:
        try:
            d = out * log(x) if x else 0.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = power_op.non_finite(node, 1)
        py.grad += g * d


power_op = Op(*TABLE['power'], backward=power_backward,
              functions=(lambda x, y: pow_(x, y),
                          lambda x, y, out: y * x ** (y - 1) if value(y) else 0.0,
                          lambda x, y, out: out * log(x) if value(x) else 0.0))


# vpower (**) -------------------------------------------------------------------------------------------------------
#   out = vpow_(x, y)
#   d(out)/dx = y * x ** (y - 1) if value(y) else 0.0
#   d(out)/dy = out * log(x) if value(x) else 0.0

def vpower(self, other):
    """The op **: out = vpow_(x, y); d(out)/dx = y * x ** (y - 1) if value(y) else 0.0; d(out)/dy = out * log(x) if value(x) else 0.0.

    Value.__pow__, when the exponent is a Value: x is self, y is other (a Value or a number).
    """
    x = self.data
    if isinstance(other, Value):
        y = other.data
    else:  # a number: the shared Constant of its float
        y = other if type(other) is float else real(other, "**")
        other = constants[y] if y in constants else constant(y)
    try:
        out = vpow_(x, y)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise vpower_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = vpower_op.result(out, (x, y))
    if grad_mode.paused:
        return slow_node(out, vpower_op, self, other)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, vpower_op, self, other
    return node


def rvpower(self, other):
    """The op ** with a number on the left, as in 2 ** v (Value.__rpow__): vpower(the number's Constant, self).

    out = vpow_(x, y); d(out)/dx = y * x ** (y - 1) if value(y) else 0.0; d(out)/dy = out * log(x) if value(x) else 0.0: x is other (the number), y is self.
    """
    return vpower(other if isinstance(other, Value) else constant(real(other, "**")), self)


def vpower_backward(node, g):
    """**'s step of backward() on floats: grad(x) += g * (y * x ** (y - 1) if y else 0.0); grad(y) += g * (out * log(x) if x else 0.0)."""
    px, py = node._x, node._y
    x, y, out = px.data, py.data, node.data
    if type(px) is not Constant:
        try:
            d = y * x ** (y - 1) if y else 0.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = vpower_op.non_finite(node, 0)
        px.grad += g * d
    if type(py) is not Constant:
        try:
            d = out * log(x) if x else 0.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = vpower_op.non_finite(node, 1)
        py.grad += g * d


vpower_op = Op(*TABLE['vpower'], backward=vpower_backward,
               functions=(lambda x, y: vpow_(x, y),
                           lambda x, y, out: y * x ** (y - 1) if value(y) else 0.0,
                           lambda x, y, out: out * log(x) if value(x) else 0.0))


# leaky (leaky_relu) ------------------------------------------------------------------------------------------------
#   out = x if x > 0 else y * x
#   d(out)/dx = 1.0 if value(x) > 0 else y
#   d(out)/dy = 0.0 if value(x) > 0 else x

def leaky_relu(self, slope=0.01):
    """The op leaky_relu: out = x if x > 0 else y * x; d(out)/dx = 1.0 if value(x) > 0 else y; d(out)/dy = 0.0 if value(x) > 0 else x.

    Value.leaky_relu, and autodiff.leaky_relu: x is self, y is the slope; either may be a Value or a number (numbers only: a float).
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "leaky_relu")
    y = slope.data if isinstance(slope, Value) else slope if type(slope) is float else real(slope, "leaky_relu")
    try:
        out = x if x > 0 else y * x
    except (ArithmeticError, ValueError, TypeError) as e:
        raise leaky_op.forward_error(e, (x, y)) from None
    if type(out) is not float or out - out:
        out = leaky_op.result(out, (x, y))
    if not isinstance(self, Value):
        if not isinstance(slope, Value):
            return out
        self = constant(x)
    if not isinstance(slope, Value):
        slope = constant(y)  # the slope is an input like any other: a Constant unless it is a Value
    if grad_mode.paused:
        return slow_node(out, leaky_op, self, slope)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, leaky_op, self, slope
    return node


def leaky_backward(node, g):
    """leaky_relu's step of backward() on floats: grad(x) += g * (1.0 if x > 0 else y); grad(y) += g * (0.0 if x > 0 else x)."""
    px, py = node._x, node._y
    x, y = px.data, py.data
    if type(px) is not Constant:
        try:
            d = 1.0 if x > 0 else y
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = leaky_op.non_finite(node, 0)
        px.grad += g * d
    if type(py) is not Constant:
        try:
            d = 0.0 if x > 0 else x
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = leaky_op.non_finite(node, 1)
        py.grad += g * d


leaky_op = Op(*TABLE['leaky'], backward=leaky_backward,
              functions=(lambda x, y: x if x > 0 else y * x,
                          lambda x, y, out: slope(x, y),
                          lambda x, y, out: below(x, x)))


# neg (neg) ---------------------------------------------------------------------------------------------------------
#   out = -x
#   d(out)/dx = -1.0

def neg(self):
    """The op neg: out = -x; d(out)/dx = -1.0.

    Value.__neg__; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "neg")
    try:
        out = -x
    except (ArithmeticError, ValueError, TypeError) as e:
        raise neg_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = neg_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, neg_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, neg_op, self
    return node


def neg_backward(node, g):
    """neg's step of backward() on floats: grad(x) += g * -1.0."""
    px = node._x
    if type(px) is not Constant:
        px.grad -= g


neg_op = Op(*TABLE['neg'], backward=neg_backward,
            functions=(lambda x: -x,
                        lambda x, out: -1.0))


# absolute (abs) ----------------------------------------------------------------------------------------------------
#   out = abs(x)
#   d(out)/dx = 1.0 if value(x) > 0 else -1.0 if value(x) < 0 else 0.0

def absolute(self):
    """The op abs: out = abs(x); d(out)/dx = 1.0 if value(x) > 0 else -1.0 if value(x) < 0 else 0.0.

    Value.__abs__; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "abs")
    try:
        out = abs(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise absolute_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = absolute_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, absolute_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, absolute_op, self
    return node


def absolute_backward(node, g):
    """abs's step of backward() on floats: grad(x) += g * (1.0 if x > 0 else -1.0 if x < 0 else 0.0)."""
    px = node._x
    x = px.data
    if type(px) is not Constant:
        try:
            d = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = absolute_op.non_finite(node, 0)
        px.grad += g * d


absolute_op = Op(*TABLE['absolute'], backward=absolute_backward,
                 functions=(lambda x: abs(x),
                             lambda x, out: sign(x)))


# exp (exp) ---------------------------------------------------------------------------------------------------------
#   out = exp_(x)
#   d(out)/dx = out

def exp(self):
    """The op exp: out = exp_(x); d(out)/dx = out.

    Value.exp, and autodiff.exp; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "exp")
    try:
        out = exp_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise exp_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = exp_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, exp_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, exp_op, self
    return node


def exp_backward(node, g):
    """exp's step of backward() on floats: grad(x) += g * out."""
    px = node._x
    out = node.data
    if type(px) is not Constant:
        px.grad += g * out


exp_op = Op(*TABLE['exp'], backward=exp_backward,
            functions=(lambda x: exp_(x),
                        lambda x, out: out))


# log (log) ---------------------------------------------------------------------------------------------------------
#   out = log_(x)
#   d(out)/dx = 1 / x

def log(self):
    """The op log: out = log_(x); d(out)/dx = 1 / x.

    Value.log, and autodiff.log; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "log")
    try:
        out = log_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise log_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = log_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, log_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, log_op, self
    return node


def log_backward(node, g):
    """log's step of backward() on floats: grad(x) += g * (1 / x)."""
    px = node._x
    x = px.data
    if type(px) is not Constant:
        try:
            d = 1 / x
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = log_op.non_finite(node, 0)
        px.grad += g * d


log_op = Op(*TABLE['log'], backward=log_backward,
            functions=(lambda x: log_(x),
                        lambda x, out: 1 / x))


# sqrt (sqrt) -------------------------------------------------------------------------------------------------------
#   out = sqrt_(x)
#   d(out)/dx = 0.5 / out

def sqrt(self):
    """The op sqrt: out = sqrt_(x); d(out)/dx = 0.5 / out.

    Value.sqrt, and autodiff.sqrt; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "sqrt")
    try:
        out = sqrt_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise sqrt_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = sqrt_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, sqrt_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, sqrt_op, self
    return node


def sqrt_backward(node, g):
    """sqrt's step of backward() on floats: grad(x) += g * (0.5 / out)."""
    px = node._x
    out = node.data
    if type(px) is not Constant:
        try:
            d = 0.5 / out
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = sqrt_op.non_finite(node, 0)
        px.grad += g * d


sqrt_op = Op(*TABLE['sqrt'], backward=sqrt_backward,
             functions=(lambda x: sqrt_(x),
                         lambda x, out: 0.5 / out))


# tanh (tanh) -------------------------------------------------------------------------------------------------------
#   out = tanh_(x)
#   d(out)/dx = 1 - out ** 2

def tanh(self):
    """The op tanh: out = tanh_(x); d(out)/dx = 1 - out ** 2.

    Value.tanh, and autodiff.tanh; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "tanh")
    try:
        out = tanh_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise tanh_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = tanh_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, tanh_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, tanh_op, self
    return node


def tanh_backward(node, g):
    """tanh's step of backward() on floats: grad(x) += g * (1 - out ** 2)."""
    px = node._x
    out = node.data
    if type(px) is not Constant:
        try:
            d = 1 - out ** 2
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = tanh_op.non_finite(node, 0)
        px.grad += g * d


tanh_op = Op(*TABLE['tanh'], backward=tanh_backward,
             functions=(lambda x: tanh_(x),
                         lambda x, out: 1 - out ** 2))


# sigmoid (sigmoid) -------------------------------------------------------------------------------------------------
#   out = sigmoid_(x)
#   d(out)/dx = out * (1 - out)

def sigmoid(self):
    """The op sigmoid: out = sigmoid_(x); d(out)/dx = out * (1 - out).

    Value.sigmoid, and autodiff.sigmoid; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "sigmoid")
    try:
        out = sigmoid_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise sigmoid_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = sigmoid_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, sigmoid_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, sigmoid_op, self
    return node


def sigmoid_backward(node, g):
    """sigmoid's step of backward() on floats: grad(x) += g * (out * (1 - out))."""
    px = node._x
    out = node.data
    if type(px) is not Constant:
        try:
            d = out * (1 - out)
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = sigmoid_op.non_finite(node, 0)
        px.grad += g * d


sigmoid_op = Op(*TABLE['sigmoid'], backward=sigmoid_backward,
                functions=(lambda x: sigmoid_(x),
                            lambda x, out: out * (1 - out)))


# relu (relu) -------------------------------------------------------------------------------------------------------
#   out = 0.0 if x <= 0 else x
#   d(out)/dx = 0.0 if value(x) <= 0 else 1.0

def relu(self):
    """The op relu: out = 0.0 if x <= 0 else x; d(out)/dx = 0.0 if value(x) <= 0 else 1.0.

    Value.relu, and autodiff.relu; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "relu")
    try:
        out = 0.0 if x <= 0 else x
    except (ArithmeticError, ValueError, TypeError) as e:
        raise relu_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = relu_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, relu_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, relu_op, self
    return node


def relu_backward(node, g):
    """relu's step of backward() on floats: grad(x) += g * (0.0 if x <= 0 else 1.0)."""
    px = node._x
    x = px.data
    if type(px) is not Constant:
        try:
            d = 0.0 if x <= 0 else 1.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = relu_op.non_finite(node, 0)
        px.grad += g * d


relu_op = Op(*TABLE['relu'], backward=relu_backward,
             functions=(lambda x: 0.0 if x <= 0 else x,
                         lambda x, out: step(x)))


# sin (sin) ---------------------------------------------------------------------------------------------------------
#   out = sin_(x)
#   d(out)/dx = cos(x)

def sin(self):
    """The op sin: out = sin_(x); d(out)/dx = cos(x).

    Value.sin, and autodiff.sin; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "sin")
    try:
        out = sin_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise sin_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = sin_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, sin_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, sin_op, self
    return node


def sin_backward(node, g):
    """sin's step of backward() on floats: grad(x) += g * cos(x)."""
    px = node._x
    x = px.data
    if type(px) is not Constant:
        try:
            d = cos(x)
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = sin_op.non_finite(node, 0)
        px.grad += g * d


sin_op = Op(*TABLE['sin'], backward=sin_backward,
            functions=(lambda x: sin_(x),
                        lambda x, out: cos(x)))


# cos (cos) ---------------------------------------------------------------------------------------------------------
#   out = cos_(x)
#   d(out)/dx = -sin(x)

def cos(self):
    """The op cos: out = cos_(x); d(out)/dx = -sin(x).

    Value.cos, and autodiff.cos; given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "cos")
    try:
        out = cos_(x)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise cos_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = cos_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, cos_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, cos_op, self
    return node


def cos_backward(node, g):
    """cos's step of backward() on floats: grad(x) += g * -sin(x)."""
    px = node._x
    x = px.data
    if type(px) is not Constant:
        try:
            d = -sin(x)
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = cos_op.non_finite(node, 0)
        px.grad += g * d


cos_op = Op(*TABLE['cos'], backward=cos_backward,
            functions=(lambda x: cos_(x),
                        lambda x, out: -sin(x)))


# step (step) -------------------------------------------------------------------------------------------------------
#   out = 0.0 if x <= 0 else 1.0
#   d(out)/dx = 0.0

def step(self):
    """The op step: out = 0.0 if x <= 0 else 1.0; d(out)/dx = 0.0.

    What relu's d/dx is at higher orders (a function of autodiff.ops, not a Value method); given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "step")
    try:
        out = 0.0 if x <= 0 else 1.0
    except (ArithmeticError, ValueError, TypeError) as e:
        raise step_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = step_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, step_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, step_op, self
    return node


def step_backward(node, g):
    """step's step of backward() on floats: grad(x) += g * 0.0."""
    px = node._x
    if type(px) is not Constant:
        px.grad += g * 0.0


step_op = Op(*TABLE['step'], backward=step_backward,
             functions=(lambda x: 0.0 if x <= 0 else 1.0,
                         lambda x, out: 0.0))


# sign (sign) -------------------------------------------------------------------------------------------------------
#   out = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
#   d(out)/dx = 0.0

def sign(self):
    """The op sign: out = 1.0 if x > 0 else -1.0 if x < 0 else 0.0; d(out)/dx = 0.0.

    What abs's d/dx is at higher orders (a function of autodiff.ops, not a Value method); given a number, it gives a float.
    """
    x = self.data if isinstance(self, Value) else self if type(self) is float else real(self, "sign")
    try:
        out = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
    except (ArithmeticError, ValueError, TypeError) as e:
        raise sign_op.forward_error(e, (x,)) from None
    if type(out) is not float or out - out:  # not a finite float (out - out is 0.0 for one): let the Op check it
        out = sign_op.result(out, (x,))
    if not isinstance(self, Value):
        return out  # a number in, a number out
    if grad_mode.paused:  # a no_grad block or a compile trace is open, in some thread
        return slow_node(out, sign_op, self)
    node = _new(Value)
    node.data, node.grad_fn, node._x = out, sign_op, self
    return node


def sign_backward(node, g):
    """sign's step of backward() on floats: grad(x) += g * 0.0."""
    px = node._x
    if type(px) is not Constant:
        px.grad += g * 0.0


sign_op = Op(*TABLE['sign'], backward=sign_backward,
             functions=(lambda x: 1.0 if x > 0 else -1.0 if x < 0 else 0.0,
                         lambda x, out: 0.0))


# slope (slope) -----------------------------------------------------------------------------------------------------
#   out = 1.0 if x > 0 else y
#   d(out)/dx = 0.0
#   d(out)/dy = 0.0 if value(x) > 0 else 1.0

def slope(x, y):
    """The op slope: out = 1.0 if x > 0 else y; d(out)/dx = 0.0; d(out)/dy = 0.0 if value(x) > 0 else 1.0.

    What leaky_relu's d/dx is at higher orders (a function of autodiff.ops, not a Value method); x and y may be Values or numbers (numbers only: a float).
    """
    a = x.data if isinstance(x, Value) else x if type(x) is float else real(x, "slope")
    b = y.data if isinstance(y, Value) else y if type(y) is float else real(y, "slope")
    out = 1.0 if a > 0 else b
    if not isinstance(x, Value) and not isinstance(y, Value):
        return out
    x = x if isinstance(x, Value) else constant(a)
    y = y if isinstance(y, Value) else constant(b)
    if grad_mode.paused:
        return slow_node(out, slope_op, x, y)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, slope_op, x, y
    return node


def slope_backward(node, g):
    """slope's step of backward() on floats: grad(x) += g * 0.0; grad(y) += g * (0.0 if x > 0 else 1.0)."""
    px, py = node._x, node._y
    x = px.data
    if type(px) is not Constant:
        px.grad += g * 0.0
    if type(py) is not Constant:
        try:
            d = 0.0 if x > 0 else 1.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = slope_op.non_finite(node, 1)
        py.grad += g * d


slope_op = Op(*TABLE['slope'], backward=slope_backward,
              functions=(lambda x, y: 1.0 if x > 0 else y,
                          lambda x, y, out: 0.0,
                          lambda x, y, out: below(x, 1.0)))


# below (below) -----------------------------------------------------------------------------------------------------
#   out = 0.0 if x > 0 else y
#   d(out)/dx = 0.0
#   d(out)/dy = 0.0 if value(x) > 0 else 1.0

def below(x, y):
    """The op below: out = 0.0 if x > 0 else y; d(out)/dx = 0.0; d(out)/dy = 0.0 if value(x) > 0 else 1.0.

    What leaky_relu's d/dy is (below(x, x)), and slope's and below's d/dy (below(x, 1.0)) at higher orders (a function of autodiff.ops, not a Value method); x and y may be Values or numbers (numbers only: a float).
    """
    a = x.data if isinstance(x, Value) else x if type(x) is float else real(x, "below")
    b = y.data if isinstance(y, Value) else y if type(y) is float else real(y, "below")
    out = 0.0 if a > 0 else b
    if not isinstance(x, Value) and not isinstance(y, Value):
        return out
    x = x if isinstance(x, Value) else constant(a)
    y = y if isinstance(y, Value) else constant(b)
    if grad_mode.paused:
        return slow_node(out, below_op, x, y)
    node = _new(Value)
    node.data, node.grad_fn, node._x, node._y = out, below_op, x, y
    return node


def below_backward(node, g):
    """below's step of backward() on floats: grad(x) += g * 0.0; grad(y) += g * (0.0 if x > 0 else 1.0)."""
    px, py = node._x, node._y
    x = px.data
    if type(px) is not Constant:
        px.grad += g * 0.0
    if type(py) is not Constant:
        try:
            d = 0.0 if x > 0 else 1.0
        except (ArithmeticError, ValueError):
            d = math.nan
        if d - d:  # not finite: an error naming the op, unless an operand is not finite
            d = below_op.non_finite(node, 1)
        py.grad += g * d


below_op = Op(*TABLE['below'], backward=below_backward,
              functions=(lambda x, y: 0.0 if x > 0 else y,
                          lambda x, y, out: 0.0,
                          lambda x, y, out: below(x, 1.0)))


# Every op, in the table's order; each pickles by its name here, as a function does.
OPS = [add_op, sub_op, mul_op, div_op, power_op, vpower_op, leaky_op, neg_op, absolute_op, exp_op, log_op, sqrt_op, tanh_op, sigmoid_op, relu_op, sin_op, cos_op, step_op, sign_op, slope_op, below_op]
for _key, _op in zip(TABLE, OPS):
    _op.__module__, _op.__qualname__ = __name__, _key + "_op"
