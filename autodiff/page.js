// The script of the page autodiff.animate() writes (see animate.py): the graph's data arrive as JSON, the ops
// are recomputed from the table OPS, and window.autodiffPage at the end is what scripts and tests drive.
"use strict";
const G = JSON.parse(document.getElementById("data").textContent);  // (JSON.parse: a label "__proto__" stays a key)

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

function buildFrames(trace) {  // the steps of reverse mode, as animate() writes them
  const out = [{ node: root.id, op: false, set: { [root.id]: fmt(1) }, edges: [], contrib: {},
                 text: "Step 0: backward() seeds the root: grad(" + captionName(root) + ") = 1" }];
  const running = new Map([[root.id, 1]]);  // each grad as each edge adds to it (x * x adds twice, in turn)
  trace.forEach(([n, after], k) => {
    const parts = [], set = {}, edges = [], contrib = {};
    n.parents.forEach((id, i) => {
      if (n.locals[i] === null) { return; }
      const p = byId[id], c = n.grad * n.locals[i];
      running.set(id, running.has(id) ? running.get(id) + c : c);
      parts.push("grad(" + captionName(p) + ") += " + fmt(n.grad) + " × " + fmt(n.locals[i]) + " → " +
                 fmt(running.get(id)));
      set[id] = fmt(after[i]);
      edges.push(n.id + "e" + i);
      contrib[n.id + "e" + i] = fmt(n.grad) + " × " + fmt(n.locals[i]) + " = " + fmt(n.grad * n.locals[i]);
    });
    n.parents.forEach((id, i) => { if (n.locals[i] !== null) { running.set(id, after[i]); } });
    out.push({ node: n.id, op: true, set: set, edges: edges, contrib: contrib,
               text: "Step " + (k + 1) + ": the rule of " + n.opname + " at " + captionName(n) + " runs: " +
                     parts.join("; ") });
  });
  return out;
}

// ----- forward mode: tangents d(node)/d(input), from one input towards the root --------------------------------
function tangents(inputId) {  // every node's tangent (Constants aside), the nodes that depend on the input, and
  const t = new Map(), reach = new Set([inputId]), size = new Map();  // the size of the terms each tangent sums
  for (const n of order) {
    if (n.constant) { continue; }
    if (!n.opname) { t.set(n.id, n.id === inputId ? 1 : 0); size.set(n.id, t.get(n.id)); continue; }
    let sum = 0, big = 0;
    n.parents.forEach((id, i) => {
      if (n.locals[i] !== null) { sum += t.get(id) * n.locals[i]; big += Math.abs(size.get(id) * n.locals[i]); }
    });
    t.set(n.id, sum);
    size.set(n.id, big);
    if (n.parents.some((id) => reach.has(id))) { reach.add(n.id); }
  }
  return [t, reach, size];
}

function forwardFrames(inputId) {  // the steps of forward mode: one per node that depends on the input, in order
  const [t, reach, size] = tangents(inputId), x = byId[inputId], wrt = captionName(x);
  const seed = {};
  for (const n of order) {
    if (!n.constant && !reach.has(n.id) || n === x) { seed[n.id] = fmt(t.get(n.id)); }
  }
  const out = [{ node: x.id, op: false, set: seed, edges: [], reads: [], contrib: {},
                 text: "Step 0: forward mode seeds the input " + wrt + ": tangent(" + wrt + ") = d" + wrt + "/d" +
                       wrt + " = 1, and every other input's tangent is 0. A node's tangent is d(node)/d(" + wrt +
                       "); nodes that do not depend on " + wrt + " have tangent 0." }];
  for (const n of order) {
    if (!n.opname || n === x || !reach.has(n.id)) { continue; }
    const terms = [], edges = [], reads = [], contrib = {};
    n.parents.forEach((id, i) => {
      if (n.locals[i] === null) { return; }
      const c = t.get(id) * n.locals[i];
      terms.push(fmt(t.get(id)) + " × " + fmt(n.locals[i]));
      edges.push(n.id + "e" + i);
      reads.push(id);
      contrib[n.id + "e" + i] = fmt(t.get(id)) + " × " + fmt(n.locals[i]) + " = " + fmt(c);
    });
    out.push({ node: n.id, op: true, set: { [n.id]: fmt(t.get(n.id)) }, edges: edges, reads: reads,
               contrib: contrib, text: "Step " + out.length + ": tangent(" + captionName(n) + ") = the sum of " +
               "tangent(input) × local derivative over its inputs = " + terms.join(" + ") + " = " +
               fmt(t.get(n.id)) });
  }
  const last = out[out.length - 1], tan = t.get(root.id), grad = x.grad;
  // the two modes add the same products in other orders: they agree to rounding, relative to the products' size
  const same = tan === grad ? "equals" : Math.abs(tan - grad) <= 1e-12 * Math.max(Math.abs(tan), size.get(root.id))
    ? "equals, to rounding (the same products added in another order)," : "differs from";
  last.text = last.text.replace(/\.$/, "") + ". Done: d" + captionName(root) + "/d" + wrt + " = tangent(" + captionName(root) + ") = " +
    fmt(tan) + ", which " + same + " grad(" + wrt + ") = " + fmt(grad) + " from the reverse pass" +
    (same === "differs from" ? "." : ": the two modes agree.");
  return [out, t];
}

