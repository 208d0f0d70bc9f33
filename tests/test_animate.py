"""animate(): the step-through page. Its data are checked in Python; its behaviour in headless Chromium."""
import json
import random
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
    assert page.evaluate("document.querySelectorAll('script').length") == 3  # the frames' and graph's JSON, the code
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert HOSTILE[0] in page.inner_text("body")  # shown as text


# ----- the live page: recomputing in the browser ---------------------------------------------------------------

def _ids(root):
    return {f"v{i}": n for i, n in enumerate(topological_order(root))}


def _same_state(state, root, rel=1e-12):
    """The page's {id: {label, data, grad}} equals the Python engine's values and grads of the same graph."""
    from autodiff.engine import Constant
    nodes = {k: n for k, n in _ids(root).items() if type(n) is not Constant}
    assert set(state) == set(nodes)
    for k, n in nodes.items():
        assert state[k]["label"] == n.label
        assert state[k]["data"] == pytest.approx(n.data, rel=rel, abs=1e-300), (k, n)
        assert state[k]["grad"] == pytest.approx(n.grad, rel=rel, abs=1e-300), (k, n)


def xy_graph(x=2.0, y=-3.0):
    x, y = Value(x, label="x"), Value(y, label="y")
    z = x * y + x.tanh()
    z.label = "z"
    z.backward()
    return z


def test_set_input_recomputes_every_value_and_grad_as_the_engine_does(page, tmp_path):
    path = animate(xy_graph(), tmp_path / "bp.html")
    page.goto(path.as_uri())
    assert page.evaluate("autodiffPage.inputs()") == {"x": 2.0, "y": -3.0}
    _same_state(page.evaluate("autodiffPage.state()"), xy_graph())
    page.evaluate("autodiffPage.setInput('x', 0.37)")
    assert page.evaluate("autodiffPage.inputs()") == {"x": 0.37, "y": -3.0}
    _same_state(page.evaluate("autodiffPage.state()"), xy_graph(0.37))
    # the picture shows the new numbers, and the step-through replays on them
    assert "data 0.37" in page.text_content("#v0")
    page.keyboard.press("End")
    new = xy_graph(0.37)
    assert f"grad {fmt_(new.parents[0].parents[0].grad)}" in page.text_content("#v0")
    page.fill("[data-input=y]", "1.5")  # the number field, as a user types
    page.dispatch_event("[data-input=y]", "change")
    _same_state(page.evaluate("autodiffPage.state()"), xy_graph(0.37, 1.5))
    assert page.errors == []


def fmt_(x):
    from autodiff.draw import fmt
    return fmt(x)


def test_the_page_replays_exactly_the_steps_python_wrote(page, tmp_path):
    loss, _ = neuron_graph()
    path = animate(loss, tmp_path / "bp.html")
    page.goto(path.as_uri())
    page.evaluate("autodiffPage.setInput('x0', 0.5)")  # the same number: the page's own pass over the graph
    assert page.evaluate("autodiffPage.frames()") == frames_of(path)
    _same_state(page.evaluate("autodiffPage.state()"), _backward(loss))


def _backward(root):
    root.backward()
    return root


def test_a_small_mlp_loss_recomputes_live(page, tmp_path):
    from nn import MLP, mse_loss
    model = MLP(2, [3, 1], seed=1)

    def loss_at(w):
        model.layers[0].neurons[1].w[0].data = w
        for p in model.parameters():
            p.grad = None  # this pass's grads, not accumulated ones
        loss = mse_loss([model([0.5, -1.0])[0], model([1.5, 0.25])[0]], [1.0, -1.0])
        loss.backward()
        return loss

    first = model.layers[0].neurons[1].w[0].data
    path = animate(loss_at(first), tmp_path / "bp.html")
    page.goto(path.as_uri())
    name = "layers.0.neurons.1.w.0"
    assert name in page.evaluate("autodiffPage.inputs()") and "0" not in page.evaluate("autodiffPage.inputs()")
    page.evaluate(f"autodiffPage.setInput('{name}', 1.25)")
    _same_state(page.evaluate("autodiffPage.state()"), loss_at(1.25))
    assert page.errors == []


def test_clicking_a_node_shows_its_chain_rule_as_explain_writes_it(page, tmp_path):
    from autodiff import explain
    z = xy_graph()
    ids = _ids(z)
    path = animate(z, tmp_path / "bp.html")
    page.goto(path.as_uri())
    for k, node in ids.items():
        if node.label or node.parents:
            page.click(f"#{k}")
            assert page.inner_text("#explain") == str(explain(z, node)), k
    page.evaluate("autodiffPage.setInput('y', 0.8)")
    new = xy_graph(2.0, 0.8)
    for k, node in _ids(new).items():
        assert page.evaluate(f"autodiffPage.explain('{k}')") == str(explain(new, node))


def test_the_factored_form_past_the_path_bound_and_a_zero_path(page, tmp_path):
    from autodiff import explain
    x = Value(0.9, label="x")
    y = x
    for _ in range(6):  # 2 ** 6 = 64 paths
        a, b = y * 1.1, y.tanh()
        y = a + b
    y.label = "y"
    path = animate(y, tmp_path / "bp.html")
    page.goto(path.as_uri())
    page.click("#v0")
    text = page.inner_text("#explain")
    assert "64 paths" in text and text == str(explain(y, x))


