"""The demos run and say what they should (the README's first command runs one of them)."""
import html
import re
import runpy
import sys
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parent.parent / "demos"


def test_basics_demo_runs_and_its_numbers_agree_with_the_hand_derivations(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["basics.py"])
    runpy.run_path(str(DEMOS / "basics.py"), run_name="__main__")
    out = capsys.readouterr().out
    for line in out.splitlines():
        if "(by hand:" in line:  # every "x = A (by hand: ... = B)" line has A == B
            ours = re.findall(r"(-?[\d.]+)\s+\(by hand", line)[0]
            theirs = re.findall(r"(-?[\d.]+)\)$", line)[0]
            assert float(ours) == float(theirs), line
    assert "da = 2.0" in out
    assert "f' = 12.0,  f'' = 12.0,  f''' = 6.0" in out
    assert "((802.0, -400.0), (-400.0, 200.0))" in out
    assert "-> True" in out and "parents ()" in out


# ----- the moons demo ----------------------------------------------------------------------------------------------

sys.path.insert(0, str(DEMOS))
import moons  # noqa: E402


def test_make_moons_is_seeded_balanced_and_labelled_plus_minus_one():
    X, y = moons.make_moons(100, 0.1, seed=3)
    assert (X, y) == moons.make_moons(100, 0.1, seed=3)
    assert X != moons.make_moons(100, 0.1, seed=4)[0]
    assert len(X) == len(y) == 100 and sorted(set(y)) == [-1, 1] and y.count(1) == 50
    upper = [p for p, t in zip(X, y) if t == -1]
    lower = [p for p, t in zip(X, y) if t == 1]
    assert sum(p[1] for p in upper) / 50 > 0.4 > sum(p[1] for p in lower) / 50  # the upper moon is above


def test_demo_writes_its_pictures_and_model_and_shows_progress(tmp_path, capsys):
    from xml.etree import ElementTree

    from nn import MLP

    history = moons.main(["--steps", "3", "--out", str(tmp_path / "out"), "--seed", "1"])
    captured = capsys.readouterr()
    assert len(history) == 3
    out = tmp_path / "out"
    png, svg, model = out / "decision_boundary.png", out / "decision_boundary.svg", out / "model.json"
    neuron, page = out / "neuron.svg", out / "backprop.html"
    assert ElementTree.parse(neuron).getroot().tag.endswith("svg")
    text = neuron.read_text()
    assert re.search(r"layers\.0\.neurons\.\d+\.w\.0", text) and "x1" in text
    grads = re.findall(r">grad ([^<]*)<", text)
    assert len(grads) >= 7 and all(float(html.unescape(g)) != 0 for g in grads), grads  # gradients flowing
    assert "share of d(loss)/d(value) along this neuron" in captured.out and "steps through the same backward " \
        "pass, with the same numbers" in captured.out
    page_text = html.unescape(page.read_text()).replace("\u00a0", "")
    for g in grads:  # the page shows the SVG's numbers: the same graph, seeded the same
        assert f">grad {html.unescape(g)}<" in page_text, g
    assert "Content-Security-Policy" in page.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert ElementTree.parse(svg).getroot().tag.endswith("svg")
    assert MLP.from_file(model).config()["nouts"] == [16, 16, 1]
    for path in (png, svg, model, neuron, page):
        assert str(path) in captured.out
    assert "training" in captured.err and "accuracy=" in captured.err  # the progress bar


def test_demo_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        moons.parse_args(["--help"])
    text = capsys.readouterr().out
    for flag in ["--steps", "--seed", "--samples", "--noise", "--lr", "--out", "--eager", "--no-progress"]:
        assert flag in text
    with pytest.raises(SystemExit):
        moons.parse_args(["--steps", "0"])


@pytest.mark.slow
def test_demo_setup_reaches_full_training_accuracy():
    X, y = moons.make_moons(100, 0.1, seed=0)
    model = moons.MLP(2, [16, 16, 1], seed=0)
    history = moons.train(model, X, y, steps=100)
    assert history[-1][1] == 1.0
    assert moons.loss_and_accuracy(model, X, y)[1] == 1.0
    assert history[-1][0] < 0.1 * history[0][0]


# ----- the notebook tour -------------------------------------------------------------------------------------------

def test_tour_notebook_runs_headless_and_is_committed_with_outputs(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e '.[test]'")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e '.[test]'")
    path = DEMOS / "tour.ipynb"
    committed = nbformat.read(path, as_version=4)
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert code and all(c.outputs for c in code)  # it reads well on a code host
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]  # nor a warning
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 2  # the two draw() cells
    assert (tmp_path / "out" / "tour_backprop.html").exists()
    texts = "".join(o.get("text", "") for o in outputs)
    assert "worst first" in texts and "(root)" in texts and "dz/dx = (dz/d(x * y))" in texts
    pages = [o["data"]["text/html"] for o in outputs if "srcdoc=" in o.get("data", {}).get("text/html", "")]
    assert len(pages) == 1 and "Content-Security-Policy" in html.unescape(pages[0])  # the live page, inline:
    assert ' src="' not in pages[0]  # no file for a notebook's host to serve
    fresh = [c for c in nb.cells if c.cell_type == "code"]
    assert len(fresh) == len(code)
    for old, new in zip(code, fresh):  # the committed outputs are what the code prints now
        assert [_comparable(o) for o in old.outputs] == [_comparable(o) for o in new.outputs], old.source