let mode = "reverse", wrtId = null, tangent = null;  // forward mode's input, and every node's tangent
function modeFrames() {  // the frames of the mode shown, on the current numbers
  if (mode === "reverse") { return buildFrames(backward()[1]); }
  const [out, t] = forwardFrames(wrtId);
  tangent = t;
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
    const grads = backward()[0];
    for (const n of order) { n.grad = grads.has(n.id) ? grads.get(n.id) : 0; }
    frames = modeFrames();
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
function chainOf(id) {  // what explain and highlight need of d(root)/d(node): the nodes that depend on it, ...
  if (!Object.prototype.hasOwnProperty.call(byId, id) || byId[id].constant) {
    refuse("explain: no node with id " + JSON.stringify(id) + "; the ids are those of state()");
  }
  const node = byId[id];
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
          consumers.get(p).push([n, n.locals[i], i]);
        }
      });
    }
  }
  const total = node === root ? 1n : reach.has(root.id) ? count.get(root.id) : 0n;
  const paths = [];  // [[its nodes, the local derivative on each edge, each edge's index among its node's inputs]]
  if (node !== root && total > 0n && total <= BigInt(MAX_PATHS)) {
    const stack = [[[node], [], []]];
    while (stack.length) {
      const [nodes, factors, edges] = stack.pop();
      if (nodes[nodes.length - 1] === root) { paths.push([nodes, factors, edges]); continue; }
      const next = consumers.get(nodes[nodes.length - 1].id) || [];
      for (let k = next.length - 1; k >= 0; k--) {
        stack.push([nodes.concat([next[k][0]]), factors.concat([next[k][1]]), edges.concat([next[k][2]])]);
      }
    }
  }
  return { node: node, reach: reach, total: total, paths: paths };
}

function explain(id) {  // autodiff.explain's text, with the page's numbers
  const { node, reach, total, paths } = chainOf(id);
  const top = bare(root.name === null ? "root" : root.name), bottom = bare(node.name === null ? "node" : node.name);
  const head = "d" + top + "/d" + bottom;
  if (node === root) { return head + " = 1"; }
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
  const symbolic = paths.map(([nodes, factors]) => {
    let s = "";
    for (let k = factors.length - 1; k >= 0; k--) { s += "(d" + nodes[k + 1].describe + "/d" + nodes[k].describe + ")"; }
    return s;
  });
  const numeric = paths.map(([, factors]) => factors.slice().reverse().map(num).join(" × "));
  const sum = fsum(paths.map(([, factors]) => factors.reduce((a, f) => a * f, 1)));
  return head + " = " + symbolic.join(" + ") + "\n  = " + numeric.join(" + ") + "\n  = " + num(sum);
}

function pathEdges({ node, reach }) {  // every edge on a path from chainOf's node to the root: [[from, to, index]]
  const out = [];
  if (node === root) { return out; }
  for (const n of order) {
    if (reach.has(n.id) && n !== node) {
      n.parents.forEach((p, i) => { if (reach.has(p)) { out.push([p, n.id, i]); } });
    }
  }
  return out;
}

