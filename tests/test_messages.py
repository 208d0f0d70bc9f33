"""Errors that say what to do: each names the function the user called, the value, and the way out."""
import pytest

import autodiff
import nn
from autodiff import Value, primitive


@primitive(lambda *xs: 1.0)
def total(*xs):
    return sum(xs)


def _mlp():
    return nn.MLP(2, [3, 1], seed=0)


MESSAGES = [
    ("grad argnums twice",    lambda: autodiff.grad(lambda x, y: x * y, argnums=(0, 0))(1.0, 2.0), ValueError,
     ["grad:", "twice"], ["value_and_grad"]),
    ("compare a Value",       lambda: Value(1.0) > 1,                                  TypeError, [">", ".data"], []),
    ("compare two Values",    lambda: Value(1.0) <= Value(2.0),                        TypeError, ["<=", ".data"], []),
    ("max of Values",         lambda: max(Value(1.0), Value(2.0)),                     TypeError, [".data"], []),
    ("variadic primitive",    lambda: total(Value(1.0), Value(2.0), 3.0),              TypeError,
     ["total", "3", "one derivative"], []),
    ("SGD of a model",        lambda: nn.SGD(_mlp(), lr=0.1),                          TypeError,
     ["SGD", "model.parameters()"], ["not iterable"]),
    ("Adam of a model",       lambda: nn.Adam(_mlp()),                                 TypeError,
     ["Adam", "model.parameters()"], ["not iterable"]),
    ("MLP wrong input size",  lambda: _mlp()([1.0, 2.0, 3.0]),                         ValueError,
     ["MLP", "2 input", "got 3"], ["Layer"]),
    ("hinge label 0",         lambda: nn.hinge_loss([Value(1.0)], [0]),                 ValueError,
     ["hinge_loss", "labels[0]", "0", "-1 or +1", "2 * y - 1"], ["label 0 is 0"]),
    ("compile param a Value", lambda: autodiff.compile(lambda p: p[0] * 2)(_mlp().parameters()[:1]), TypeError,
     ["param_values[0]", "layers.0.neurons.0.w.0", "p.data"], ["...."]),
]


@pytest.mark.parametrize("what, call, error, words, not_words", MESSAGES, ids=[m[0] for m in MESSAGES])
def test_errors_say_what_to_do(what, call, error, words, not_words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    for word in not_words:
        assert word not in message, (word, message)


def test_values_still_hash_by_identity_and_compare_equal_only_to_themselves():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and len({a, b}) == 2


@pytest.mark.parametrize("make", [lambda m: nn.SGD(m.parameters(), lr=0.1, momentum=0.9),
                                  lambda m: nn.Adam(m.parameters(), lr=0.01)], ids=["SGD", "Adam"])
def test_optimizers_have_a_repr(make):
    text = repr(make(_mlp()))
    assert text.startswith(("SGD(", "Adam(")) and "13 parameters" in text and "lr=" in text
