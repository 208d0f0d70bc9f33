"""micrograd compatibility: the attributes that micrograd's Value has and code written for it reads.

Karpathy's `draw_dot` and `trace` (micrograd's trace_graph.ipynb, the lecture notebooks) walk a graph through
`v._prev` and label it with `v._op`; the lectures call `v._backward()` node by node to show the chain rule. Every
Value has them here, read-only (they describe the graph; assigning one is an AttributeError):

  v._prev        the set of v's parents; a number in an expression is a parent too (a Constant: one shared leaf
                 per number, which receives no gradient, where micrograd makes a new Value with a grad each time)
  v._op          the symbol of the op that made v ('+', '*', 'tanh', 'relu', ...; micrograd spells relu 'ReLU',
                 and writes a - b as a + (-b)); '' for a leaf
  v._backward()  v's chain rule applied once: adds v.grad times each local derivative into its parents' .grad
                 (a Constant's is skipped)

`format(v, ".4f")` formats v.data, as micrograd users write f"{loss.data:.4f}"; autodiff.micrograd has micrograd's
package layout (engine.Value, nn.Neuron, nn.Layer, nn.MLP) on this engine.
"""

__all__ = ["prev", "op_symbol", "apply_chain_rule", "format_value", "refuse_round"]


def prev(v):
    """v._prev: the set of v's parents (numbers' Constants included), as micrograd keeps them."""
    return set(v.parents)


def op_symbol(v):
    """v._op: the symbol of the op that made v ('' for a leaf)."""
    return v.op


def apply_chain_rule(v):
    """v._backward(): v's chain rule applied once, into its parents' .grad (grad(parent) += grad(v) x local)."""
    from .engine import Constant
    if v.grad_fn is None:
        return
    for parent, contribution in v.chain_rule()(v.grad):
        if type(parent) is not Constant:
            parent.grad += contribution


def format_value(v, spec):
    """format(v, spec): v.data formatted by spec (f"{loss:.4f}"); with no spec, the repr (f"{v}")."""
    return format(v.data, spec) if spec else repr(v)


def refuse_round(v, ndigits=None):
    """round(v) is refused like float(v): round(v.data) is the number's."""
    from .errors import not_a_float
    raise not_a_float(v.data)