// ----- short names for long labels (autodiff.text.short_names): n14.w0 for layers.0.neurons.14.w.0 ------------
const SHORT = G.short;  // {label: short name}, as the picture draws them; the whole label shows on hover
const SHORT_RE = Object.keys(SHORT).length === 0 ? null : new RegExp("(?:(?<![\\w.])|(?<=(?:^|[^\\w.])d))(" + Object.keys(SHORT)
  .sort((a, b) => b.length - a.length).map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")(?![\\w.])", "g");  // (a name, or d + name)
function writeShort(el, text) {  // text into an element, each long label as its short name with the label on hover
  el.textContent = "";
  let last = 0;
  for (const m of SHORT_RE ? text.matchAll(SHORT_RE) : []) {
    el.append(text.slice(last, m.index));
    const span = document.createElement("span");
    span.className = "short"; span.textContent = SHORT[m[0]]; span.title = m[0];
    el.append(span);
    last = m.index + m[0].length;
  }
  el.append(text.slice(last));
}

// ----- the page ----------------------------------------------------------------------------------------------
let frames = JSON.parse(document.getElementById("frames").textContent);
const slider = document.getElementById("slider");
const play = document.getElementById("play");
const graphBox = document.getElementById("graph");
const side = document.getElementById("side");
const svg = graphBox.querySelector("svg");
const SVG_NS = "http://www.w3.org/2000/svg";
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

const WORDS = {  // what the legend and the hint say in each mode
  reverse: ["the node whose chain rule runs", "grads it just updated", "the edges its grad flows back along, " +
            "each labelled grad(out) × local derivative = contribution",
            "Reverse mode (backward()): each step runs one node's local chain rule: its grad times the local " +
            "derivative on each incoming edge (the edge's label) is added to that input's grad. Blank grads are not " +
            "computed yet. One pass from the root gives d(root)/d(x) for every input x."],
  forward: ["the node whose tangent is computed", "the tangents it reads", "the edges it reads along, each " +
            "labelled tangent(input) × local derivative = contribution",
            "Forward mode: a node's tangent is d(node)/d(x) for the chosen input x. In topological order, each " +
            "node's tangent is the sum over its incoming edges of tangent(input) × local derivative. One pass " +
            "from x gives d(node)/d(x) for every node; reverse mode gives d(root)/d(every input) instead."],
};
function redraw() {  // the numbers of the current point: data, local derivatives on the edges, the title
  writeNumbers();
  const title = mode === "reverse" ? "backward() through " + captionName(root) + ": " + (frames.length - 1) + " steps"
    : "forward mode from " + captionName(byId[wrtId]) + " to " + captionName(root) + ": " + (frames.length - 1) +
      " steps";
  document.getElementById("title").textContent = title;
  document.title = title;
  const [cur, upd, act, hint] = WORDS[mode];
  document.getElementById("key-cur").textContent = cur;
  document.getElementById("key-upd").textContent = upd;
  document.getElementById("key-act").textContent = act;
  document.getElementById("hint").textContent = hint;
  document.body.dataset.mode = mode;
  slider.max = frames.length - 1;
  for (const row of inputRows) { row.sync(); }
  if (picked !== null) { pick(picked); }
  show(step);
}

