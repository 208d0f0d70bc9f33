"""nn modules: structure, names, initialisation, inputs, and gradients that come from the engine alone."""
import math
import random

import pytest

from autodiff import Value, gradcheck
from nn import MLP, Layer, Module, Neuron, hinge_loss, mse_loss

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
PHI = {"relu": lambda n: max(n, 0.0), "tanh": math.tanh, "sigmoid": lambda n: 1 / (1 + math.exp(-n)),
       "leaky_relu": lambda n: n if n > 0 else 0.01 * n, "linear": lambda n: n}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_neuron_computes_phi_of_the_weighted_sum(activation):
    n = Neuron(3, activation=activation, rng=random.Random(1))
    n.b.data = 0.25
    x = [0.5, -1.0, 2.0]
    net = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    out = n(x)
    assert isinstance(out, Value) and out.data == pytest.approx(PHI[activation](net), rel=1e-14, abs=1e-15)
    assert n([Value(v) for v in x]).data == out.data  # Values and floats alike


def test_layer_and_mlp_always_return_lists():
    assert isinstance(Layer(2, 1)([1.0, 2.0]), list) and len(Layer(2, 1)([1.0, 2.0])) == 1
    m = MLP(2, [3, 1], seed=0)
    out = m([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    assert len(MLP(2, [3, 4], seed=0)([1.0, 2.0])) == 4


def test_named_parameters_are_stable_dotted_names_in_a_fixed_order():
    m = MLP(2, [16, 16, 1], seed=0)
    names = [name for name, _ in m.named_parameters()]
    assert len(names) == len(set(names)) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b",
                         "layers.0.neurons.1.w.0"]
    assert "layers.0.neurons.3.w.1" in names and names[-1] == "layers.2.neurons.0.b"
    assert names == [name for name, _ in MLP(2, [16, 16, 1], seed=5).named_parameters()]
    params = dict(m.named_parameters())
    assert params["layers.1.neurons.3.w.1"] is m.layers[1].neurons[3].w[1]
    assert all(p.label == name for name, p in m.named_parameters())  # drawings show the names
    assert m.parameters() == [p for _, p in m.named_parameters()]
    assert [n for n, _ in Neuron(2).named_parameters()] == ["w.0", "w.1", "b"]
    assert [n for n, _ in Layer(1, 2).named_parameters()] == ["neurons.0.w.0", "neurons.0.b", "neurons.1.w.0",
                                                              "neurons.1.b"]


def test_user_modules_get_parameters_too_and_shared_ones_count_once():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.inner = Neuron(1, "linear", rng=random.Random(0))
            self.again = self.scale  # shared: listed once
            self._cache = Value(9.0)  # private: not a parameter

        def __call__(self, x):
            return self.inner(x) * self.scale

    a = Affine()
    assert [n for n, _ in a.named_parameters()] == ["scale", "inner.w.0", "inner.b"]
    a.zero_grad()
    a(1.5).backward()
    assert a.scale.grad == pytest.approx(a.inner(1.5).data)


def test_neuron_rng_may_be_a_generator_or_a_seed():
    a = Neuron(3, rng=random.Random(4)).state_dict()
    assert Neuron(3, rng=4).state_dict() == a


def test_same_seed_same_model_and_global_random_when_no_seed():
    assert MLP(3, [4, 2], seed=7).state_dict() == MLP(3, [4, 2], seed=7).state_dict()
    assert MLP(3, [4, 2], seed=7).state_dict() != MLP(3, [4, 2], seed=8).state_dict()
    random.seed(3)
    a = MLP(3, [4, 2]).state_dict()
    random.seed(3)
    assert MLP(3, [4, 2]).state_dict() == a


@pytest.mark.parametrize("activation, gain", [("relu", math.sqrt(2)), ("tanh", 1.0), ("linear", 1.0)])
def test_initialisation_is_small_scaled_and_unbiased(activation, gain):
    nin = 400
    layer = Layer(nin, 50, activation=activation, rng=random.Random(0))
    ws = [w.data for n in layer.neurons for w in n.w]
    bound = gain * math.sqrt(3 / nin)
    assert all(-bound <= w <= bound for w in ws)
    assert all(n.b.data == 0.0 for n in layer.neurons)
    var = sum(w * w for w in ws) / len(ws)
    assert var == pytest.approx(gain ** 2 / nin, rel=0.05)  # Var(w) = gain^2 / nin
    assert abs(sum(ws) / len(ws)) < 3 * math.sqrt(var / len(ws))


@pytest.mark.parametrize("make, words", [
    (lambda: Neuron(2, activation="softmax"), ["softmax", "'relu'", "'tanh'", "'sigmoid'", "'leaky_relu'", "'linear'"]),
    (lambda: MLP(2, [3], activation="gelu"), ["gelu", "'relu'"]),
    (lambda: MLP(2, [3], output_activation="nope"), ["nope", "'linear'"]),
    (lambda: Layer(2, 3, activation="Relu"), ["Relu"]),
    (lambda: Neuron(0), ["nin", "0"]),
    (lambda: MLP(2, []), ["nouts"]),
    (lambda: MLP(2, [3, 0]), ["layer size", "0"]),
])
def test_bad_construction_is_a_value_error(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("module, x, expected, got", [
    (Neuron(2), [1.0, 2.0, 3.0], 2, 3),
    (Layer(3, 2), [1.0], 3, 1),
    (MLP(2, [3, 1], seed=0), [1.0, 2.0, 3.0, 4.0], 2, 4),
])
def test_wrong_input_length_says_expected_and_got(module, x, expected, got):
    with pytest.raises(ValueError, match=f"expected {expected} input.*got {got}"):
        module(x)


def test_zero_grad_resets_every_parameter():
    m = MLP(2, [3, 1], seed=0)
    m([1.0, -1.0])[0].backward()
    assert any(p.grad != 0.0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


def test_repr_shows_the_architecture():
    assert repr(MLP(2, [16, 16, 1], seed=0)) == "MLP(2, [16, 16, 1], activation='relu', output_activation='linear')"
    assert repr(Layer(3, 2, "tanh")) == "Layer(3, 2, activation='tanh')"
    assert repr(Neuron(4, "sigmoid")) == "Neuron(4, activation='sigmoid')"


def _loss_of_parameters(model, xs, ys, loss):
    """f(*parameters) -> loss, by putting the given Values into the model for the call."""
    slots = [(n, "w", k) for layer in model.layers for n in layer.neurons for k in range(len(n.w))]

    def f(*ps):
        saved = [(n, list(n.w), n.b) for layer in model.layers for n in layer.neurons]
        it = iter(ps)
        for layer in model.layers:
            for n in layer.neurons:
                n.w = [next(it) for _ in n.w]
                n.b = next(it)
        try:
            return loss([model(x)[0] for x in xs], ys)
        finally:
            for n, w, b in saved:
                n.w, n.b = w, b

    assert len(slots) + sum(len(la.neurons) for la in model.layers) == len(model.parameters())
    return f


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_gradcheck_of_a_small_mlp_loss_with_respect_to_every_parameter(activation):
    model = MLP(2, [3, 1], activation=activation, seed=1)
    xs, ys = [[0.5, -0.3], [-1.2, 0.8], [0.1, 0.9]], [0.7, -0.2, 0.4]
    f = _loss_of_parameters(model, xs, ys, mse_loss)
    assert gradcheck(f, [p.data for p in model.parameters()])
    # and backward() on the model itself agrees with the function gradcheck just checked
    model.zero_grad()
    mse_loss([model(x)[0] for x in xs], ys).backward()
    from autodiff import grad
    by_grad = grad(f, argnums=tuple(range(len(model.parameters()))))(*[p.data for p in model.parameters()])
    assert [p.grad for p in model.parameters()] == pytest.approx(list(by_grad), rel=1e-12, abs=1e-15)


def test_a_short_seeded_training_run_lowers_the_loss():
    from nn import SGD
    rng = random.Random(0)
    xs = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(20)]
    ys = [1 if x[0] * x[1] > 0 else -1 for x in xs]
    model = MLP(2, [8, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(25):
        loss = hinge_loss([model(x)[0] for x in xs], ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < 0.6 * losses[0]
    again = MLP(2, [8, 1], seed=0)
    assert again.state_dict() != model.state_dict()  # it moved, and deterministically from the seed


def test_one_walk_of_a_model_names_swaps_and_lists_modules_including_tuples_and_shared_parts():
    from autodiff import Value
    from nn import Layer, Module

    class Twin(Module):
        def __init__(self):
            self.left = Neuron(2, "tanh", rng=1)
            self.right = self.left  # the same neuron twice: one set of parameters
            self.pair = (Neuron(1, "linear", rng=2), Value(0.5))  # held in a tuple (the Value cannot be swapped)
            self.loop = [self]  # a cycle must not hang the walk
            self._name_parameters()

        def __call__(self, x):
            return self.pair[0]([self.left(x) + self.right(x)]) * self.pair[1]

    m = Twin()
    assert [n for n, _ in m.named_parameters()] == ["left.w.0", "left.w.1", "left.b", "pair.0.w.0", "pair.0.b", "pair.1"]
    assert [n for n, _ in m.named_modules()] == ["", "left", "pair.0"]
    assert [n for n, _ in Layer(2, 2).named_modules()] == ["", "neurons.0", "neurons.1"]
    params = m.parameters()
    with pytest.raises(ValueError, match="tuple"):  # pair.1 cannot be swapped
        with m.using([Value(p.data) for p in params]):
            pass
    assert m.parameters() == params  # nothing half-swapped
    n = Neuron(2, "tanh", rng=1)
    holder = type("Holder", (Module,), {})()
    holder.a, holder.b = n, n
    new = [Value(0.5), Value(-0.5), Value(0.0)]
    with holder.using(new):
        assert holder.a.w[0] is new[0] and holder.b.w[0] is new[0]  # swapped in every place
    assert n.w[0] is not new[0]
