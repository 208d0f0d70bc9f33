"""Train a small MLP on two interleaving half-moons, the classic demo of a scalar engine, and draw what it learned.

Run it with:  .venv/bin/python demos/moons.py     (--help lists every flag; .venv/ is the README's quick start's)
"""
import argparse
import math
import random
import sys
import time
from pathlib import Path

import autodiff
from autodiff import GraphvizMissing, Value, animate, no_grad, save_svg
from autodiff.engine import topological_order
from nn import MLP, SGD, hinge_loss


def make_moons(n=100, noise=0.1, seed=0):
    """Two interleaving half circles with Gaussian noise; labels -1 (upper moon) and +1 (lower moon)."""
    rng = random.Random(seed)
    n_upper = n // 2
    points, labels = [], []
    for i in range(n):
        upper = i < n_upper
        m = n_upper if upper else n - n_upper
        t = math.pi * (i if upper else i - n_upper) / max(m - 1, 1)
        x, y = (math.cos(t), math.sin(t)) if upper else (1 - math.cos(t), 0.5 - math.sin(t))
        points.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        labels.append(-1 if upper else 1)
    order = list(range(n))
    rng.shuffle(order)
    return [points[i] for i in order], [labels[i] for i in order]


def objective(model, X, y, alpha=1e-4):
    """Hinge loss plus alpha * L2 of the parameters (micrograd's demo setup), and the scores."""
    scores = [model(x)[0] for x in X]
    return hinge_loss(scores, y) + alpha * sum(p * p for p in model.parameters()), scores


def accuracy(scores, y):
    """The fraction of points on the right side of the boundary."""
    return sum((s > 0) == (label > 0) for s, label in zip(scores, y)) / len(y)


def loss_and_accuracy(model, X, y):
    """The objective as a Value, and the accuracy, for the model as it is."""
    loss, scores = objective(model, X, y)
    return loss, accuracy([s.data for s in scores], y)


def batched_available():
    """Whether the batched replay can run here: it needs numpy and array-api-compat (the demo extra has both)."""
    try:
        import array_api_compat  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def train(model, X, y, steps=100, lr=1.0, progress=None, compiled=True, batched=False):
    """SGD with a learning rate decaying linearly from lr to lr/10; returns [(loss, accuracy)] per step.

    compiled=True traces the objective once with autodiff.compile and replays it every step; compiled=False
    builds the graph of Values anew every step. Both give the same numbers. batched=True traces one point's loss
    and replays it over all points at once with numpy (compile(..., batch=True)); the same numbers to rounding.
    """
    optimizer = SGD(model.parameters(), lr=lr)
    if batched:
        import numpy
        params = model.parameters()
        step = autodiff.compile(lambda x, label: hinge_loss([model(x)[0]], [label]), params, batch=True)
        l2 = autodiff.compile(lambda: 1e-4 * sum(p * p for p in params), params)  # objective's alpha * L2
        X_, y_ = numpy.array(X, dtype=float), numpy.array(y, dtype=float)
    elif compiled:  # gradients into .grad, as loss.backward() puts them there
        step = autodiff.compile(lambda X, y: objective(model, X, y), model.parameters(), has_aux=True)
    history = []
    for k in range(steps):
        optimizer.zero_grad()
        if k == 0 and (compiled or batched):
            (progress.write if progress is not None else print)(
                f"tracing the training step once (autodiff.compile{', batch=True' if batched else ''}), then "
                f"replaying it{' over all points at once' if batched else ''} ...")
        if batched:
            loss = step(X_, y_) + l2()
            losses = step.losses  # a point is on the right side when its hinge loss max(0, 1 - y s) is below 1
            scores = numpy.where((losses < 1) | ((losses == 1) & (y_ < 0)), y_, -y_)
        elif compiled:
            loss, scores = step(X, y)
        else:
            loss_value, score_values = objective(model, X, y)
            loss_value.backward()
            loss, scores = loss_value.data, [s.data for s in score_values]
        if k == 0 and progress is not None and (compiled or batched):
            progress.reset()  # the estimate of the time left counts replays, not the one-off trace
        acc = accuracy(scores, y)
        optimizer.lr = lr * (1.0 - 0.9 * k / steps)
        optimizer.step()
        history.append((loss, acc))
        if progress is not None:
            progress.set_postfix(loss=f"{loss:.4f}", accuracy=f"{acc:.0%}")
            progress.update()
    return history