function contributions(f) {  // each edge the step updates, labelled with its contribution, on the picture itself
  for (const el of svg.querySelectorAll("text.contrib")) { el.remove(); }
  for (const el of svg.querySelectorAll("text.covered")) { el.classList.remove("covered"); }
  for (const [id, text] of Object.entries(f.contrib || {})) {
    const edge = document.getElementById(id);
    if (!edge) { continue; }
    const label = edge.querySelector("text"), t = document.createElementNS(SVG_NS, "text");
    let x, y;
    if (label) {  // in the local derivative's place, which it repeats
      [x, y] = [Number(label.getAttribute("x")), Number(label.getAttribute("y"))];
      label.classList.add("covered");
    } else {  // (an edge without a label: at its middle)
      const path = edge.querySelector("path"), mid = path.getPointAtLength(path.getTotalLength() / 2);
      [x, y] = [mid.x, mid.y - 4];
    }
    const [product, sum] = text.split(" = ");  // two short lines, "g × d" over "= c", rather than one long one
    t.setAttribute("text-anchor", "middle");
    t.setAttribute("class", "contrib");
    for (const [k, line] of [product, " = " + sum].entries()) {
      const span = document.createElementNS(SVG_NS, "tspan");
      span.setAttribute("x", x);
      span.setAttribute("y", y - 13 + 13 * k);
      span.textContent = line;
      t.append(span);
    }
    edge.append(t);
    edge.parentNode.append(edge);  // drawn last: over the nodes it may cross
  }
  const placed = [...svg.querySelectorAll("text.contrib")].map((t) => [t, t.getBBox()]).sort((a, b) => a[1].y - b[1].y);
  placed.forEach(([t, box], k) => {  // labels of edges that meet at one op may overlap: each moves below the last
    for (const [, above] of placed.slice(0, k)) {
      const overlap = above.y + above.height + 1 - box.y;
      if (overlap > 0 && box.x < above.x + above.width && above.x < box.x + box.width) {
        box.y += overlap;
        t.setAttribute("transform", "translate(0 " + (box.y - t.getBBox().y) + ")");
      }
    }
  });
}

function show(k) {
  step = Math.max(0, Math.min(frames.length - 1, k));
  const numbers = {};
  for (let i = 0; i <= step; i++) { Object.assign(numbers, frames[i].set); }
  const word = mode === "reverse" ? "grad" : "tangent";
  for (const [id, t] of Object.entries(texts)) {
    write(t[1], id in numbers ? word + " " + numbers[id] : word);
  }
  for (const el of document.querySelectorAll(".current, .updated, .active")) {
    el.classList.remove("current", "updated", "active");
  }
  const f = frames[step];
  for (const id of f.op ? [f.node, f.node + "op"] : [f.node]) {
    const el = document.getElementById(id);
    if (el) { el.classList.add("current"); }
  }
  for (const id of mode === "reverse" ? Object.keys(f.set) : f.reads) {
    const el = document.getElementById(id);
    if (el && id !== f.node) { el.classList.add("updated"); }
  }
  for (const id of f.edges) {
    const el = document.getElementById(id);
    if (el) { el.classList.add("active"); }
  }
  contributions(f);
  slider.value = step;
  document.getElementById("step").textContent = "step " + step + " of " + (frames.length - 1);
  document.getElementById("caption").textContent = f.text;
  if (document.getElementById("main").getBoundingClientRect().top + window.scrollY !== mainTop) { layout(); }
  document.body.dataset.step = step;
  document.body.dataset.current = f.node;
  follow(f);
}