def test_a_graph_with_a_primitive_is_not_recomputed_and_says_why(page, tmp_path):
    from autodiff import primitive, sigmoid

    @primitive(sigmoid)
    def softish(z):
        return z + 1.0

    x = Value(0.5, label="x")
    out = softish(x * 2.0)
    out.backward()
    path = animate(out, tmp_path / "bp.html")
    page.goto(path.as_uri())
    assert "softish" in page.inner_text("#status") and "primitive" in page.inner_text("#status")
    assert page.is_disabled("[data-input=x]")
    message = page.evaluate("() => { try { autodiffPage.setInput('x', 1.0); } catch (e) { return e.message; } }")
    assert "softish" in message and "cannot" in message
    assert page.evaluate("autodiffPage.inputs()") == {"x": 0.5}
    assert "frozen" in page.get_attribute(f"#v{len(_ids(out)) - 1}", "class")


def test_a_domain_error_in_the_page_names_the_op_and_changes_nothing(page, tmp_path):
    x = Value(2.0, label="x")
    out = (x - 1.0).log()
    out.backward()
    path = animate(out, tmp_path / "bp.html")
    page.goto(path.as_uri())
    before = page.evaluate("autodiffPage.state()")
    message = page.evaluate("() => { try { autodiffPage.setInput('x', 0.5); } catch (e) { return e.message; } }")
    assert message.startswith("log: log(-0.5) is undefined")
    assert page.evaluate("autodiffPage.state()") == before
    page.fill("[data-input=x]", "1")
    page.dispatch_event("[data-input=x]", "change")
    assert "log" in page.inner_text("#status") and "bad" in page.get_attribute("[data-input=x]", "class")
    for bad in ("'nope', 1", "'x', Infinity", "'x', 'a'"):
        message = page.evaluate(f"() => {{ try {{ autodiffPage.setInput({bad}); }} catch (e) {{ return e.message; }} }}")
        assert message and message.startswith("setInput"), bad


OP_POINTS = {  # per op of the table: points inside its domain (x, or x and y)
    "add": [(0.3, -2.5), (1e10, 3.0)], "sub": [(0.3, -2.5)], "mul": [(0.3, -2.5), (-1e-8, 7.0)],
    "div": [(0.3, -2.5), (-4.0, 0.125)], "power": [(1.7, 2.0), (0.4, -1.5), (-2.0, 3.0), (0.0, 2.0)],
    "vpower": [(1.7, 2.5), (0.4, -1.5), (3.0, 0.0)], "leaky": [(0.3, 0.01), (-2.0, 0.1), (0.0, 0.2)],
    "neg": [(0.3,)], "absolute": [(0.3,), (-2.0,), (0.0,)], "exp": [(0.3,), (-20.0,), (700.0,)],
    "log": [(0.3,), (1e200,)], "sqrt": [(0.3,), (1e-300,)], "tanh": [(0.3,), (-4.0,), (30.0,)],
    "sigmoid": [(0.3,), (-40.0,), (40.0,)], "relu": [(0.3,), (-2.0,), (0.0,)], "sin": [(0.3,), (100.0,)],
    "cos": [(0.3,), (-7.0,)], "step": [(0.3,), (-2.0,), (0.0,)], "sign": [(0.3,), (-2.0,), (0.0,)],
    "slope": [(0.3, 0.01), (-2.0, 0.1), (0.0, 0.2)], "below": [(0.3, 0.01), (-2.0, -2.0), (0.0, 0.2)],
}
OP_REFUSALS = {"div": [(1.0, 0.0)], "power": [(0.0, -1.0), (-2.0, 0.5), (10.0, 400.0)], "vpower": [(-2.0, 2.0)],
               "exp": [(800.0,)], "log": [(0.0,), (-1.0,)], "sqrt": [(-1.0,)]}


def test_the_pages_op_table_is_the_engines(page, tmp_path):
    from autodiff.engine import OPS, TABLE, DomainError, RangeError
    assert set(OP_POINTS) == set(TABLE)  # every op of the table is checked
    page.goto(animate(xy_graph(), tmp_path / "bp.html").as_uri())
    for key, op in zip(TABLE, OPS):
        for xs in OP_POINTS[key]:
            out = Value(xs[0]) ** xs[1] if key == "power" else op(*[Value(x) for x in xs])  # y: a number
            assert out.grad_fn is op
            local = list(out.chain_rule().local_grads)
            js = page.evaluate("([k, xs]) => { const o = OPS[k].f(...xs); return [o, OPS[k].d(...xs, o)]; }", [key, xs])
            assert js[0] == pytest.approx(out.data, rel=1e-13, abs=1e-300), (key, xs)
            assert [d for d, py in zip(js[1], local) if py is not None] == pytest.approx(
                [d for d in local if d is not None], rel=1e-13, abs=1e-300), (key, xs)
        for xs in OP_REFUSALS.get(key, []):
            with pytest.raises((DomainError, RangeError)):
                Value(xs[0]) ** xs[1] if key == "power" else op(*[Value(x) for x in xs])
            refused = page.evaluate("([k, xs]) => { try { OPS[k].f(...xs); return false; } catch (e) { return true; } }"
                                    , [key, xs])
            js = page.evaluate("([k, xs]) => { try { return OPS[k].f(...xs); } catch (e) { return null; } }", [key, xs])
            assert refused or js is None or js in (float("inf"), float("-inf")) or js != js, (key, xs)


def test_the_page_writes_numbers_as_python_does(page, tmp_path):
    import random
    from autodiff.draw import fmt
    rng = random.Random(5)
    xs = [1.0001, 0.99999, 2.0000001, 1.0, 0.07065082485316443, 123456.0, -3.0, 1e-7, 9.9996, 0.00012345, -0.0,
          1234.56, 1e16, 5e-324, 1.7976931348623157e308, 0.5, 100.0, 99999.0, 1e-5]
    xs += [rng.uniform(-1, 1) * 10 ** rng.randint(-12, 12) for _ in range(300)]
    xs += [round(rng.uniform(-50, 50), rng.randint(0, 6)) for _ in range(300)]
    page.goto(animate(xy_graph(), tmp_path / "bp.html").as_uri())
    js = page.evaluate("(xs) => xs.map((x) => [fmt(x), gfmt(x, 4)])", xs)
    for x, (f, g) in zip(xs, js):
        assert f == fmt(x) and g == f"{x:.4g}", x