@no_grad()
def decision_grid(model, X, size=40):
    """The model's score on a size x size grid around the data."""
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    x0, x1, y0, y1 = min(xs) - 0.5, max(xs) + 0.5, min(ys) - 0.5, max(ys) + 0.5
    gx = [x0 + (x1 - x0) * i / (size - 1) for i in range(size)]
    gy = [y0 + (y1 - y0) * j / (size - 1) for j in range(size)]
    return gx, gy, [[model([x, y_])[0].data for x in gx] for y_ in gy]


def plot(model, X, y, history, out):
    """Decision boundary (and the training curve) as PNG and SVG; returns the paths written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gx, gy, z = decision_grid(model, X)
    fig, (ax, curve) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [1.3, 1]})
    ax.contourf(gx, gy, z, levels=[-1e9, 0, 1e9], colors=["#f4c2a1", "#a9cbe8"], alpha=0.8)
    ax.contour(gx, gy, z, levels=[0], colors="#333333", linewidths=1.2)
    for label, color, marker in ((-1, "#d95f02", "o"), (1, "#1f78b4", "s")):
        pts = [p for p, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=color, marker=marker, s=22, edgecolors="white",
                   linewidths=0.5, label=f"class {label:+d}")
    ax.set_title(f"MLP(2, [16, 16, 1]) after {len(history)} steps: decision boundary", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    steps = range(1, len(history) + 1)
    lines = curve.plot(steps, [h[0] for h in history], color="#333333", label="loss (hinge + L2)")
    curve.set_xlabel("step")
    curve.set_ylabel("loss")
    twin = curve.twinx()
    lines += twin.plot(steps, [h[1] for h in history], color="#1f78b4", label="training accuracy")
    twin.set_ylabel("training accuracy")
    twin.set_ylim(0, 1.05)
    curve.set_title("Training", fontsize=10)
    curve.legend(handles=lines, loc="center right", fontsize=8)
    fig.tight_layout()
    paths = [out / "decision_boundary.png", out / "decision_boundary.svg"]
    for path in paths:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return paths


def most_telling_neuron(model, X, y):
    """(sample, neuron index) of the first layer whose gradient on one point's loss is largest, among neurons that
    are active there (relu input > 0) on points the model still gets wrong or barely right (hinge loss > 0):
    a picture of it has a non-zero number on every edge. Also d(that point's loss)/d(the neuron's output)."""
    best = None
    for k, (x, label) in enumerate(zip(X, y)):
        loss = hinge_loss([model(x)[0]], [label])
        if loss.data <= 0:
            continue  # a point beyond the margin teaches nothing: every gradient is 0
        outputs = _first_layer_outputs(model, loss)
        model.zero_grad()
        loss.backward()
        for j, out in enumerate(outputs):
            g = out.grad
            if out.data > 0 and all(v != 0 for v in x) and (best is None or abs(g) > abs(best[2])):
                best = (k, j, g)
    model.zero_grad()
    return best


def _first_layer_outputs(model, loss):
    """The first layer's outputs (one Value per neuron) inside the graph of loss: found by their labels."""
    names = {f"layers.0.neurons.{j}": j for j in range(len(model.layers[0].neurons))}
    found = {}
    for node in topological_order(loss):
        if node.label in names and node.grad_fn is not None:
            found[names[node.label]] = node
    return [found[j] for j in sorted(found)]


