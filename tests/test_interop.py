"""MLP <-> torch.nn.Sequential: same weights, same outputs, same gradients; and nn without torch."""
import subprocess
import sys

import pytest

from nn import MLP, mse_loss

torch = pytest.importorskip("torch", reason="torch is not installed: pip install -e '.[test]' installs torch==2.13.0")


@pytest.mark.parametrize("activation, output", [("relu", "linear"), ("tanh", "sigmoid"), ("sigmoid", "tanh"),
                                                ("leaky_relu", "relu"), ("linear", "leaky_relu")])
def test_to_torch_gives_the_same_outputs_and_gradients(activation, output):
    model = MLP(3, [5, 4, 2], activation=activation, output_activation=output, seed=3)
    seq = model.to_torch()
    assert isinstance(seq, torch.nn.Sequential)
    xs = [[0.5, -1.0, 0.25], [-0.3, 0.8, 1.5], [1.1, 0.2, -0.6]]
    targets = [0.3, -0.2]
    loss = mse_loss([o for x in xs for o in model(x)], targets * len(xs))
    model.zero_grad()
    loss.backward()
    out = seq(torch.tensor(xs, dtype=torch.float64))
    tloss = torch.nn.functional.mse_loss(out.reshape(-1), torch.tensor(targets * len(xs), dtype=torch.float64))
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-12)
    ours = [[o.data for o in model(x)] for x in xs]
    assert ours == [pytest.approx(row, rel=1e-12, abs=1e-15) for row in out.tolist()]
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model.layers, linears):
        for j, neuron in enumerate(layer.neurons):
            assert [w.grad for w in neuron.w] == pytest.approx(linear.weight.grad[j].tolist(), rel=1e-9, abs=1e-15)
            assert neuron.b.grad == pytest.approx(linear.bias.grad[j].item(), rel=1e-9, abs=1e-15)


def test_to_torch_in_float32_for_float32_inputs():
    model = MLP(2, [3, 1], seed=0)
    seq = model.to_torch(dtype=torch.float32)
    assert seq[0].weight.dtype == torch.float32
    out = seq(torch.tensor([0.5, -0.25])).item()  # PyTorch's default dtype in, no dtype error
    assert out == pytest.approx(model([0.5, -0.25])[0].data, rel=1e-5, abs=1e-6)


def test_from_torch_round_trip():
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    back = MLP.from_torch(model.to_torch())
    assert back.config() == model.config() and back.state_dict() == model.state_dict()
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))  # float32 weights
    mlp = MLP.from_torch(seq)
    assert mlp.config() == {"nin": 3, "nouts": [4, 2], "activation": "relu", "output_activation": "linear"}
    x = [0.1, -0.2, 0.3]
    assert [v.data for v in mlp(x)] == pytest.approx(seq(torch.tensor(x)).tolist(), rel=1e-6)


@pytest.mark.parametrize("seq, words", [
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.GELU()), ["module 1", "GELU"]),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(4, 1)), ["takes 4", "gives 3"]),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3), torch.nn.Tanh(),
                                 torch.nn.Linear(3, 1)), ["different activations"]),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False)), ["without bias"]),
    (lambda: torch.nn.Sequential(), ["no Linear"]),
    (lambda: torch.nn.Linear(2, 3), ["Sequential"]),
])
def test_from_torch_refuses_what_an_mlp_cannot_hold(seq, words):
    with pytest.raises(ValueError) as info:
        MLP.from_torch(seq())
    for w in words:
        assert w in str(info.value)


def test_nn_works_without_torch_and_says_what_to_install():
    code = """
import sys
sys.modules['torch'] = None  # as if torch were not installed
import nn
m = nn.MLP(2, [3, 1], seed=0)
nn.mse_loss(m([1.0, 2.0]), [0.5]).backward()
try:
    m.to_torch()
except ImportError as e:
    print('ImportError:', e)
try:
    nn.MLP.from_torch(None)
except ImportError as e:
    print('ImportError:', e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 2
    for line, what in zip(lines, ["MLP.to_torch()", "MLP.from_torch()"]):
        assert line.startswith("ImportError:") and what in line and "pip install" in line and "torch==2.13.0" in line


def test_a_one_layer_mlp_round_trips_through_torch_and_its_file(tmp_path):
    pytest.importorskip("torch")
    m = MLP(3, [2], activation="tanh", output_activation="sigmoid", seed=0)
    back = MLP.from_torch(m.to_torch())
    assert back.state_dict() == m.state_dict() and back([1.0, 2.0, 3.0])[0].data == m([1.0, 2.0, 3.0])[0].data
    back.save(tmp_path / "m.json")
    m.load(tmp_path / "m.json")  # the hidden activation of a model without hidden layers is not a difference
    other = MLP(3, [2, 2], activation="tanh", seed=0)
    MLP(3, [2, 2], activation="relu", seed=0).save(tmp_path / "two.json")
    with pytest.raises(ValueError, match="activation"):
        other.load(tmp_path / "two.json")  # with a hidden layer it is
