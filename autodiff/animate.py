"""animate(): one self-contained HTML page that steps through the backward pass of a graph, live.

The page holds one laid-out SVG, the backward pass's steps, and the graph itself: every input and parameter has a
number field and a slider, and changing one recomputes, in the page, every value, local derivative and grad (the
built-in ops in JavaScript, from one table, OPS below), and replays the steps on the new numbers. Clicking a node
shows d(root)/d(node) spelled out as the chain rule, as autodiff.explain writes it. A graph with a user primitive
(a Python function) is shown but not recomputed. No network access at all: the page's Content-Security-Policy
forbids it. Scripts can drive the page through `window.autodiffPage` (inputs, setInput, state).
"""
import html
import json
import math
import os
import re
from pathlib import Path

from .dot import Graph, local_derivatives
from .engine import OPS, TABLE, Constant, Value, backprop
from .explain import describe, name_of
from .files import atomic_write
from .render import load_graphviz, render
from .functional import watch
from .text import fmt, kind, valid

__all__ = ["animate"]


def steps(root, graph):
    """The backward pass as the engine runs it, computed aside (no .grad of any Value changes): the final grads,
    and [(node, [(parent, local derivative, grad after)])], one entry per node whose rules run, in order."""
    trace = []
    grads = backprop(graph.order, {root: 1.0}, False, trace)
    out = []
    for node, rule, after in trace:
        locals_ = [d for d in rule.local_grads if d is not None]
        out.append((node, [(p, d, g) for (p, g), d in zip(after, locals_)]))
    return grads, out


def _name(node, graph):
    """How a caption names a node: its label, else its op and data as the picture shows them."""
    if node.label:
        return node.label
    return f"[{node.op}] {fmt(node.data)}" if node.op else f"the input {fmt(node.data)}"