def test_a_big_graph_stays_readable_and_the_view_follows_the_active_node(page, tmp_path):
    x = Value(0.5, label="x")
    y = x
    for k in range(100):
        y = (y * 1.01 + 0.001).tanh() if k % 2 else y * 0.99 + 0.01
    y.label = "end"
    path = animate(y, tmp_path / "bp.html")
    page.goto(path.as_uri())
    height = page.evaluate("document.querySelector('g.node text').getBoundingClientRect().height")
    assert height >= 8  # fit never shrinks the text below 8 px

    def visible(sel):
        return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            const b = document.getElementById('graph').getBoundingClientRect();
            return r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }""",
                             sel)

    assert visible(f"#{frames_of(path)[0]['node']}")  # the root, at step 0
    page.keyboard.press("End")
    last = frames_of(path)[-1]["node"]
    assert visible(f"#{last}op")
    page.uncheck("#fit")
    assert page.evaluate("document.body.dataset.scale") == "1.000"
    page.keyboard.press("Home")
    assert visible(f"#{frames_of(path)[0]['node']}")
    page.screenshot(path=str(tmp_path / "big.png"))
    assert page.errors == []


def test_highlights_keep_each_nodes_colour_and_are_in_the_legend(page, tmp_path):
    loss, _ = neuron_graph()
    path = animate(loss, tmp_path / "bp.html")
    page.goto(path.as_uri())
    page.click("#forward")
    page.click("#forward")
    frame = frames_of(path)[2]
    updated = [k for k in frame["set"] if k != frame["node"]]
    fills = page.evaluate("""(ids) => ids.map((id) => {
        const p = document.querySelector('#' + id + ' > polygon');
        return [getComputedStyle(p).fill, p.getAttribute('fill'), document.getElementById(id).getAttribute('class')]; })""",
                          updated + [frame["node"]])
    for computed, attribute, cls in fills:
        assert "updated" in cls or "current" in cls
        assert computed.replace(" ", "") == _rgb(attribute), (computed, attribute)  # the kind's colour stays
    keys = page.inner_text("#keys")
    assert "chain rule runs" in keys and "just updated" in keys


def _rgb(colour):
    colour = colour.lstrip("#")
    return "rgb(" + ",".join(str(int(colour[i:i + 2], 16)) for i in (0, 2, 4)) + ")"


def test_numbers_round_ties_to_even_as_python_does(page, tmp_path):
    from autodiff.draw import fmt
    rng = random.Random(9)
    ties = [12.125, 1.0625, 0.015625, 1234.5, 2.0625, 0.15625, 0.5 * 2 ** -20, 1e22, 5e-324, 1.2345e-5, 99995.0,
            9.9995, 0.00099995]
    ties += [rng.randint(-10 ** 6, 10 ** 6) / 2 ** rng.randint(0, 20) for _ in range(400)]  # dyadic: many ties
    page.goto(animate(xy_graph(), tmp_path / "bp.html").as_uri())
    js = page.evaluate("(xs) => xs.map((x) => [fmt(x), gfmt(x, 4), gfmt(x, 6), pyrepr(x)])", ties)
    for x, (f, g4, g6, r) in zip(ties, js):
        assert (f, g4, g6, r) == (fmt(x), f"{x:.4g}", f"{x:.6g}", repr(x)), x


def test_a_blank_or_bad_number_is_refused_not_taken_as_zero(page, tmp_path):
    x = Value(2.0, label="x")
    out = (x * 3.0).log()
    out.backward()
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    for text in ("", "abc", "1e400", "  "):
        page.fill("[data-input=x]", text)
        page.dispatch_event("[data-input=x]", "change")
        assert page.evaluate("autodiffPage.inputs()") == {"x": 2.0}, text
        assert "not a finite number" in page.inner_text("#status")
        assert page.input_value("[data-input=x]") == "2"  # the field shows the number again
    page.fill("input[aria-label='x (slider)']", "-1")  # a slider move that log refuses
    assert page.evaluate("autodiffPage.inputs()") == {"x": 2.0} and "log" in page.inner_text("#status")
    assert float(page.input_value("input[aria-label='x (slider)']")) == 2.0
    page.fill("[data-input=x]", "0.5")
    page.dispatch_event("[data-input=x]", "change")
    assert page.evaluate("autodiffPage.inputs()") == {"x": 0.5}
    assert page.evaluate("document.querySelectorAll('#inputs .bad').length") == 0


def test_every_leaf_has_a_name_of_its_own(page, tmp_path):
    a, b, c = Value(1.0, label="__proto__"), Value(2.0, label="v1"), Value(3.0)
    d, e = Value(4.0, label="w"), Value(5.0, label="w")
    out = a * b + c * d - e
    out.label = "out\udfff"  # a lone surrogate: the page is still written
    out.backward()
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    names = json.loads(page.evaluate("JSON.stringify(autodiffPage.inputs())"))  # (playwright drops __proto__)
    assert len(names) == 5 and names["__proto__"] == 1.0 and names["v1"] == 2.0
    ids = {n: k for k, n in _ids(out).items()}
    assert names[ids[c] if ids[c] != "v1" else f"leaf {ids[c]}"] == 3.0
    assert names[ids[d]] == 4.0 and names[ids[e]] == 5.0  # a shared label names neither
    page.evaluate("autodiffPage.setInput('__proto__', 1.5)")
    assert page.evaluate("autodiffPage.state()")[ids[out]]["data"] == pytest.approx(1.5 * 2.0 + 12.0 - 5.0)
    assert page.evaluate("document.querySelectorAll('#inputs .input').length") == 5
    message = page.evaluate("() => { try { autodiffPage.explain('nope'); } catch (e) { return e.message; } }")
    assert message.startswith("explain: no node with id")


def test_the_pages_refusals_say_what_python_says(page, tmp_path):
    from autodiff import DomainError, RangeError
    cases = [(lambda x: (x * -1.0).log(), -1.0, 0.0), (lambda x: x.log(), 1.0, -0.5), (lambda x: 1.0 / x, 1.0, 0.0),
             (lambda x: x.sqrt(), 1.0, -2.0), (lambda x: x.exp(), 1.0, 800.0), (lambda x: x ** 0.5, 1.0, -1.0)]
    for k, (f, start, bad) in enumerate(cases):
        x = Value(start, label="x")
        out = f(x)
        out.backward()
        page.goto(animate(out, tmp_path / f"bp{k}.html").as_uri())
        with pytest.raises((DomainError, RangeError)) as python:
            f(Value(bad))
        message = page.evaluate(f"() => {{ try {{ autodiffPage.setInput('x', {bad!r}); }} catch (e) "
                                f"{{ return e.message; }} }}")
        assert message == str(python.value), k
    x = Value(1.0, label="x")
    out = x.sqrt()
    out.backward()
    page.goto(animate(out, tmp_path / "sqrt.html").as_uri())
    message = page.evaluate("() => { try { autodiffPage.setInput('x', 0); } catch (e) { return e.message; } }")
    assert "sqrt(0.0)" in message and "input 0" in message and "infinite" in message


def test_a_graph_from_grad_is_live(page, tmp_path):
    from autodiff import grad

    def g_at(v):
        g = grad(lambda t: t ** 3 + t.tanh())(Value(v, label="x"))
        g.label = "g"
        g.backward()
        return g

    page.goto(animate(g_at(2.0), tmp_path / "bp.html").as_uri())
    assert page.inner_text("#status") == ""  # nothing frozen: grad's watch is an op of the page's table
    page.evaluate("autodiffPage.setInput('x', 0.3)")
    _same_state(page.evaluate("autodiffPage.state()"), g_at(0.3))


def test_boxes_have_room_for_the_numbers_an_edit_writes(page, tmp_path):
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    out = (x * y + 1.0).tanh() * x
    out.backward()
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    page.evaluate("autodiffPage.setInput('x', -0.000123456789)")
    page.evaluate("autodiffPage.setInput('y', 12345.678)")
    overflow = page.evaluate("""() => [...document.querySelectorAll('g.node')].flatMap((g) => {
        const box = g.querySelector('polygon'); if (!box) { return []; }
        const b = box.getBBox();
        return [...g.querySelectorAll('text')].map((t) => t.getBBox())
            .filter((r) => r.x < b.x - 0.5 || r.x + r.width > b.x + b.width + 0.5).map(() => g.id); })""")
    assert overflow == []


def test_the_sliders_range_follows_its_input_and_the_page_says_where_the_inputs_are(page, tmp_path):
    path = animate(xy_graph(), tmp_path / "bp.html")
    page.goto(path.as_uri())
    assert "Change an input on the left" in page.text_content("body")
    box = page.locator("#inputs").bounding_box()
    assert box["x"] < page.locator("#graph").bounding_box()["x"] + 400  # (the inputs' panel is the left one)
    page.evaluate("autodiffPage.setInput('x', 25)")
    slider = "input[aria-label='x (slider)']"
    low, high = (float(page.get_attribute(slider, a)) for a in ("min", "max"))
    assert low < 25 < high and high - low == pytest.approx(4 * 25)  # spans the new number, not -2..6 any more
    assert float(page.input_value(slider)) == 25
    page.eval_on_selector(slider, "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", str(high - 1))
    # while it is dragged, the slider keeps its range under the pointer
    assert (float(page.get_attribute(slider, "min")), float(page.get_attribute(slider, "max"))) == (low, high)
    page.dispatch_event(slider, "change")  # let go: centred on the new number, so the next drag can go further
    low, high = (float(page.get_attribute(slider, a)) for a in ("min", "max"))
    assert (low + high) / 2 == pytest.approx(page.evaluate("autodiffPage.inputs().x")) and high > 25 * 3
    page.mouse.move(0, 0)
    box = page.locator(slider).bounding_box()  # a real drag to the slider's right end, twice: the range grows
    for _ in range(2):
        before = page.evaluate("autodiffPage.inputs().x")
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] + 50, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        assert page.evaluate("autodiffPage.inputs().x") > before


# ----- paths, contributions, forward mode, and the page's sizes ------------------------------------------------------

UNARY = ("tanh", "sin", "cos", "sigmoid", "square", "scale", "shift", "exp")
BINARY = ("add", "sub", "mul")


def random_program(rng, n_inputs, n_ops):
    """A graph's recipe: (op, operand indices) per op; build(*leaves) runs it and returns every node it made, the
    root last (every node feeds the root, so the page shows them all)."""
    steps, n = [], n_inputs
    for _ in range(n_ops):
        if rng.random() < 0.5:
            steps.append((rng.choice(BINARY), (rng.randrange(n), rng.randrange(n))))  # reuse: a node twice is fine
        else:
            steps.append((rng.choice(UNARY), (rng.randrange(n),), round(rng.uniform(-2, 2), 3)))
        n += 1

    def build(*leaves):
        nodes, used = list(leaves), set()
        for step in steps:
            used.update(step[1])
            nodes.append(_apply(step[0], [nodes[i] for i in step[1]], step[-1]))
        ends = [v for i, v in enumerate(nodes) if i not in used]
        root = ends[0]
        for v in ends[1:]:
            root = root + v
            nodes.append(root)
        return nodes
    return build


def _apply(op, args, number):
    a, b = args[0], args[-1]
    if op in BINARY:
        return a + b if op == "add" else a - b if op == "sub" else a * b
    if op == "square":
        return a ** 2
    if op == "scale":
        return a * number
    if op == "shift":
        return a + number
    if op == "exp":
        return (a * 0.3).tanh().exp()
    return getattr(a, op)()


def labelled_graph(build, values):
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    nodes = build(*leaves)
    root = nodes[-1]
    root.label = "out"
    root.backward()
    return root, leaves, nodes


def test_highlight_lights_every_edge_of_every_path_python_finds(page, tmp_path):
    from autodiff import explain
    rng = random.Random(11)
    for trial in range(6):
        build = random_program(rng, 3, rng.randrange(3, 12))
        root, leaves, _ = labelled_graph(build, [rng.uniform(-1.5, 1.5) for _ in range(3)])
        ids = {n: k for k, n in _ids(root).items()}
        page.goto(animate(root, tmp_path / f"bp{trial}.html").as_uri())
        for node, nid in ids.items():
            if type(node) is Constant:
                continue
            e = explain(root, node)
            if e.factored:  # too many paths to list: every edge from a node that depends on `node`
                reach = {node}
                for n in topological_order(root):
                    if any(p in reach for p in n.parents):
                        reach.add(n)
                want = {(ids[p], ids[n]) for n in reach if n is not node for p in n.parents if p in reach}
            else:
                want = {(ids[a], ids[b]) for p in e.paths for a, b in zip(p.nodes, p.nodes[1:])}
            got = page.evaluate("(id) => autodiffPage.highlight(id)", nid)
            assert len(got) == len({tuple(g) for g in got}) and {tuple(g) for g in got} == want, (trial, nid)
            lit = set(page.evaluate("() => [...document.querySelectorAll('g.edge.onpath')].map((g) => g.id)"))
            drawn = {f"{b}e{i}" for a, b in want for i, p in enumerate(_ids(root)[b].parents) if ids[p] == a}
            assert {g for g in lit if not g.endswith("out")} == drawn, (trial, nid)
            if not e.factored and e.paths and node is not root:  # the pane lists each path, with its product
                items = page.locator("#paths li[data-path]")
                assert items.count() == len(e.paths)
                for k, p in enumerate(e.paths):
                    assert items.nth(k).inner_text().endswith(f"= {p.product:.4g}"), (trial, nid, k)
    assert page.errors == []


def test_hovering_one_path_lights_that_path_alone(page, tmp_path):
    x = Value(0.7, label="x")
    y = x * x + x.tanh()  # three paths from x: two through x * x (one per edge), one through tanh
    y.label = "y"
    page.goto(animate(y, tmp_path / "bp.html").as_uri())
    page.click("#v0")
    assert page.locator("#paths li[data-path]").count() == 3
    assert "Its 3 paths to the root" in page.inner_text("#paths")
    lit = "() => [...document.querySelectorAll('g.edge.onpath')].map((g) => g.id).sort()"
    everything = page.evaluate(lit)
    alone = []
    for k in range(3):
        page.hover(f"#paths li[data-path='{k}']")
        alone.append(page.evaluate(lit))
        assert set(alone[k]) < set(everything)
        assert len([g for g in alone[k] if not g.endswith("out")]) == 2  # x into its op, that op's value into y's
    assert alone[0] != alone[1]  # each edge of x * x is a path of its own
    assert set().union(*alone) == set(everything)
    page.hover("h1")
    assert page.evaluate(lit) == everything  # leaving the line lights every path again
    page.keyboard.press("Escape")
    assert page.evaluate(lit) == [] and page.inner_text("#paths") == ""


def _contributions(page):
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('svg g.edge text.contrib')]
        .map((t) => [t.closest('g.edge').id, t.textContent]))""")


