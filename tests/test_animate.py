"""animate(): the step-through page. Its data are checked in Python; its behaviour in headless Chromium."""
import json
import os
import re
import shutil

import pytest

from autodiff import Value, animate
from autodiff.engine import Constant, backprop, topological_order

pytest.importorskip("graphviz", reason="the graphviz package is not installed: pip install -e '.[draw]'")
try:
    import pygraphviz  # noqa: F401
    HAS_RENDERER = True
except ImportError:
    HAS_RENDERER = shutil.which("dot") is not None
pytestmark = pytest.mark.skipif(not HAS_RENDERER, reason="neither Graphviz's dot nor pygraphviz is installed")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def neuron_graph():
    w = [Value(0.8, label="w0"), Value(-0.6, label="w1")]
    x = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    b = Value(0.1, label="b")
    out = (w[0] * x[0] + w[1] * x[1] + b).tanh()
    out.label = "o"
    loss = (out - 0.3) ** 2
    loss.label = "loss"
    return loss, w + x + [b]


def frames_of(path):
    text = path.read_text()
    return json.loads(re.search(r'<script type="application/json" id="frames">(.*?)</script>', text, re.S).group(1))


def test_page_is_self_contained_and_makes_no_network_request(tmp_path):
    loss, _ = neuron_graph()
    page = animate(loss, tmp_path / "bp.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<svg" in page and page.count("<svg") == 1
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)  # nothing fetched
    assert not re.search(r"<link|<img|@import|url\(", page)
    assert [p.name for p in tmp_path.iterdir()] == ["bp.html"]


def test_one_step_per_rule_that_runs_in_the_engines_order_and_user_grads_untouched(tmp_path):
    loss, leaves = neuron_graph()
    leaves[0].grad = 5.0
    frames = frames_of(animate(loss, tmp_path / "bp.html"))
    order = topological_order(loss)
    trace = []
    grads = backprop(order, {loss: 1.0}, False, trace)
    index = {n: i for i, n in enumerate(order)}
    assert len(frames) == len(trace) + 1
    assert frames[0]["node"] == f"v{index[loss]}" and frames[0]["set"] == {f"v{index[loss]}": "1"}
    assert [f["node"] for f in frames[1:]] == [f"v{index[node]}" for node, _, _ in trace]
    for frame, (node, _, after) in zip(frames[1:], trace):
        assert set(frame["set"]) == {f"v{index[p]}" for p, _ in after}
        assert frame["edges"] == [f"v{index[node]}e{i}" for i, p in enumerate(node.parents)
                                  if type(p) is not Constant]
    from autodiff.draw import fmt
    final = {}
    for f in frames:
        final.update(f["set"])
    assert final[f"v{index[leaves[2]]}"] == fmt(grads[leaves[2]])
    assert leaves[0].grad == 5.0 and all(v.grad == 0.0 for v in leaves[1:])  # nothing the user had changed
    assert "Step 1: the rule of ** at loss runs" in frames[1]["text"]


def test_a_too_big_graph_is_refused_with_advice(tmp_path):
    y = Value(1.0)
    for _ in range(400):
        y = y * 1.01
    with pytest.raises(ValueError, match="max_nodes=300"):
        animate(y, tmp_path / "bp.html")
    assert not (tmp_path / "bp.html").exists()


# ----- in a real browser -------------------------------------------------------------------------------------------

def _browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return sync_playwright


@pytest.fixture
def page(tmp_path):
    sync_playwright = _browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 700})
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        page.errors, page.requests = errors, requests
        yield page
        browser.close()