def animate(root: Value, path: str | os.PathLike[str], rankdir: str = "LR", max_nodes: int = 300) -> Path:
    """Write an HTML page to `path` that steps through root.backward(): play/pause, step, slider, arrow keys.

    Each step is one node whose local chain rule runs, in the engine's real order: that node is highlighted, the
    grads filled in so far are shown and the rest are blank. Every input and parameter can be changed in the page,
    which recomputes the graph and its grads there; clicking a node explains its grad. Returns the path.
    """
    graphviz = load_graphviz("animate()")
    graph = Graph(root, rankdir, max_nodes=max_nodes)
    if graph.unit:
        raise ValueError(f"animate: the graph has {len(graph.order):,} values, more than max_nodes={max_nodes}; "
                         f"a step-through of that many is unreadable. Animate a smaller graph (one neuron, one "
                         f"sample), raise max_nodes, or draw() it")
    path = Path(path)
    final, trace = steps(root, graph)
    # laid out with this pass's grads, and room for any number the page may write there later
    graph = Graph(root, rankdir, max_nodes=max_nodes, grads=final, room=ROOM)
    svg = render(graph.digraph(graphviz.Digraph).source, "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]

    frames = [{"node": graph.node_id(root), "op": False, "set": {graph.node_id(root): fmt(1.0)}, "edges": [],
               "text": f"Step 0: backward() seeds the root: grad({_name(root, graph)}) = 1"}]
    for k, (node, updates) in enumerate(trace, 1):
        nid = graph.node_id(node)
        parts = [f"grad({_name(p, graph)}) += {fmt(final[node])} × {fmt(d)} → {fmt(g)}" for p, d, g in updates]
        frames.append({"node": nid, "op": True, "set": {graph.node_id(p): fmt(g) for p, _, g in updates},
                       "edges": [f"{nid}e{i}" for i, p in enumerate(node.parents) if type(p) is not Constant],
                       "text": f"Step {k}: the rule of {node.op} at {_name(node, graph)} runs: " + "; ".join(parts)})
    title = valid(f"backward() through {_name(root, graph)}: {len(trace)} steps")
    page = fill(PAGE, {"title": html.escape(title), "svg": svg, "frames": script_json(frames),
                       "graph": script_json(json.dumps(live_graph(graph, final)))})  # a string: JSON.parse reads it
    atomic_write(path, page.encode("utf-8"))
    return path


ROOM = 7  # characters the page's layout keeps for each number; a longer one is written narrower to fit


def live_graph(graph, grads):
    """What the page needs to recompute the graph: every node in topological order (its op's row of the page's
    table, its parents, data, grad and local derivatives, and its names in captions and derivations), the inputs
    by name, and why the page cannot recompute it, if it cannot."""
    rows = dict(zip(OPS, TABLE))  # Op -> its key in the table, which names its row in the page's table too
    rows[watch] = "input"  # the identity through which grad and hessian watch their arguments
    nodes, primitives = [], []
    for node in graph.order:
        row = rows.get(node.grad_fn)
        if node.grad_fn is not None and row is None:
            primitives.append(node.op)
        nodes.append({"id": graph.node_id(node), "kind": kind(node, graph.root), "constant": type(node) is Constant,
                      "label": node.label, "op": row, "opname": node.op, "data": _number(node.data),
                      "grad": _number(grads.get(node, 0.0)), "parents": [graph.node_id(p) for p in node.parents],
                      "locals": [None if d is None else _number(d) for d in local_derivatives(node)],
                      "name": name_of(node, None), "describe": describe(node)})
    leaves = [n for n in graph.order if not n.parents and type(n) is not Constant]
    labels = [n.label for n in leaves]
    named = {n.label: graph.node_id(n) for n in leaves if n.label and labels.count(n.label) == 1}
    inputs = {}
    for n in leaves:  # a leaf goes by its label; without one, or with one that two leaves share, by its node id
        nid = graph.node_id(n)
        name = n.label if named.get(n.label) == nid else nid if nid not in named else f"leaf {nid}"
        inputs[name] = nid
    frozen = ""
    if primitives:
        names = ", ".join(dict.fromkeys(primitives))
        frozen = (f"This graph uses {names}, which this page cannot compute (it is not an op of autodiff's table: a "
                  f"primitive, that is a Python function, or an Op of your own): the numbers shown are Python's, "
                  f"and the inputs cannot be changed here. Change them in Python and call animate() again.")
    return {"root": graph.node_id(graph.root), "nodes": nodes, "inputs": inputs, "frozen": frozen}


def _number(x):
    """A float for the page's JSON, which has no inf or nan: those travel as strings."""
    return x if math.isfinite(x) else repr(x)


def fill(template, values):
    """The template with each {{name}} replaced, in one pass: a value (a label, say) that contains {{frames}}
    stays text and is never expanded."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def script_json(data):
    """JSON that is safe inside <script>: no <, > or & in it can end the script or start a tag."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{{title}}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 17px; margin: 0 0 8px; overflow-wrap: anywhere; }
  #controls { display: flex; gap: 8px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
  #controls button { font-size: 14px; padding: 4px 10px; }
  #slider { flex: 1; max-width: 480px; }
  #caption { font-size: 14px; min-height: 2.6em; background: #f6f6f6; padding: 6px 10px; border-radius: 4px;
             overflow-wrap: anywhere; }
  #keys { display: flex; gap: 18px; font-size: 12px; color: #444; margin: 6px 0; flex-wrap: wrap; }
  #keys i { display: inline-block; width: 20px; height: 10px; margin-right: 5px; vertical-align: middle;
            background: #fff; }
  #keys .cur { border: 3px solid #d62728; }
  #keys .upd { border: 3px dashed #ff7f0e; }
  #keys .act { height: 0; border-top: 3px solid #d62728; }
  #keys .frz { border: 2px dotted #777; background: #eee; }
  #graph { overflow: auto; max-height: 78vh; border: 1px solid #eee; }
  #graph svg { display: block; }
  #side { display: flex; gap: 16px; font-size: 13px; margin: 6px 0; align-items: flex-start; }
  #side h2 { font-size: 14px; margin: 4px 0; }
  #live { flex: 0 0 460px; }
  #rule { flex: 1; min-width: 0; }
  #inputs { max-height: 24vh; overflow: auto; }
  #explain { max-height: 24vh; overflow: auto; }
  .input { display: grid; grid-template-columns: 190px 96px 1fr; gap: 6px; align-items: center; margin: 3px 0; }
  .input .name { overflow-wrap: anywhere; font-size: 12px; }
  .input input[type=text] { width: 90px; }
  .input input[type=range] { width: 100%; min-width: 0; margin: 0; }
  .input input.bad { outline: 2px solid #d62728; }
  #status { color: #b00; min-height: 1.2em; margin: 4px 0; }
  #status.frozen { color: #555; }
  #explain { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; background: #f6f6f6; padding: 6px; border-radius: 4px;
             min-height: 3em; margin: 0; }
  .node { cursor: pointer; }
  .node.current > polygon, .node.current > ellipse { stroke: #d62728; stroke-width: 3px; }
  .node.updated > polygon { stroke: #ff7f0e; stroke-width: 3px; stroke-dasharray: 6 3; }
  .node.frozen > polygon, .node.frozen > ellipse { stroke: #777; stroke-dasharray: 2 2; }
  .node.picked > polygon { stroke: #1f77b4; stroke-width: 4px; }
  .edge.active path { stroke: #d62728; stroke-width: 2.5px; }
  .edge.active polygon { stroke: #d62728; fill: #d62728; }
  .hint { color: #777; font-size: 12px; margin: 4px 0; }
</style>
</head>
<body>
<h1 id="title">{{title}}</h1>
<div id="controls">
  <button id="back" title="step back (left arrow)">&#9664; back</button>
  <button id="play" title="play or pause (space)">play</button>
  <button id="forward" title="step forward (right arrow)">forward &#9654;</button>
  <input id="slider" type="range" min="0" value="0" aria-label="step">
  <span id="step"></span>
  <label><input id="fit" type="checkbox" checked> fit to window</label>
</div>
<div id="caption"></div>
<div id="keys">
  <span><i class="cur"></i>the node whose chain rule runs</span>
  <span><i class="upd"></i>grads it just updated</span>
  <span><i class="act"></i>the edges its grad flows back along</span>
  <span id="frozen-key" hidden><i class="frz"></i>a primitive: not recomputed in this page</span>
</div>
<p class="hint">Each step runs one node's local chain rule: its grad times the local derivative on each incoming
edge is added to that input's grad. Blank grads are not computed yet. Keys: left/right arrows, space, Home, End.
Change an input on the left to recompute everything; click a node to see its grad as the chain rule.</p>
<div id="side">
  <div id="live">
    <h2>Inputs and parameters</h2>
    <div id="status"></div>
    <div id="inputs"></div>
  </div>
  <div id="rule">
    <h2>The chain rule for one node</h2>
    <pre id="explain">Click a node to see d(root)/d(node) as the sum over its paths to the root.</pre>
  </div>
</div>
<div id="graph">{{svg}}</div>
<script type="application/json" id="frames">{{frames}}</script>
<script>
"use strict";
const G = JSON.parse({{graph}});  // (JSON.parse: a label "__proto__" stays a key)

// ----- the op table: each built-in op's forward and its local derivatives, as in autodiff's engine -----------
function refuse(message) { throw new Error(message); }
function pyrepr(x) {  // a number as Python's repr writes it (2.0, 1e-07, inf), for messages
  if (x !== x) { return "nan"; }
  if (x === Infinity || x === -Infinity) { return x > 0 ? "inf" : "-inf"; }
  if (Object.is(x, -0)) { return "-0.0"; }
  let s = String(x);
  if (!s.includes("e") && (Math.abs(x) >= 1e16 || (x !== 0 && Math.abs(x) < 1e-4))) { s = x.toExponential(); }
  if (s.includes("e")) {
    const [m, e] = s.split("e");
    const sign = e[0] === "-" ? "-" : "+", digits = e.replace(/^[-+]/, "");
    return m + "e" + sign + digits.padStart(2, "0");
  }
  return s.includes(".") ? s : s + ".0";
}
const finite = Number.isFinite;
function pw(x, y) {  // Python's float power (C99 pow): 1 ** nan and (-1) ** inf are 1
  if (x === 1 || y === 0) { return 1; }
  if (x === -1 && (y === Infinity || y === -Infinity)) { return 1; }
  return Math.pow(x, y);
}
function power(x, y) {
  if ((x === 0 && y < 0) || (x < 0 && y !== Math.floor(y))) {
    if (!finite(x) || !finite(y)) { return pw(x, y); }
    if (x === 0) { refuse("**: " + pyrepr(x) + " to the negative power " + pyrepr(y) + " is undefined (division by zero)"); }
    refuse("**: a negative base " + pyrepr(x) + " to the non-integer power " + pyrepr(y) + " has no real value");
  }
  return pw(x, y);
}
const OPS = {
  add: { f: (x, y) => x + y, d: () => [1, 1] },
  sub: { f: (x, y) => x - y, d: () => [1, -1] },
  mul: { f: (x, y) => x * y, d: (x, y) => [y, x] },
  div: { f: (x, y) => (y === 0 && finite(x)) ? refuse("/: cannot divide " + pyrepr(x) + " by zero; keep the denominator away from 0 (e.g. add a small eps)") : x / y,
         d: (x, y, out) => [1 / y, -out / y] },
  power: { f: power, d: (x, y, out) => [y ? y * pw(x, y - 1) : 0, x ? out * Math.log(x) : 0] },
  vpower: { f: (x, y) => (x < 0 && finite(x) && finite(y)) ? refuse("**: a negative base " + pyrepr(x) + " to a Value power is not differentiable; use a positive base, or a plain number as the exponent") : power(x, y),
            d: (x, y, out) => [y ? y * pw(x, y - 1) : 0, x ? out * Math.log(x) : 0] },
  leaky: { f: (x, y) => x > 0 ? x : y * x, d: (x, y) => [x > 0 ? 1 : y, x > 0 ? 0 : x] },
  neg: { f: (x) => -x, d: () => [-1] },
  absolute: { f: Math.abs, d: (x) => [x > 0 ? 1 : x < 0 ? -1 : 0] },
  exp: { f: (x) => (x > 709 && Math.exp(x) === Infinity && finite(x)) ? refuse("exp: exp(" + pyrepr(x) + ") overflows a float (inputs above about 709.78 do)") : Math.exp(x),
         d: (x, out) => [out] },
  log: { f: (x) => x <= 0 ? (finite(x) ? refuse("log: log(" + pyrepr(x) + ") is undefined; log needs a positive number") : NaN) : Math.log(x),
         d: (x) => [1 / x] },
  sqrt: { f: (x) => x < 0 ? (finite(x) ? refuse("sqrt: sqrt(" + pyrepr(x) + ") is undefined; sqrt needs a number >= 0") : NaN) : Math.sqrt(x),
          d: (x, out) => [0.5 / out] },
  tanh: { f: Math.tanh, d: (x, out) => [1 - out ** 2] },
  sigmoid: { f: (x) => { if (x >= 0) { return 1 / (1 + Math.exp(-x)); } const e = Math.exp(x); return e / (1 + e); },
             d: (x, out) => [out * (1 - out)] },
  relu: { f: (x) => x <= 0 ? 0 : x, d: (x) => [x <= 0 ? 0 : 1] },
  sin: { f: (x) => finite(x) || x !== x ? Math.sin(x) : NaN, d: (x) => [Math.cos(x)] },
  cos: { f: (x) => finite(x) || x !== x ? Math.cos(x) : NaN, d: (x) => [-Math.sin(x)] },
  step: { f: (x) => x <= 0 ? 0 : 1, d: () => [0] },  // the choices of relu's, abs's and leaky_relu's rules, as ops
  sign: { f: (x) => x > 0 ? 1 : x < 0 ? -1 : 0, d: () => [0] },
  slope: { f: (x, y) => x > 0 ? 1 : y, d: (x) => [0, x > 0 ? 0 : 1] },
  below: { f: (x, y) => x > 0 ? 0 : y, d: (x) => [0, x > 0 ? 0 : 1] },
  input: { f: (x) => x, d: () => [1] },  // grad's and hessian's watch on an argument
};

// ----- numbers as autodiff writes them (autodiff.text.fmt, and Python's format(x, ".4g")) ----------------------
function gfmt(x, p) {  // format(x, "." + p + "g") exactly: the decimal digits of the float, ties to even
  if (x !== x) { return "nan"; }
  if (x === Infinity) { return "inf"; }
  if (x === -Infinity) { return "-inf"; }
  if (x === 0) { return Object.is(x, -0) ? "-0" : "0"; }
  const [digits, exp] = roundDecimal(Math.abs(x), p);
  const sign = x < 0 ? "-" : "";
  const strip = (s) => s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
  if (exp >= -4 && exp < p) {
    const point = exp + 1;  // digits before the decimal point
    const text = point <= 0 ? "0." + "0".repeat(-point) + digits : digits.slice(0, point) + "." + digits.slice(point);
    return sign + strip(text);
  }
  const mantissa = strip(digits[0] + "." + digits.slice(1));
  return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
}
function roundDecimal(x, p) {  // ([p digits], e): x rounded to p significant digits is 0.d1d2... x 10^(e+1)
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0), lo = view.getUint32(4), biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo), e2 = biased - 1075;
  if (biased === 0) { e2 = -1074; } else { m |= 1n << 52n; }  // x = m * 2^e2 exactly
  let e = Math.floor(Math.log10(x));
  for (;;) {
    const k = e - p + 1;  // n = round(x / 10^k), to even at a tie
    let num = m, den = 1n;
    if (e2 >= 0) { num <<= BigInt(e2); } else { den <<= BigInt(-e2); }
    if (k >= 0) { den *= 10n ** BigInt(k); } else { num *= 10n ** BigInt(-k); }
    let n = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && n % 2n === 1n)) { n += 1n; }
    const text = n.toString();
    if (text.length > p) { e += 1; continue; }  // log10 was low, or the rounding carried: 9.9996 -> 10.00
    if (text.length < p) { e -= 1; continue; }
    return [text, e];
  }
}
function fmt(x) {
  if (x === 0) { return "0"; }
  const short = gfmt(x, 4);
  if (Number(short) !== x && !short.includes(".") && !short.includes("e") && x === x && Math.abs(x) !== Infinity) {
    const six = gfmt(x, 6);
    return Number(six) !== Number(short) ? six : String(x);
  }
  return short;
}
const fromJSON = (v) => typeof v === "string" ? { inf: Infinity, "-inf": -Infinity, nan: NaN }[v] : v;

// ----- the graph, and recomputing it -------------------------------------------------------------------------
const order = G.nodes, byId = {};
for (const n of order) {
  n.data = fromJSON(n.data); n.grad = fromJSON(n.grad);
  n.locals = n.locals.map((d) => d === null ? null : fromJSON(d));
  byId[n.id] = n;
}
const root = byId[G.root];
const frozen = G.frozen;

function forward(n) {  // n's data from its parents' data, or an Error naming the op
  const xs = n.parents.map((id) => byId[id].data);
  const out = OPS[n.op].f(...xs);
  if (xs.every(finite) && !finite(out)) {
    const args = n.opname + "(" + xs.map(pyrepr).join(", ") + ")";
    refuse(out === out ? args + ": the result overflows a float (it would be " + pyrepr(out) + "); scale the inputs down"
                       : args + ": the result is not a number (nan) although every operand is finite");
  }
  return out;
}

function derivatives(n) {  // d(n)/d(parent) for each parent (null for a Constant), or an Error naming the op
  const xs = n.parents.map((id) => byId[id].data);
  const ds = OPS[n.op].d(...xs, n.data).map((d, i) => byId[n.parents[i]].constant ? null : d);
  ds.forEach((d, i) => {
    if (d !== null && xs.every(finite) && !finite(d)) {
      refuse(n.opname + "(" + xs.map(pyrepr).join(", ") + "): the derivative with respect to input " + i + " is " +
             (d === d ? "infinite" : "not a number") + " here; keep the input off this point, for example by " +
             "adding a small eps");
    }
  });
  return ds;
}

function backward() {  // autodiff's backward pass on this page's numbers: the grads, and the rules that ran
  const grads = new Map([[root.id, 1]]), trace = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k], g = grads.get(n.id);
    if (g === undefined || !n.opname) { continue; }
    n.parents.forEach((id, i) => {
      if (n.locals[i] === null) { return; }
      const c = g * n.locals[i];
      grads.set(id, grads.has(id) ? grads.get(id) + c : c);
    });
    trace.push([n, n.parents.map((id, i) => n.locals[i] === null ? null : grads.get(id))]);  // grads after it
  }
  return [grads, trace];
}

function captionName(n) {
  if (n.label) { return n.label; }
  return n.opname ? "[" + n.opname + "] " + fmt(n.data) : "the input " + fmt(n.data);
}

function buildFrames(trace) {  // the steps, as animate() writes them
  const out = [{ node: root.id, op: false, set: { [root.id]: fmt(1) }, edges: [],
                 text: "Step 0: backward() seeds the root: grad(" + captionName(root) + ") = 1" }];
  trace.forEach(([n, after], k) => {
    const parts = [], set = {}, edges = [];
    n.parents.forEach((id, i) => {
      if (n.locals[i] === null) { return; }
      const p = byId[id];
      parts.push("grad(" + captionName(p) + ") += " + fmt(n.grad) + " × " + fmt(n.locals[i]) + " → " + fmt(after[i]));
      set[id] = fmt(after[i]);
      edges.push(n.id + "e" + i);
    });
    out.push({ node: n.id, op: true, set: set, edges: edges,
               text: "Step " + (k + 1) + ": the rule of " + n.opname + " at " + captionName(n) + " runs: " +
                     parts.join("; ") });
  });
  return out;
}

function recompute(changes) {  // set inputs' data, then every value, local derivative and grad; all or nothing
  const saved = order.map((n) => [n.data, n.locals, n.grad]);
  try {
    for (const [id, value] of changes) { byId[id].data = value; }
    for (const n of order) {
      if (n.opname) { n.data = forward(n); }
    }
    for (let k = order.length - 1; k >= 0; k--) {
      if (order[k].opname) { order[k].locals = derivatives(order[k]); }
    }
    const [grads, trace] = backward();
    for (const n of order) { n.grad = grads.has(n.id) ? grads.get(n.id) : 0; }
    frames = buildFrames(trace);
  } catch (e) {
    order.forEach((n, k) => { [n.data, n.locals, n.grad] = saved[k]; });
    throw e;
  }
  redraw();
}

// ----- the chain rule for one node (autodiff.explain) --------------------------------------------------------
const MAX_PATHS = 32;
const bare = (s) => s.startsWith("(") && s.endsWith(")") ? s.slice(1, -1) : s;
const num = (x) => gfmt(x, 4);
function fsum(xs) {  // Neumaier's compensated sum (Python's math.fsum is exact; this is as close as 4 digits show)
  let s = 0, c = 0;
  for (const x of xs) { const t = s + x; c += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s; s = t; }
  return s + c;
}
function explain(id) {
  if (!Object.prototype.hasOwnProperty.call(byId, id) || byId[id].constant) {
    refuse("explain: no node with id " + JSON.stringify(id) + "; the ids are those of state()");
  }
  const node = byId[id];
  const top = bare(root.name === null ? "root" : root.name), bottom = bare(node.name === null ? "node" : node.name);
  const head = "d" + top + "/d" + bottom;
  if (node === root) { return head + " = 1"; }
  const reach = new Set([id]), count = new Map([[id, 1n]]), consumers = new Map();
  for (const n of order) {
    if (n.parents.some((p) => reach.has(p))) { reach.add(n.id); }
  }
  for (const n of order) {
    if (reach.has(n.id) && n !== node) {
      count.set(n.id, n.parents.reduce((a, p) => reach.has(p) ? a + count.get(p) : a, 0n));
      n.parents.forEach((p, i) => {
        if (reach.has(p)) {
          if (!consumers.has(p)) { consumers.set(p, []); }
          consumers.get(p).push([n, n.locals[i]]);
        }
      });
    }
  }
  const total = reach.has(root.id) ? count.get(root.id) : 0n;
  if (total === 0n) { return head + " = 0: " + top + " does not depend on " + bottom; }
  const grads = new Map([[root.id, 1]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (reach.has(n.id) && n !== node && grads.has(n.id)) {
      n.parents.forEach((p, i) => {
        if (reach.has(p) && n.locals[i] !== null) {
          grads.set(p, (grads.has(p) ? grads.get(p) : 0) + grads.get(n.id) * n.locals[i]);
        }
      });
    }
  }
  if (total > BigInt(MAX_PATHS)) {
    const uses = [];
    for (const n of order) {
      if (reach.has(n.id) && n !== node) {
        n.parents.forEach((p, i) => { if (p === id) { uses.push([n, n.locals[i], grads.get(n.id)]); } });
      }
    }
    const terms = uses.map(([u, d]) => "grad(" + bare(u.describe) + ") × " + num(d)).join(" + ");
    const values = uses.map(([, d, g]) => num(g) + " × " + num(d)).join(" + ");
    return head + ": " + total.toLocaleString("en-US") + " paths from " + bottom + " to " + top +
      ", too many to list; factored as backward() computes it, grad(" + bottom + ") = sum over its uses of " +
      "grad(use) × local derivative:\n  grad(" + bottom + ") = " + terms + "\n  = " + values + "\n  = " +
      num(grads.get(id));
  }
  const paths = [], stack = [[[node], []]];
  while (stack.length) {
    const [nodes, factors] = stack.pop();
    if (nodes[nodes.length - 1] === root) { paths.push([nodes, factors]); continue; }
    const next = consumers.get(nodes[nodes.length - 1].id) || [];
    for (let k = next.length - 1; k >= 0; k--) { stack.push([nodes.concat([next[k][0]]), factors.concat([next[k][1]])]); }
  }
  const symbolic = paths.map(([nodes, factors]) => {
    let s = "";
    for (let k = factors.length - 1; k >= 0; k--) { s += "(d" + nodes[k + 1].describe + "/d" + nodes[k].describe + ")"; }
    return s;
  });
  const numeric = paths.map(([, factors]) => factors.slice().reverse().map(num).join(" × "));
  const sum = fsum(paths.map(([, factors]) => factors.reduce((a, f) => a * f, 1)));
  return head + " = " + symbolic.join(" + ") + "\n  = " + numeric.join(" + ") + "\n  = " + num(sum);
}

// ----- the page ----------------------------------------------------------------------------------------------
let frames = JSON.parse(document.getElementById("frames").textContent);
const slider = document.getElementById("slider");
const play = document.getElementById("play");
const graphBox = document.getElementById("graph");
const svg = graphBox.querySelector("svg");
const texts = {};  // node id -> [its data text, its grad text] (a record's last two fields; a label comes first)
for (const n of order) {
  const g = document.getElementById(n.id);
  if (!g || n.constant) { continue; }
  const t = g.querySelectorAll("text");
  if (t.length >= 2) { texts[n.id] = [t[t.length - 2], t[t.length - 1]]; }
  if (n.opname && !n.op) {
    g.classList.add("frozen");
    const circle = document.getElementById(n.id + "op");
    if (circle) { circle.classList.add("frozen"); }
  }
}
let step = 0, timer = null;

const room = new Map();  // a number's text -> the width the layout made for it (numbers were padded to ROOM)
function write(t, text) {  // a number into its place, squeezed if it is wider than the place
  if (!room.has(t)) { room.set(t, t.getComputedTextLength()); }
  t.textContent = text;
  t.removeAttribute("textLength");
  if (t.getComputedTextLength() > room.get(t) + 0.5) {
    t.setAttribute("textLength", room.get(t));
    t.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}
function writeNumbers() {  // the data of every node and the local derivative on every edge, at the current point
  for (const n of order) {
    if (texts[n.id]) { write(texts[n.id][0], "data " + fmt(n.data)); }
    n.parents.forEach((id, i) => {
      const edge = document.getElementById(n.id + "e" + i), label = edge && edge.querySelector("text");
      if (label && n.locals[i] !== null) { write(label, fmt(n.locals[i])); }
    });
  }
}

function redraw() {  // the numbers of the current point: data, local derivatives on the edges, the title
  writeNumbers();
  const title = "backward() through " + captionName(root) + ": " + (frames.length - 1) + " steps";
  document.getElementById("title").textContent = title;
  document.title = title;
  slider.max = frames.length - 1;
  for (const row of inputRows) { row.sync(); }
  if (shownExplain !== null) { showExplain(shownExplain); }
  show(step);
}

function show(k) {
  step = Math.max(0, Math.min(frames.length - 1, k));
  const grads = {};
  for (let i = 0; i <= step; i++) { Object.assign(grads, frames[i].set); }
  for (const [id, t] of Object.entries(texts)) {
    write(t[1], id in grads ? "grad " + grads[id] : "grad");
  }
  for (const el of document.querySelectorAll(".current, .updated, .active")) {
    el.classList.remove("current", "updated", "active");
  }
  const f = frames[step];
  for (const id of f.op ? [f.node, f.node + "op"] : [f.node]) {
    const el = document.getElementById(id);
    if (el) { el.classList.add("current"); }
  }
  for (const id of Object.keys(f.set)) {
    const el = document.getElementById(id);
    if (el && id !== f.node) { el.classList.add("updated"); }
  }
  for (const id of f.edges) {
    const el = document.getElementById(id);
    if (el) { el.classList.add("active"); }
  }
  slider.value = step;
  document.getElementById("step").textContent = "step " + step + " of " + (frames.length - 1);
  document.getElementById("caption").textContent = f.text;
  document.body.dataset.step = step;
  document.body.dataset.current = f.node;
  follow(f);
}

// big graphs: fit to the window, but never below a readable size; then the view follows the active node
const MIN_SCALE = 0.55;  // 11 pt text stays 8 px tall
const natural = [svg.width.baseVal.value, svg.height.baseVal.value];
function layout() {
  const fit = document.getElementById("fit").checked;
  graphBox.style.maxHeight = Math.max(300, window.innerHeight - graphBox.getBoundingClientRect().top -
                                      window.scrollY - 16) + "px";
  const scale = fit ? Math.max(MIN_SCALE, Math.min(1, (graphBox.clientWidth - 4) / natural[0])) : 1;
  svg.style.width = natural[0] * scale + "px";
  svg.style.height = natural[1] * scale + "px";
  document.body.dataset.scale = scale.toFixed(3);
  follow(frames[step]);
}
function follow(f) {  // scroll the graph so that the step's node, and if they fit the grads it updates, are seen
  const main = document.getElementById(f.op ? f.node + "op" : f.node);
  if (!main) { return; }
  const box = graphBox.getBoundingClientRect();
  const rects = [main, document.getElementById(f.node)].concat(Object.keys(f.set).map((id) => document.getElementById(id)))
    .filter((el) => el).map((el) => el.getBoundingClientRect());
  const all = rects.reduce((u, r) => ({ left: Math.min(u.left, r.left), right: Math.max(u.right, r.right),
                                         top: Math.min(u.top, r.top), bottom: Math.max(u.bottom, r.bottom) }));
  const m = main.getBoundingClientRect();
  const want = (all.right - all.left <= box.width - 8 && all.bottom - all.top <= box.height - 8) ? all : m;
  const shift = (lo, hi, blo, bhi) => {  // the least scroll that shows [lo, hi]; a too wide one shows its end
    if (hi - lo > bhi - blo) { return hi - bhi + 4; }
    if (lo < blo) { return lo - blo - 4; }
    if (hi > bhi) { return hi - bhi + 4; }
    return 0;
  };
  graphBox.scrollLeft += shift(want.left, want.right, box.left, box.right);
  graphBox.scrollTop += shift(want.top, want.bottom, box.top, box.bottom);
}

// the inputs: a number field and a slider for each, named by its label (or its node id)
const names = Object.keys(G.inputs);
const status = document.getElementById("status");
const inputRows = [];
for (const name of names) {
  const n = byId[G.inputs[name]];
  const row = document.createElement("label"), label = document.createElement("span");
  const field = document.createElement("input"), range = document.createElement("input");
  row.className = "input"; label.className = "name"; label.textContent = name;
  label.title = "hover to find it in the picture";
  field.type = "text"; field.inputMode = "decimal"; field.setAttribute("aria-label", name);
  range.type = "range"; range.setAttribute("aria-label", name + " (slider)");
  let dragged = false;  // while its own slider moves the input, the slider keeps its range under the pointer
  const recenter = () => {  // the slider spans the input's number, +- twice its size (at least 2)
    const span = Math.max(1, Math.abs(n.data)) * 2;
    range.min = n.data - span; range.max = n.data + span; range.step = span / 200;
  };
  if (finite(n.data)) { recenter(); } else { range.disabled = true; }
  field.dataset.input = name;
  row.append(label, field, range);
  document.getElementById("inputs").append(row);
  const apply = (text, from) => {
    try {
      const value = text.trim() === "" ? NaN : Number(text);
      if (!finite(value)) {
        refuse(name + ": " + JSON.stringify(text) + " is not a finite number; type one such as 0.5 or -2e-3");
      }
      setInput(name, value);
      for (const f of document.querySelectorAll("#inputs input.bad")) { f.classList.remove("bad"); }
      status.textContent = frozen;
    } catch (e) {
      row.sync();  // the controls show the input's number again, which did not change
      from.classList.add("bad");
      status.textContent = e.message;
    }
  };
  field.onchange = () => apply(field.value, field);
  range.oninput = () => { dragged = true; try { apply(range.value, range); } finally { dragged = false; } };
  row.sync = () => {
    field.value = pyrepr(n.data).replace(/\.0$/, "");
    if (!finite(n.data)) { return; }
    if (!dragged || n.data < Number(range.min) || n.data > Number(range.max)) { recenter(); }
    range.value = n.data;
  };
  row.sync();
  const node = document.getElementById(n.id);
  row.onmouseenter = () => { if (node) { node.classList.add("picked"); follow({ op: false, node: n.id, set: {} }); } };
  row.onmouseleave = () => { if (node) { node.classList.remove("picked"); } };
  if (frozen) { field.disabled = range.disabled = true; }
  inputRows.push(row);
}
if (frozen) {
  status.textContent = frozen;
  status.className = "frozen";
  document.getElementById("frozen-key").hidden = false;
}
if (!names.length) { status.textContent = "This graph has no inputs to change."; }

function setInput(name, value) {
  if (frozen) { refuse(frozen); }
  if (!Object.prototype.hasOwnProperty.call(G.inputs, name)) {
    refuse("setInput: no input named " + JSON.stringify(name) + "; the inputs are " + JSON.stringify(names));
  }
  if (typeof value !== "number" || !finite(value)) {
    refuse("setInput: " + name + " needs a finite number, got " + String(value));
  }
  recompute([[G.inputs[name], value]]);
}

let shownExplain = null;
function showExplain(id) {
  shownExplain = id;
  document.getElementById("explain").textContent = explain(id);
}
graphBox.addEventListener("click", (e) => {
  const g = e.target.closest("g.node");
  const id = g && g.id.replace(/op$/, "");
  if (id && byId[id] && !byId[id].constant) { showExplain(id); }
});

window.autodiffPage = Object.freeze({
  inputs: () => Object.fromEntries(names.map((name) => [name, byId[G.inputs[name]].data])),
  setInput: setInput,
  state: () => Object.fromEntries(order.filter((n) => !n.constant)
    .map((n) => [n.id, { label: n.label, data: n.data, grad: n.grad }])),
  explain: explain,
  frames: () => JSON.parse(JSON.stringify(frames)),
  show: (k) => show(k),
});

function pause() { clearInterval(timer); timer = null; play.textContent = "play"; }
function toggle() {
  if (timer) { pause(); return; }
  if (step === frames.length - 1) { show(0); }
  play.textContent = "pause";
  timer = setInterval(() => { if (step >= frames.length - 1) { pause(); } else { show(step + 1); } }, 900);
}
document.getElementById("back").onclick = () => { pause(); show(step - 1); };
document.getElementById("forward").onclick = () => { pause(); show(step + 1); };
play.onclick = toggle;
document.getElementById("fit").onchange = layout;
window.addEventListener("resize", layout);
slider.oninput = () => { pause(); show(Number(slider.value)); };
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" && e.target !== slider && e.target.type !== "checkbox") { return; }
  if (e.target === slider && (e.key === "ArrowLeft" || e.key === "ArrowRight")) { e.preventDefault(); }
  if (e.key === "ArrowRight") { pause(); show(step + 1); }
  else if (e.key === "ArrowLeft") { pause(); show(step - 1); }
  else if (e.key === "Home") { pause(); show(0); }
  else if (e.key === "End") { pause(); show(frames.length - 1); }
  else if (e.key === " ") { e.preventDefault(); toggle(); }
});
slider.max = frames.length - 1;
writeNumbers();
layout();
show(0);
</script>
</body>
</html>
"""