def test_the_edges_of_each_step_carry_grad_times_local_equals_contribution(page, tmp_path):
    from autodiff.draw import fmt
    rng = random.Random(3)
    build = random_program(rng, 3, 9)
    root, leaves, _ = labelled_graph(build, [0.3, -1.1, 0.8])
    ids = _ids(root)
    path = animate(root, tmp_path / "bp.html")
    page.goto(path.as_uri())
    frames = frames_of(path)
    assert _contributions(page) == {}  # step 0 seeds the root: no edge is updated
    for k in range(1, len(frames)):
        page.evaluate(f"autodiffPage.show({k})")
        node = ids[frames[k]["node"]]
        want = {}
        for i, (p, d) in enumerate(zip(node.parents, node.chain_rule().local_grads)):
            if type(p) is not Constant:  # grad(out) x local derivative = what this edge adds to the input's grad
                want[f"{frames[k]['node']}e{i}"] = f"{fmt(node.grad)} × {fmt(d)} = {fmt(node.grad * d)}"
        assert _contributions(page) == want, k
        boxes = page.evaluate("() => [...document.querySelectorAll('text.contrib')].map((t) => { "
                              "const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        for i, a in enumerate(boxes):  # each label readable: none drawn over another
            assert all(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1] for b in boxes[i + 1:]), k
    assert page.evaluate("document.querySelector('text.contrib').closest('svg') === document.querySelector('#graph svg')")
    page.keyboard.press("Home")
    assert _contributions(page) == {} and page.evaluate("document.querySelectorAll('text.covered').length") == 0