def _comparable(output):
    """An output as a reader sees it: its text, or for an SVG the texts it shows (Graphviz may lay out bytes
    differently from one version to the next); object addresses (at 0x7f...) differ between runs."""
    def text(t):
        return re.sub(r" at 0x[0-9a-f]+", " at 0x...", "".join(t))
    data = output.get("data", {})
    shown = {k: text(v) for k, v in data.items() if k != "image/svg+xml"}
    if "image/svg+xml" in data:
        shown["svg texts"] = re.findall(r"<text[^>]*>([^<]*)</text>", "".join(data["image/svg+xml"]))
    return output.output_type, output.get("name"), text(output.get("text", "")), shown


def test_demo_compiled_and_eager_training_agree():
    X, y = moons.make_moons(40, 0.1, seed=2)
    a, b = moons.MLP(2, [16, 16, 1], seed=2), moons.MLP(2, [16, 16, 1], seed=2)
    assert moons.train(a, X, y, steps=3, compiled=True) == moons.train(b, X, y, steps=3, compiled=False)
    assert a.state_dict() == b.state_dict()


@pytest.mark.parametrize("demo", ["basics.py", "delta_rule.py", "moons.py", "benchmark.py", "batched.py",
                                  "forward_vs_reverse.py"])
def test_every_demo_answers_help_and_its_docstring_gives_the_venv_command(demo):
    import subprocess
    out = subprocess.run([sys.executable, str(DEMOS / demo), "--help"], capture_output=True, text=True, timeout=60,
                         cwd=DEMOS.parent)
    assert out.returncode == 0 and out.stdout.startswith("usage:"), (out.stdout[:200], out.stderr[-500:])
    doc = (DEMOS / demo).read_text().split('"""')[1]
    assert ".venv/bin/python" in doc and "  python demos" not in doc


def test_forward_vs_reverse_counts_one_pass_per_output_in_reverse_and_one_per_input_forward(capsys):
    import forward_vs_reverse
    (_, wide, diff_wide), (_, tall, diff_tall) = forward_vs_reverse.main(["--n", "12"])
    assert wide["rev"][1] == 1 and wide["fwd"][1] == 12  # 12 inputs, 1 output
    assert tall["rev"][1] == 12 and tall["fwd"][1] == 1  # 1 input, 12 outputs
    assert diff_wide < 1e-12 and diff_tall < 1e-12
    f, _, xs = forward_vs_reverse.many_inputs_one_output(12)
    assert wide["rev"][0] == [list(forward_vs_reverse.jacobian(f, argnums=tuple(range(12)))(*xs))]
    out = capsys.readouterr().out
    assert "passes" in out and "pick the mode with fewer passes" in out


def test_demo_batched_training_agrees_with_compiled():
    pytest.importorskip("numpy", reason="numpy is not installed: pip install -e '.[test]'")
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed: pip install -e '.[test]'")
    assert moons.batched_available()
    X, y = moons.make_moons(40, 0.1, seed=2)
    a, b = moons.MLP(2, [16, 16, 1], seed=2), moons.MLP(2, [16, 16, 1], seed=2)
    ha = moons.train(a, X, y, steps=5, compiled=True)
    hb = moons.train(b, X, y, steps=5, batched=True)
    for (la, acc_a), (lb, acc_b) in zip(ha, hb):
        assert lb == pytest.approx(la, rel=1e-11) and acc_a == acc_b
    for p, q in zip(a.parameters(), b.parameters()):
        assert q.data == pytest.approx(p.data, rel=1e-10, abs=1e-14)


def test_batched_demo_trains_and_times_the_three_ways(capsys):
    pytest.importorskip("numpy", reason="numpy is not installed: pip install -e '.[test]'")
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed: pip install -e '.[test]'")
    import batched
    rows, right = batched.main(["--points", "400", "--steps", "60", "--reference-points", "40"])
    assert [name.split()[0] for name, _, _ in rows] == ["eager", "compiled", "batched"]
    assert all(seconds > 0 for _, seconds, _ in rows) and right > 0.85
    out = capsys.readouterr().out
    assert "400 points" in out and "speed-up" in out and "timed on 40 points" in out


def test_the_numbers_the_demo_states_about_its_neuron_are_true(tmp_path):
    from autodiff import Value
    from nn import MLP, hinge_loss
    X, y = moons.make_moons(40, 0.1, 3)
    model = MLP(2, [16, 16, 1], seed=3)
    k, j, g = moons.most_telling_neuron(model, X, y)
    _, what, stated = moons.draw_one_neuron(model, X, y, tmp_path)
    assert stated["g"] == g
    xs = [Value(v) for v in X[k]]
    loss = hinge_loss([model(xs)[0]], [y[k]])
    loss.backward()
    neuron = model.layers[0].neurons[j]
    assert stated["weights"] == pytest.approx([w.grad for w in neuron.w], rel=1e-12)  # whole gradients
    assert stated["whole inputs"] == [x.grad for x in xs]
    shares = []  # x's share along this neuron: d loss/d out_j * d out_j/d x
    out = neuron([Value(v) for v in X[k]])
    for i in range(2):
        xs2 = [Value(v) for v in X[k]]
        neuron(xs2).backward()
        shares.append(g * xs2[i].grad)
    assert stated["inputs"] == pytest.approx(shares, rel=1e-12)
    assert f"{stated['whole inputs'][0]:.4g}" in what and f"{stated['inputs'][1]:.4g}" in what
    assert out.data > 0
    model.zero_grad()
