"""A node's chain rule as text a learner reads: `print(z.chain_rule())` shows the formulas of its op's row of the
table with the node's own names and numbers."""
import math
import re

from .engine import Constant

__all__ = ["chain_rule_text", "readable"]


def chain_rule_text(rule):
    """The text of a ChainRule: the node's forward, then one line per parent that receives a gradient."""
    node, op = rule.node, rule.node.grad_fn
    if op is None:
        return f"chain rule of {_name(node, 'out')}: none (a leaf)"
    defaults = "xy" if op.n <= 2 else [f"x{i}" for i in range(op.n)]
    taken = {_name(p, None) for p in rule.parents} - {None}
    names, seen = [], {}
    for p, default in zip(rule.parents, defaults):
        if p not in seen:  # a parent used twice (a * a) has one name; two parents never share one
            name = _name(p, None)
            if name is None:
                name = default
                while name in taken:
                    name += "'"
                taken.add(name)
            seen[p] = name
        names.append(seen[p])
    out = _name(node, "out")
    while out in names:
        out += "'"
    variables = {**dict(zip("xy", names)), "out": out}
    numbers = {v: p.data for v, p in zip("xy", rule.parents) if type(p) is Constant}
    if op.formulas and " if " not in op.formulas[0]:
        forward = _substitute(op.formulas[0], variables)
    else:
        forward = f"{op.name}({', '.join(names)})"
    if op.formulas:
        derivs = [_substitute(_decided(f, numbers), variables) for f in op.formulas[1:]]
    else:  # a primitive: its derivatives are functions, not formulas
        derivs = [f"d{op.name}/d{n}" for n in names]
    try:
        local = rule.local_grads
    except (ArithmeticError, ValueError):
        local = [None if type(p) is Constant else "undefined here" for p in rule.parents]
    lines = [f"chain rule of {out} = {forward}:"]
    for n, d, number in zip(names, derivs, local):
        if number is not None:
            d = f"({d})" if " " in d else d
            number = number if isinstance(number, str) else repr(number)  # a float, or "undefined here"
            shown = "" if _bare(d) == number else f"   (= {number})"
            lines.append(f"  grad({_bare(n)}) += grad({_bare(out)}) * {d}{shown}")
    return "\n".join(lines)


def _name(node, default):
    """How a chain rule names a node: its label (in parentheses unless it is a plain name), a Constant's number."""
    if node.label:
        return node.label if re.fullmatch(r"[\w.\[\]']+", node.label) else f"({node.label})"
    if type(node) is Constant:
        return repr(node.data) if math.copysign(1.0, node.data) > 0 else f"({node.data!r})"  # -0.0 too
    return default


def _bare(name):
    return name[1:-1] if name.startswith("(") and name.endswith(")") else name  # grad(a+b), not grad((a+b))


def _decided(formula, numbers):
    """A formula with the conditions that only look at numbers (Constants) decided: for x ** 2, the rule
    `y * x ** (y - 1) if value(y) else 0.0` is `y * x ** (y - 1)`."""
    m = re.fullmatch(r"(.+?) if (.+?) else (.+)", formula)
    if not m:
        return formula
    then, condition, otherwise = m.groups()
    used = set(re.findall(r"\b(x|y|out)\b", condition))
    if not used or not used <= set(numbers):
        return f"{then} if {condition} else {_decided(otherwise, numbers)}"
    chosen = eval(condition, {"value": lambda v: v}, dict(numbers))  # only numbers and comparisons: no user text
    return then if chosen else _decided(otherwise, numbers)


def readable(formula):
    """A formula of the table as a reader writes it: value(x) is x, exp_(x) is exp(x), div_(x, y) is x / y."""
    formula = re.sub(r"^v?pow_\(x, y\)$", "x ** y", formula.replace("div_(x, y)", "x / y"))
    formula = re.sub(r"\b(\w+)_\(", r"\1(", formula)
    return re.sub(r"(?<!\w)value\((\w+)\)", r"\1", formula)


def _substitute(formula, names):
    """A formula, readable, with its variables x, y, out replaced by names in one pass (so none is rewritten)."""
    text = re.sub(r"\b(x|y|out)\b", lambda m: names.get(m.group(1), m.group(1)), readable(formula))
    return re.sub(r"(\w)\(\(([^()]*)\)\)", r"\1(\2)", text)  # abs(a+b), not abs((a+b))