def _tangents(build, values, k):
    """d(node)/d(input k) for every node build makes, by autodiff.jvp (forward mode in Python)."""
    from autodiff import jvp
    seed = [1.0 if i == k else 0.0 for i in range(len(values))]
    return jvp(build, tuple(values), tuple(seed))[1]


def test_forward_mode_tangents_equal_jvp_for_every_node_and_input(page, tmp_path):
    rng = random.Random(7)
    for trial in range(3):
        build = random_program(rng, 3, rng.randrange(4, 12))
        values = [rng.uniform(-1.5, 1.5) for _ in range(3)]
        root, leaves, nodes = labelled_graph(build, values)
        ids = {n: k for k, n in _ids(root).items()}
        page.goto(animate(root, tmp_path / f"bp{trial}.html").as_uri())
        assert "tangent" not in page.evaluate("autodiffPage.state()")["v0"]  # reverse mode, the default
        for changed in (False, True):
            if changed:
                values[1] = 0.25
                page.evaluate("autodiffPage.mode('reverse')")
                page.evaluate("autodiffPage.setInput('x1', 0.25)")
                root, leaves, nodes = labelled_graph(build, values)
                ids = {n: k for k, n in _ids(root).items()}  # the same graph, so the same ids
            for k in range(3):
                page.evaluate(f"autodiffPage.mode('forward', 'x{k}')")
                state = page.evaluate("autodiffPage.state()")
                tangents = _tangents(build, values, k)
                assert len(tangents) == len(nodes)
                for node, t in zip(nodes, tangents):
                    assert state[ids[node]]["tangent"] == pytest.approx(t, rel=1e-12, abs=1e-300), (trial, k, ids[node])
                assert state[ids[root]]["tangent"] == pytest.approx(leaves[k].grad, rel=1e-12, abs=1e-300)
                frames = page.evaluate("autodiffPage.frames()")
                assert "the two modes agree" in frames[-1]["text"]
                page.keyboard.press("End")
                assert "the two modes agree" in page.inner_text("#caption")
                assert page.inner_text("#title").startswith(f"forward mode from x{k}")
        page.evaluate("autodiffPage.setInput('x0', -0.5)")  # live in forward mode too
        values[0] = -0.5
        state = page.evaluate("autodiffPage.state()")
        root, leaves, nodes = labelled_graph(build, values)
        ids = {n: k for k, n in _ids(root).items()}
        for node, t in zip(nodes, _tangents(build, values, 2)):
            assert state[ids[node]]["tangent"] == pytest.approx(t, rel=1e-12, abs=1e-300)
    assert page.errors == []


