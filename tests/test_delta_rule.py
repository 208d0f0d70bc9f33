"""The notes' delta rule, computed by hand with floats, equals what backward() computes: several activations, depths."""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "demos"))
import delta_rule  # noqa: E402


@pytest.mark.parametrize("activation, output", [("tanh", "sigmoid"), ("sigmoid", "linear"), ("relu", "linear"),
                                                ("leaky_relu", "tanh"), ("linear", "relu")])
@pytest.mark.parametrize("sizes", [(2, [1]), (3, [4, 2]), (2, [5, 4, 3]), (4, [3, 3, 3, 3, 2])],
                         ids=["1-layer", "2-layers", "3-layers", "5-layers"])
def test_delta_rule_equals_backward(activation, output, sizes):
    model, xs, ys = delta_rule.example(seed=len(sizes[1]), activation=activation, output_activation=output,
                                       sizes=sizes, n=4)
    rows = delta_rule.compare(model, xs, ys)
    assert len(rows) == len(model.parameters())
    assert any(hand != 0.0 for _, hand, _ in rows)
    for name, hand, engine in rows:
        assert abs(hand - engine) <= 1e-12, (name, hand, engine)
    # the update of the notes, Delta w = -mu dC/dw, is what SGD does
    from nn import SGD
    new = delta_rule.gradient_descent_by_hand(model, {n: h for n, h, _ in rows}, 0.3)
    SGD(model.parameters(), lr=0.3).step()
    for name, p in model.named_parameters():
        assert abs(new[name] - p.data) <= 1e-12


def test_a_planted_slip_in_the_hidden_delta_is_caught(monkeypatch):
    model, xs, ys = delta_rule.example()
    wrong = {**delta_rule.PHI, "tanh": (delta_rule.PHI["tanh"][0], lambda n: 1.0)}  # forgets phi'(net_j)
    monkeypatch.setattr(delta_rule, "PHI", wrong)
    rows = delta_rule.compare(model, xs, ys)
    assert max(abs(h - e) for _, h, e in rows) > 1e-6


def test_the_demo_prints_the_side_by_side_table_and_passes(capsys):
    assert delta_rule.main() == 0
    out = capsys.readouterr().out
    assert "delta rule (by hand)" in out and "backward()" in out and "equal to 1e-12" in out
    assert out.count("layers.") >= 39


def test_backprop_md_points_at_the_right_lines():
    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "backprop.md").read_text()
    refs = re.findall(r"`((?:demos|nn|autodiff)/[\w/]+\.py):(\d+)`\s+`([^`]+)`", text)
    assert len(refs) >= 15
    for path, line, code in refs:
        lines = (root / path).read_text().splitlines()
        assert code.strip() in lines[int(line) - 1], (path, line, code, lines[int(line) - 1])


def test_backprop_md_stands_alone_with_one_index_convention_and_the_usual_slips():
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "backprop.md").read_text()
    convention = text.index("## One index convention")
    assert convention < text.index("## Forward pass") and convention < text.index("delta_j = ")
    assert "w^l_jk for the weight into neuron j of layer l from neuron k of layer l-1" in text
    for theirs in ("w_kj, w_ij", "w_jl", "w^(l)_j,i"):  # the conventions one meets, mapped
        assert f"| {theirs} |" in text
    assert "note" not in text.lower()  # it stands alone: every equation it discusses is stated in it
    for equation in ("net_j = sum_k w_jk o_k + b_j", "o_j = phi(net_j)", "C = 1/2 sum_j (o_j - y_j)^2",
                     "delta_j = (o_j - y_j) phi'(net_j)", "delta_j = phi'(net_j) sum_m w_mj delta_m",
                     "dE/dw_jk = delta_j o_k", "dE/db_j = delta_j", "Delta w = -mu dE/dw"):
        assert equation in text, equation
    assert ".venv/bin/python demos/delta_rule.py" in text
