"""animate(): one self-contained HTML page that steps through the backward pass of a graph.

The page holds one laid-out SVG and, per step, the node whose rules run and the grads it fills in; a little inline
script rewrites texts and classes. No network access at all: the page's Content-Security-Policy forbids it.
"""
import html
import json
import os
import re
from pathlib import Path

from .dot import Graph
from .render import load_graphviz, render
from .text import fmt
from .engine import Constant, Value, backprop
from .files import atomic_write

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
    grads filled in so far are shown and the rest are blank. Returns the path.
    """
    graphviz = load_graphviz("animate()")
    graph = Graph(root, rankdir, max_nodes=max_nodes)
    if graph.unit:
        raise ValueError(f"animate: the graph has {len(graph.order):,} values, more than max_nodes={max_nodes}; "
                         f"a step-through of that many is unreadable. Animate a smaller graph (one neuron, one "
                         f"sample), raise max_nodes, or draw() it")
    path = Path(path)
    final, trace = steps(root, graph)
    graph = Graph(root, rankdir, max_nodes=max_nodes, grads=final)  # laid out with this pass's grads: texts fit
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
    title = f"backward() through {_name(root, graph)}: {len(trace)} steps"
    page = fill(PAGE, {"title": html.escape(title), "svg": svg, "frames": script_json(frames)})
    atomic_write(path, page.encode("utf-8"))
    return path


def fill(template, values):
    """The template with each {{name}} replaced, in one pass: a value (a label, say) that contains {{frames}}
    stays text and is never expanded."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def script_json(data):
    """JSON that is safe inside <script>: no <, > or & in it can end the script or start a tag."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{{title}}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 17px; margin: 0 0 8px; }
  #controls { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
  #controls button { font-size: 14px; padding: 4px 10px; }
  #slider { flex: 1; max-width: 480px; }
  #caption { font-size: 14px; min-height: 2.6em; background: #f6f6f6; padding: 6px 10px; border-radius: 4px; }
  #graph { overflow: auto; }
  #graph.fit svg { max-width: 100%; height: auto; }
  .node.current polygon, .node.current ellipse { stroke: #d62728; stroke-width: 3px; }
  .node.updated polygon { fill: #fff3b0; }
  .edge.active path { stroke: #d62728; stroke-width: 2.5px; }
  .edge.active polygon { stroke: #d62728; fill: #d62728; }
  .hint { color: #777; font-size: 12px; }
</style>
</head>
<body>
<h1>{{title}}</h1>
<div id="controls">
  <button id="back" title="step back (left arrow)">&#9664; back</button>
  <button id="play" title="play or pause (space)">play</button>
  <button id="forward" title="step forward (right arrow)">forward &#9654;</button>
  <input id="slider" type="range" min="0" value="0" aria-label="step">
  <span id="step"></span>
  <label><input id="fit" type="checkbox" checked> fit to window</label>
</div>
<div id="caption"></div>
<p class="hint">Each step runs one node's local chain rule: its grad times the local derivative on each incoming
edge is added to that input's grad. Blank grads are not computed yet. Keys: left/right arrows, space, Home, End.</p>
<div id="graph" class="fit">{{svg}}</div>
<script type="application/json" id="frames">{{frames}}</script>
<script>
"use strict";
const frames = JSON.parse(document.getElementById("frames").textContent);
const slider = document.getElementById("slider");
const play = document.getElementById("play");
slider.max = frames.length - 1;
const gradText = {};
for (const g of document.querySelectorAll("g.node")) {
  for (const t of g.querySelectorAll("text")) {
    if (t.textContent.startsWith("grad ")) { gradText[g.id] = t; }
  }
}
let step = 0, timer = null;
function show(k) {
  step = Math.max(0, Math.min(frames.length - 1, k));
  const grads = {};
  for (let i = 0; i <= step; i++) { Object.assign(grads, frames[i].set); }
  for (const [id, t] of Object.entries(gradText)) {
    t.textContent = id in grads ? "grad " + grads[id] : "grad";
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
}
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
document.getElementById("fit").onchange = (e) => {
  document.getElementById("graph").classList.toggle("fit", e.target.checked);
};
slider.oninput = () => { pause(); show(Number(slider.value)); };
document.addEventListener("keydown", (e) => {
  if (e.target === slider && (e.key === "ArrowLeft" || e.key === "ArrowRight")) { e.preventDefault(); }
  if (e.key === "ArrowRight") { pause(); show(step + 1); }
  else if (e.key === "ArrowLeft") { pause(); show(step - 1); }
  else if (e.key === "Home") { pause(); show(0); }
  else if (e.key === "End") { pause(); show(frames.length - 1); }
  else if (e.key === " ") { e.preventDefault(); toggle(); }
});
show(0);
</script>
</body>
</html>
"""