def test_forward_mode_steps_in_topological_order_with_contributions(page, tmp_path):
    from autodiff.draw import fmt
    z = xy_graph()
    ids = _ids(z)
    page.goto(animate(z, tmp_path / "bp.html").as_uri())
    page.check("input[name=mode][value=forward]")  # as a user picks it: the first input, x
    assert page.evaluate("document.body.dataset.mode") == "forward" and page.input_value("#wrt") == "x"
    frames = page.evaluate("autodiffPage.frames()")
    order = [f["node"] for f in frames[1:]]
    assert order == sorted(order, key=lambda k: int(k[1:]))  # topological order: the ids are its positions
    x = ids["v0"]
    tangent = {"v0": 1.0, "v1": 0.0}
    for k, f in enumerate(frames[1:], 1):
        node = ids[f["node"]]
        page.evaluate(f"autodiffPage.show({k})")
        want, total = {}, 0.0
        for i, (p, d) in enumerate(zip(node.parents, node.chain_rule().local_grads)):
            if d is not None:
                pid = next(key for key, n in ids.items() if n is p)
                want[f"{f['node']}e{i}"] = f"{fmt(tangent[pid])} × {fmt(d)} = {fmt(tangent[pid] * d)}"
                total += tangent[pid] * d
        tangent[f["node"]] = total
        assert _contributions(page) == want
        assert f"tangent {fmt(total)}" in page.text_content(f"#{f['node']}")
    assert tangent["v4"] == pytest.approx(x.grad, rel=1e-15)
    page.select_option("#wrt", "y")
    assert page.evaluate("autodiffPage.state()")["v4"]["tangent"] == pytest.approx(ids["v1"].grad)
    page.check("input[name=mode][value=reverse]")
    assert "tangent" not in page.evaluate("autodiffPage.state()")["v4"] and "grad" in page.text_content("#v4")
    with pytest.raises(Exception, match="no input named"):
        page.evaluate("autodiffPage.mode('forward', 'nope')")
    with pytest.raises(Exception, match="not a mode"):
        page.evaluate("autodiffPage.mode('sideways')")
    assert page.errors == []


def test_number_fields_show_their_whole_number_or_say_it_on_hover(page, tmp_path):
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    out = (x * y).tanh() * x + y
    out.backward()
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    for v in (-0.4631207094, -0.46312070941234567, 1.2345678901234567e-300, -9.87654321012345e299, 123456.7890123,
              5e-324, 3.0):
        page.evaluate(f"autodiffPage.setInput('x', {v!r})")
        field = page.locator("[data-input=x]")
        assert field.evaluate("(f) => f.scrollWidth <= f.clientWidth"), v  # nothing scrolled out of sight
        shown = field.input_value()
        if float(shown) != v:  # rounded to fit: the exact number is in the tooltip, and in the field to edit
            assert float(shown) == pytest.approx(v, rel=1e-9)
            assert repr(v) in field.get_attribute("title")
            field.focus()
            assert float(field.input_value()) == v
            page.locator("h1").click()
    assert page.errors == []