def draw_one_neuron(model, X, y, out):
    """The most telling first-layer neuron on one point (see most_telling_neuron), times d(the loss on that
    point)/d(its output): backward() from there gives each value of the neuron its share of d(loss)/d(value) along
    this neuron. Written as an SVG and as a page that steps through the same backward pass (the same graph, the same
    numbers). Returns the paths, a sentence saying what they show, and the numbers the sentence states."""
    choice = most_telling_neuron(model, X, y)
    k, j, g = choice if choice is not None else (0, 0, 1.0)
    model.zero_grad()
    inputs = [Value(v, label=f"x{i + 1}") for i, v in enumerate(X[k])]
    output = model.layers[0].neurons[j](inputs)
    share = output * g  # g, a number: d(loss on point k)/d(this neuron's output)
    share.label = "dloss/dout × out"
    share.backward()
    stated = {"g": g, "inputs": [x.grad for x in inputs], "weights": [w.grad for w in model.layers[0].neurons[j].w]}
    paths = [save_svg(share, out / "neuron.svg"), animate(share, out / "backprop.html")]
    model.zero_grad()
    whole = [Value(v) for v in X[k]]  # the inputs' whole gradients: x1 and x2 feed every first-layer neuron
    hinge_loss([model(whole)[0]], [y[k]]).backward()
    stated["whole inputs"] = [x.grad for x in whole]
    model.zero_grad()
    n = len(model.layers[0].neurons)
    what = (f"{paths[0]}: neuron layers.0.neurons.{j} on point {k} (x = {X[k][0]:.3g}, {X[k][1]:.3g}), its output "
            f"times d(loss on that point)/d(output) = {g:.4g}; backward() from there gives each value its share of "
            f"d(loss)/d(value) along this neuron. The neuron's weights and bias reach the loss only through it, so "
            f"theirs are their whole gradients; x1 and x2 feed all {n} first-layer neurons, so theirs "
            f"({stated['inputs'][0]:.4g}, {stated['inputs'][1]:.4g}) are this neuron's share of d loss/d x1 = "
            f"{stated['whole inputs'][0]:.4g} and d loss/d x2 = {stated['whole inputs'][1]:.4g}. {paths[1]} steps "
            f"through the same backward pass, with the same numbers; change a weight or an input there and every "
            f"number is recomputed")
    return paths, what, stated


def parse_args(argv):
    p = argparse.ArgumentParser(description="Train MLP(2, [16, 16, 1]) on two moons with hinge loss + L2 and SGD, "
                                            "then write the decision boundary, the model, and one neuron's graph (SVG and a "
                                            "step-through page of its backward pass) into an output folder.")
    p.add_argument("--steps", type=int, default=100, help="training steps (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data set and of the model's weights (default: 0)")
    p.add_argument("--samples", type=int, default=100, help="number of points in the data set (default: 100)")
    p.add_argument("--noise", type=float, default=0.1, help="standard deviation of the noise (default: 0.1)")
    p.add_argument("--lr", type=float, default=1.0, help="initial learning rate, decaying to lr/10 (default: 1.0)")
    p.add_argument("--out", "--output", dest="out", type=Path, default=Path("out"), help="output folder (default: out/)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--batched", action="store_true",
                     help="replay one point's traced loss over all points at once with numpy (compile(..., "
                          "batch=True)); the default when numpy and array-api-compat are installed")
    how.add_argument("--compiled", action="store_true",
                     help="replay the whole traced training step as scalar Python (autodiff.compile); the default "
                          "without numpy")
    how.add_argument("--eager", action="store_true",
                     help="build the graph of Values anew every step instead of replaying it with autodiff.compile "
                          "(the same numbers, many times slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.steps < 1 or args.samples < 4 or args.lr <= 0 or args.noise < 0:
        p.error("--steps must be >= 1, --samples >= 4, --lr > 0 and --noise >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    X, y = make_moons(args.samples, args.noise, args.seed)
    model = MLP(2, [16, 16, 1], seed=args.seed)
    print(f"{model}: {len(model.parameters())} parameters, {len(X)} points")
    start = time.perf_counter()
    batched = args.batched or not (args.compiled or args.eager) and batched_available()
    if args.batched and not batched_available():
        raise SystemExit("--batched needs numpy and array-api-compat: .venv/bin/pip install -e '.[demo]'")
    how = "batched" if batched else "eager" if args.eager else "compiled"
    with tqdm(total=args.steps, desc="training", unit="step", disable=args.no_progress) as bar:
        history = train(model, X, y, args.steps, args.lr, bar, compiled=not args.eager, batched=batched)
    seconds = time.perf_counter() - start
    final_loss, final_accuracy = loss_and_accuracy(model, X, y)
    print(f"after {args.steps} steps: loss {final_loss.data:.4f}, training accuracy {final_accuracy:.0%} "
          f"({seconds:.1f} s of training, {how})")

    args.out.mkdir(parents=True, exist_ok=True)
    written = plot(model, X, y, history, args.out)
    model.save(args.out / "model.json")
    written.append(args.out / "model.json")
    try:
        pictures, what, _ = draw_one_neuron(model, X, y, args.out)
        written += pictures
        print(what)
    except GraphvizMissing as e:  # the rest of the demo stands without the pictures of the graph
        print(f"note: no graph pictures: {e}", file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written))
    return history


if __name__ == "__main__":
    main(sys.argv[1:])