// the picture: as big as the window lets it be, never with text below 10 px; the view follows the active node
const natural = [svg.width.baseVal.value, svg.height.baseVal.value];
// the picture's text is 10 to 11 units of its viewBox (Graphviz's points): at one pixel a unit or more, 10 px or more
const MIN_SCALE = svg.viewBox.baseVal.width * 1.001 / natural[0], MAX_SCALE = 1.3;
let mainTop = null;  // where the picture starts: a caption that grows or shrinks moves it, and layout runs again
function layout() {
  const fit = document.getElementById("fit").checked;
  const top = mainTop = document.getElementById("main").getBoundingClientRect().top + window.scrollY;
  const height = Math.max(320, window.innerHeight - top - 14) + "px";
  graphBox.style.height = side.style.height = height;
  const room = [graphBox.clientWidth - 4, graphBox.clientHeight - 4];
  const scale = fit ? Math.max(MIN_SCALE, Math.min(MAX_SCALE, room[0] / natural[0], room[1] / natural[1])) : 1;
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
const FIELD = 17;  // characters a number field shows: a longer number is shown rounded, exact on hover and on focus
function shown(x) {  // x as the field shows it: Python's repr, or rounded to as many digits as fit in FIELD
  let s = pyrepr(x).replace(/\.0$/, "");
  for (let p = 15; s.length > FIELD && p > 0; p--) { s = pyrepr(Number(x.toPrecision(p))).replace(/\.0$/, ""); }
  return s;
}
for (const name of names) {
  const n = byId[G.inputs[name]];
  const row = document.createElement("label"), label = document.createElement("span");
  const field = document.createElement("input"), range = document.createElement("input");
  row.className = "input"; label.className = "name"; label.textContent = name;
  label.title = name + " (hover to find it in the picture)";
  field.type = "text"; field.inputMode = "decimal"; field.setAttribute("aria-label", name);
  field.size = FIELD;
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
  field.onfocus = () => { field.value = pyrepr(n.data).replace(/\.0$/, ""); field.select(); };  // exact, to edit
  field.onblur = () => row.sync();
  range.oninput = () => { dragged = true; try { apply(range.value, range); } finally { dragged = false; } };
  range.onchange = () => { if (finite(n.data)) { recenter(); range.value = n.data; } };  // let go: centred again
  row.sync = () => {
    const exact = pyrepr(n.data).replace(/\.0$/, "");
    field.value = document.activeElement === field ? exact : shown(n.data);
    field.title = field.value === exact ? name : name + " = " + exact + " (shown rounded; exact when you edit it)";
    if (!finite(n.data)) { return; }
    if (!dragged || n.data < Number(range.min) || n.data > Number(range.max)) { recenter(); }
    range.value = n.data;
  };
  row.sync();
  const node = document.getElementById(n.id);
  row.onmouseenter = () => { if (node) { node.classList.add("picked"); follow({ op: false, node: n.id, set: {} }); } };
  row.onmouseleave = () => { if (node && picked !== n.id) { node.classList.remove("picked"); } };
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

// ----- forward or reverse ---------------------------------------------------------------------------------------
const wrtBox = document.getElementById("wrt");
for (const name of names) {
  const option = document.createElement("option");
  option.value = name; option.textContent = name;
  wrtBox.append(option);
}
if (!names.length) { document.getElementById("modes").hidden = true; }
function setMode(which, name) {  // reverse mode, or forward mode from the input called name (the first by default)
  if (which === "reverse") {
    mode = "reverse"; wrtId = null; tangent = null;
  } else if (which === "forward") {
    name = name === undefined ? names[0] : name;
    if (!Object.prototype.hasOwnProperty.call(G.inputs, name)) {
      refuse("mode: no input named " + JSON.stringify(name) + "; the inputs are " + JSON.stringify(names));
    }
    mode = "forward"; wrtId = G.inputs[name]; wrtBox.value = name;
  } else {
    refuse("mode: " + JSON.stringify(which) + " is not a mode; use mode(\"reverse\") or mode(\"forward\", name)");
  }
  for (const r of document.querySelectorAll("input[name=mode]")) { r.checked = r.value === mode; }
  pause();
  frames = modeFrames();
  step = 0;
  redraw();
}
for (const r of document.querySelectorAll("input[name=mode]")) {  // (then the arrow keys step, not switch modes)
  r.onchange = () => { setMode(r.value, wrtBox.value); r.blur(); };
}
wrtBox.onchange = () => { setMode("forward", wrtBox.value); wrtBox.blur(); };

// ----- a node's paths to the root, highlighted, and its chain rule ------------------------------------------------
let picked = null;
const explainBox = document.getElementById("explain"), pathList = document.getElementById("paths");
function mark(edges, nodeIds) {  // these edges and nodes drawn as on a path (and no others)
  for (const el of svg.querySelectorAll(".onpath")) { el.classList.remove("onpath"); }
  for (const [, to, i] of edges) {
    for (const id of [to + "e" + i, to + "out"]) {
      const el = document.getElementById(id);
      if (el) { el.classList.add("onpath"); }
    }
  }
  for (const id of nodeIds) {
    for (const el of [document.getElementById(id), document.getElementById(id + "op")]) {
      if (el) { el.classList.add("onpath"); }
    }
  }
}
function pick(id) {  // the node's paths to the root on the picture and in the pane; returns the edges, once each
  const chain = chainOf(id), edges = pathEdges(chain);  // (the paths found once, for both)
  picked = id;
  for (const el of svg.querySelectorAll(".picked")) { el.classList.remove("picked"); }
  const el = document.getElementById(id);
  if (el) { el.classList.add("picked"); }
  const node = chain.node, lit = () => mark(edges, [...chain.reach].filter((n) => n !== id));
  lit();
  writeShort(explainBox, explain(id));
  pathList.textContent = "";
  if (chain.paths.length > 1 || (chain.paths.length === 1 && chain.node !== root)) {
    const head = document.createElement("li");
    head.textContent = chain.paths.length === 1 ? "Its one path to the root (hover it):" :
      "Its " + chain.paths.length + " paths to the root (hover one to see it alone):";
    pathList.append(head);
  } else if (chain.total > BigInt(MAX_PATHS)) {
    const note = document.createElement("li");
    note.textContent = "All " + chain.total.toLocaleString("en-US") + " paths are highlighted on the picture.";
    pathList.append(note);
  }
  chain.paths.forEach(([nodes, factors, idx], k) => {
    const li = document.createElement("li"), product = factors.reduce((a, f) => a * f, 1);
    const steps = [];  // the path's nodes; a run of nodes without a name of their own (… + …) is one ⋯
    for (const n of nodes) {
      const name = bare(n.describe), nameless = /^[\s…()+\-*/]*$/.test(name) && n !== node && n !== root;
      if (!nameless) { steps.push(name); } else if (steps[steps.length - 1] !== "⋯") { steps.push("⋯"); }
    }
    writeShort(li, (k + 1) + ". " + steps.join(" → ") + ":  ");
    li.title = nodes.map((n) => bare(n.describe)).join(" → ");
    const numbers = document.createElement("span");
    numbers.className = "product";
    numbers.textContent = factors.map(num).join(" × ") + " = " + num(product);
    li.append(numbers);
    li.dataset.path = k;
    li.onmouseenter = () => mark(nodes.slice(1).map((n, j) => [nodes[j].id, n.id, idx[j]]),
                                 nodes.slice(1).map((n) => n.id));
    li.onmouseleave = lit;
    pathList.append(li);
  });
  const once = new Map(edges.map(([from, to]) => [from + ">" + to, [from, to]]));  // x * x: two edges, one pair
  return [...once.values()];
}
function unpick() {
  picked = null;
  for (const el of svg.querySelectorAll(".onpath, .picked")) { el.classList.remove("onpath", "picked"); }
  explainBox.textContent = "Click a node to see d(root)/d(node) as the sum over its paths to the root.";
  pathList.textContent = "";
}
graphBox.addEventListener("click", (e) => {
  const g = e.target.closest("g.node");
  const id = g && g.id.replace(/op$/, "");
  if (id && byId[id] && !byId[id].constant) { pick(id); }
});

window.autodiffPage = Object.freeze({
  inputs: () => Object.fromEntries(names.map((name) => [name, byId[G.inputs[name]].data])),
  setInput: setInput,
  state: () => Object.fromEntries(order.filter((n) => !n.constant).map((n) => [n.id, mode === "forward"
    ? { label: n.label, data: n.data, grad: n.grad, tangent: tangent.get(n.id) }
    : { label: n.label, data: n.data, grad: n.grad }])),
  explain: explain,
  highlight: (id) => { const edges = pick(id); follow({ op: false, node: id, set: {} }); return edges; },
  mode: (which, name) => { setMode(which, name); },
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
  if ((e.target.tagName === "INPUT" && e.target !== slider && e.target.type !== "checkbox") ||
      e.target.tagName === "SELECT") { return; }
  if (e.target === slider && (e.key === "ArrowLeft" || e.key === "ArrowRight")) { e.preventDefault(); }
  if (e.key === "ArrowRight") { pause(); show(step + 1); }
  else if (e.key === "ArrowLeft") { pause(); show(step - 1); }
  else if (e.key === "Home") { pause(); show(0); }
  else if (e.key === "End") { pause(); show(frames.length - 1); }
  else if (e.key === " ") { e.preventDefault(); toggle(); }
  else if (e.key === "Escape") { unpick(); }
});
redraw();
layout();
show(0);