def test_every_slider_is_centred_on_its_number_from_the_start(page, tmp_path):
    xs = [Value(v, label=f"x{i}") for i, v in enumerate((0.0, 0.3, -4.0, 250.0, -1e-3))]
    out = xs[0] * xs[1] + xs[2] * xs[3] + xs[4]
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    for x in xs:
        slider = f"input[aria-label='{x.label} (slider)']"
        low, high = (float(page.get_attribute(slider, a)) for a in ("min", "max"))
        assert (low + high) / 2 == pytest.approx(x.data, abs=1e-12)
        assert high - x.data >= max(1, 2 * abs(x.data)) - 1e-12
        assert float(page.input_value(slider)) == pytest.approx(x.data, abs=(high - low) / 200)


def test_long_labels_go_by_short_names_in_the_chain_rule_pane(page, tmp_path):
    from nn import MLP
    model = MLP(2, [16, 16, 1], seed=0)
    neuron = model.layers[0].neurons[14]
    out = neuron([Value(0.5, label="x0"), Value(-1.0, label="x1")])
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    path = animate(loss, tmp_path / "bp.html")
    page.goto(path.as_uri())
    nid = next(k for k, n in _ids(loss).items() if n is neuron.w[0])
    page.evaluate(f"autodiffPage.highlight('{nid}')")
    text = page.inner_text("#explain")
    assert "layers.0.neurons.14" not in text and "n14.w0" in text  # short, and still tells w0 from w1
    shorts = page.evaluate("() => [...document.querySelectorAll('#explain .short')].map((s) => [s.textContent, s.title])")
    assert ["n14.w0", "layers.0.neurons.14.w.0"] in shorts
    assert all(title.endswith(short.split(".")[-1][1:]) or "neurons" in title for short, title in shorts)
    from autodiff import explain
    assert page.evaluate(f"autodiffPage.explain('{nid}')") == str(explain(loss, neuron.w[0]))  # full names there
    # two layers' neuron 14: the short names keep their layers apart
    w = [Value(0.5 + k, label=f"layers.{layer}.neurons.14.w.0") for k, layer in enumerate((0, 1))]
    both = (w[0] * w[1]).tanh() * Value(2.0, label="layers.0.neurons.3.w.0")
    both.label = "out"
    page.goto(animate(both, tmp_path / "two.html").as_uri())
    names = page.evaluate("SHORT")
    assert names["layers.0.neurons.14.w.0"] != names.get("layers.1.neurons.14.w.0")
    assert len(set(names.values())) == len(names)
    assert page.errors == []


@pytest.mark.parametrize("size", [(1400, 1000), (1920, 1080)])
def test_graph_text_is_at_least_10px_and_the_picture_uses_the_windows_height(page, tmp_path, size):
    from nn import MLP
    page.set_viewport_size({"width": size[0], "height": size[1]})
    x = Value(0.5, label="x")
    chain = x
    for k in range(29):  # 60 nodes drawn: values and ops
        chain = chain.tanh() if k % 2 else chain * 1.5
    model = MLP(3, [3, 1], seed=2)
    mlp = (model([Value(0.5, label="a"), Value(-1.0, label="b"), Value(2.0, label="c")])[0] - 1.0) ** 2
    for name, root in (("chain", chain), ("mlp", mlp)):
        root.backward()
        assert len(topological_order(root)) <= 60
        page.goto(animate(root, tmp_path / f"{name}.html").as_uri())
        smallest = page.evaluate("""() => {
            const svg = document.querySelector('#graph svg'), scale = svg.getBoundingClientRect().width /
                svg.viewBox.baseVal.width;
            return Math.min(...[...svg.querySelectorAll('text')].map((t) =>
                parseFloat(getComputedStyle(t).fontSize) * scale)); }""")
        assert smallest >= 10, (name, size, smallest)
        box = page.locator("#graph").bounding_box()
        assert box["y"] + box["height"] >= size[1] - 30 and box["height"] >= 0.7 * size[1], (name, size, box)
        assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
        page.screenshot(path=str(tmp_path / f"{name}-{size[0]}.png"))
    assert page.errors == []