def _shown_grads(page):
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('g.node')]
        .map(g => [g.id, [...g.querySelectorAll('text')].map(t => t.textContent).find(t => t.startsWith('grad'))])
        .filter(([id, t]) => t !== undefined))""")


def test_stepping_through_in_chromium(page, tmp_path):
    loss, leaves = neuron_graph()
    path = animate(loss, tmp_path / "bp.html")
    frames = frames_of(path)
    page.goto(path.as_uri())
    assert page.evaluate("document.body.dataset.step") == "0"
    shown = _shown_grads(page)
    root = frames[0]["node"]
    assert shown[root] == "grad 1" and all(t == "grad" for k, t in shown.items() if k != root)
    assert page.get_attribute(f"#{root}", "class").split()[-1] == "current"

    page.click("#forward")
    assert page.evaluate("document.body.dataset.step") == "1"
    assert page.evaluate("document.body.dataset.current") == frames[1]["node"]
    assert "current" in page.get_attribute(f"#{frames[1]['node']}op", "class")
    for e in frames[1]["edges"]:
        assert "active" in page.get_attribute(f"#{e}", "class")
    shown = _shown_grads(page)
    for nid, g in frames[1]["set"].items():
        assert shown[nid] == f"grad {g}"
    filled = sum(t != "grad" for t in shown.values())

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.body.dataset.step") == "3"
    assert sum(t != "grad" for t in _shown_grads(page).values()) > filled
    page.click("#back")
    assert page.evaluate("document.body.dataset.current") == frames[2]["node"]

    page.fill("#slider", str(len(frames) - 1))  # drag the slider to the end
    assert page.evaluate("document.body.dataset.step") == str(len(frames) - 1)
    final = {}
    for f in frames:
        final.update(f["set"])
    shown = _shown_grads(page)
    assert {k: v for k, v in shown.items() if v != "grad"} == {k: f"grad {v}" for k, v in final.items()}
    x0 = leaves[2]
    assert any(v == f"grad {final[k]}" for k, v in shown.items() if k in final)
    page.keyboard.press("Home")
    assert page.evaluate("document.body.dataset.step") == "0"

    page.click("#play")
    for _ in range(100):  # (wait_for_function would need eval, which the page's CSP rightly forbids)
        if int(page.evaluate("document.body.dataset.step")) >= 2:
            break
        page.wait_for_timeout(100)
    assert int(page.evaluate("document.body.dataset.step")) >= 2
    page.click("#play")  # pause
    paused_at = page.evaluate("document.body.dataset.step")
    page.wait_for_timeout(1200)
    assert page.evaluate("document.body.dataset.step") == paused_at
    assert "Step" in page.inner_text("#caption") and x0.grad == 0.0

    page.screenshot(path=str(tmp_path / "backprop.png"), full_page=True)
    assert (tmp_path / "backprop.png").stat().st_size > 10_000
    assert page.errors == []
    assert all(url.startswith("file://") for url in page.requests)


HOSTILE = ["{{frames}}<img src=data:, onerror=alert(1)>", "</script><script>alert(2)</script>",
           "\" onmouseover=alert(3) x=\"", "{{svg}}{{title}}", "<b>&amp;</b>"]


def _tags(page):
    """{tag: the attribute names it carries anywhere} of an HTML page, as a browser's tokenizer sees it."""
    from html.parser import HTMLParser
    found = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.setdefault(tag, set()).update(a for a, _ in attrs)

    Parser().feed(page)
    return found


def hostile_graph():
    xs = [Value(float(k + 1), label=label) for k, label in enumerate(HOSTILE)]
    out = xs[0] * xs[1] + xs[2] * xs[3] - xs[4]
    out.label = HOSTILE[0]
    return out


def test_hostile_labels_cannot_change_the_page(tmp_path):
    path = animate(hostile_graph(), tmp_path / "bp.html")
    page = path.read_text()
    plain = animate(neuron_graph()[0], tmp_path / "plain.html").read_text()
    for tag in ("<script", "</script>", "<svg", "</svg>", "<img", "<body"):
        assert page.count(tag) == plain.count(tag), tag  # only the page's own elements
    tags = _tags(page)
    assert "img" not in tags and not any(a.startswith("on") for attrs in tags.values() for a in attrs)
    frames = frames_of(path)  # the labels arrive as data, whole
    assert any(HOSTILE[0] in f["text"] for f in frames) and any(HOSTILE[1] in f["text"] for f in frames)


def test_hostile_labels_run_no_script_in_chromium(page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    path = animate(hostile_graph(), tmp_path / "bp.html")
    page.goto(path.as_uri())
    for _ in range(8):
        page.click("#forward")
    page.hover("svg")
    assert dialogs == [] and page.errors == [] and all(r.startswith("file:") for r in page.requests)
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # the frames' JSON and the code
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert HOSTILE[0] in page.inner_text("body")  # shown as text