def test_hostile_labels_stay_inert_in_paths_short_names_and_forward_mode(page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    xs = [Value(float(k + 1), label=label) for k, label in enumerate(HOSTILE)]
    long = [Value(0.5, label="layers.0.neurons.1.w.0<img src=x onerror=alert(1)>"),
            Value(0.25, label="a.0.b.1.c.2.d.3" + "</script><script>alert(2)</script>")]
    out = xs[0] * xs[1] + xs[2] * xs[3] - xs[4] + long[0] * long[1]
    out.label = HOSTILE[1]
    page.goto(animate(out, tmp_path / "bp.html").as_uri())
    for nid in page.evaluate("Object.keys(autodiffPage.state())"):
        page.evaluate(f"autodiffPage.highlight('{nid}')")
        for k in range(page.locator("#paths li[data-path]").count()):
            page.hover(f"#paths li[data-path='{k}']")
    for name in page.evaluate("Object.keys(autodiffPage.inputs())"):
        page.evaluate("(n) => autodiffPage.mode('forward', n)", name)
        page.keyboard.press("End")
    assert dialogs == [] and page.errors == [] and all(r.startswith("file:") for r in page.requests)
    assert page.evaluate("document.querySelectorAll('script').length") == 3
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert HOSTILE[0] in page.inner_text("#wrt")  # shown as text


def _one_neuron_loss():
    from nn import MLP
    model = MLP(2, [16, 16, 1], seed=0)
    neuron = model.layers[0].neurons[14]
    loss = neuron([Value(0.5, label="x0"), Value(-1.0, label="x1")]) * 1.7
    loss.label = "loss"
    return loss


def test_the_picture_takes_the_orientation_that_fits_a_landscape_window(tmp_path):
    def size(path):
        svg = path.read_text()
        return tuple(float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())

    loss = _one_neuron_loss()
    w, h = size(animate(loss, tmp_path / "auto.html"))
    lw, lh = size(animate(loss, tmp_path / "lr.html", rankdir="LR"))
    tw, th = size(animate(loss, tmp_path / "tb.html", rankdir="TB"))
    assert (w, h) in ((lw, lh), (tw, th))
    best = max(min(1, 900 / lw, 780 / lh), min(1, 900 / tw, 780 / th))
    assert min(1, 900 / w, 780 / h) == best  # the larger of the two on a 1400x1000 window
    page = (tmp_path / "auto.html").read_text()
    assert ">n14.w0<" in page and 'xlink:title="layers.0.neurons.14.w.0"' in page  # short, whole on hover


def test_nodes_with_short_names_or_tooltips_are_highlighted_like_the_others(page, tmp_path):
    loss = _one_neuron_loss()
    ids = _ids(loss)
    w0 = next(k for k, n in ids.items() if n.label == "layers.0.neurons.14.w.0")
    page.goto(animate(loss, tmp_path / "bp.html").as_uri())
    page.evaluate(f"autodiffPage.highlight('{w0}')")
    stroke = "(id) => getComputedStyle(document.querySelector('#' + id + ' polygon')).strokeWidth"
    assert page.evaluate(stroke, w0) == "5px"  # picked, inside Graphviz's tooltip link
    frames = page.evaluate("autodiffPage.frames()")
    k = next(i for i, f in enumerate(frames) if w0 in f["set"])
    page.evaluate(f"autodiffPage.show({k})")
    assert page.evaluate("(id) => getComputedStyle(document.querySelector('#' + id + ' polygon')).strokeDasharray",
                         w0) != "none"
    assert page.errors == []


def test_the_arrow_keys_step_after_a_mode_is_picked(page, tmp_path):
    page.goto(animate(xy_graph(), tmp_path / "bp.html").as_uri())
    page.click("input[name=mode][value=forward]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.body.dataset.mode") == "forward" and page.evaluate("document.body.dataset.step") == "1"
    page.select_option("#wrt", "y")
    page.keyboard.press("ArrowRight")
    assert page.input_value("#wrt") == "y" and page.evaluate("document.body.dataset.step") == "1"


def test_forward_mode_says_the_modes_agree_when_the_terms_cancel(page, tmp_path):
    x = Value(1.0, label="x")
    y = (x * 0.1 + x * 0.2) - x * 0.3  # d/dx is 0.1 + 0.2 - 0.3: rounding, in two orders
    y.label = "y"
    page.goto(animate(y, tmp_path / "bp.html").as_uri())
    page.evaluate("autodiffPage.mode('forward', 'x')")
    text = page.evaluate("autodiffPage.frames()").pop()["text"]
    assert "the two modes agree" in text and "differs" not in text
    page.goto(animate(Value(2.0, label="z"), tmp_path / "leaf.html").as_uri())  # a leaf is its own root
    page.evaluate("autodiffPage.mode('forward', 'z')")
    text = page.evaluate("autodiffPage.frames()").pop()["text"]
    assert ".." not in text and "the two modes agree" in text


def test_every_leaf_keeps_a_field_whatever_the_labels(page, tmp_path):
    a, b, c = Value(1.0, label="v1"), Value(2.0), Value(3.0, label="leaf v1")
    root = a * b + c
    page.goto(animate(root, tmp_path / "bp.html").as_uri())
    inputs = page.evaluate("autodiffPage.inputs()")
    assert sorted(inputs.values()) == [1.0, 2.0, 3.0] and "v1" in inputs and "leaf v1" in inputs
    assert page.locator("#inputs input[type=text]").count() == 3


def test_typing_into_a_rounded_field_replaces_its_number(page, tmp_path):
    x = Value(0.1 + 0.2, label="x")
    y = x * 3.0
    page.goto(animate(y, tmp_path / "bp.html").as_uri())
    page.focus("#fit")
    page.keyboard.press("Tab")  # the keyboard's way into the first input's field
    assert page.evaluate("document.activeElement.dataset.input") == "x"
    page.keyboard.type("0.7")
    page.keyboard.press("Enter")
    assert page.evaluate("autodiffPage.inputs().x") == 0.7 and page.inner_text("#status") == ""


def test_an_input_used_twice_shows_its_grad_growing_edge_by_edge(page, tmp_path):
    from autodiff.draw import fmt
    x = Value(0.3, label="x")
    y = x * x
    y.label = "y"
    path = animate(y, tmp_path / "bp.html")
    text = frames_of(path)[1]["text"]
    half = 1.0 * 0.3
    assert text.count(f"→ {fmt(half)};") == 1 and text.endswith(f"→ {fmt(half + half)}")
    page.goto(path.as_uri())
    page.evaluate("autodiffPage.setInput('x', 0.3)")
    assert page.evaluate("autodiffPage.frames()") == frames_of(path)


def test_a_caption_that_grows_never_pushes_the_picture_out_of_the_window(page, tmp_path):
    page.set_viewport_size({"width": 1400, "height": 1000})
    xs = [Value(0.5 + k, label=f"an input with a long, long name, number {k} " + "of many words " * 3) for k in range(3)]
    root = xs[0] * xs[1] + xs[2]
    page.goto(animate(root, tmp_path / "bp.html").as_uri())
    for name in page.evaluate("Object.keys(autodiffPage.inputs())"):
        page.evaluate("(n) => autodiffPage.mode('forward', n)", name)
        for _ in range(3):
            page.keyboard.press("ArrowRight")
            assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
