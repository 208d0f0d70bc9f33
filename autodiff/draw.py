"""Pictures of a computation graph: draw() gives a graphviz.Digraph (its DOT built in pure Python, dot.py), and
save_svg() writes it as SVG (rendered by Graphviz, render.py). Big graphs fold (fold.py); `v.tree()` is the text
view (text.py).

Building a graph needs only the `graphviz` package; rendering needs Graphviz's `dot` program, or the pygraphviz
package, whose wheels include Graphviz (`pip install -e '.[draw]'` in a checkout installs both packages).
"""
import os
from pathlib import Path
from typing import Any

from .dot import Graph, local_derivatives
from .engine import Value
from .files import atomic_write
from .render import GraphvizMissing, digraph_class, load_graphviz, render
from .text import fmt, tree

__all__ = ["draw", "save_svg", "tree", "GraphvizMissing",
           "Graph", "fmt", "local_derivatives", "render", "load_graphviz"]  # the parts, for whoever reads them


def draw(root: Value, rankdir: str = "LR", show_grad: bool = True, show_local: bool = True,
         max_nodes: int | None = None) -> Any:
    """The graph that computed `root` as a graphviz.Digraph: a record per Value (label, data, grad), a small node
    per op, one edge per use of a Value, and the local derivative on each edge.

    A graph of more than 60 values folds (an nn neuron's values into one box, then a layer's, then those farthest
    from the root into one) so that the picture stays readable at its natural size: by default at most 60 boxes,
    6 side by side, about 2,000 px long; with `max_nodes`, at most that many boxes. The picture says what it
    folded; a max_nodes as big as the graph unfolds it.

    In Jupyter the result displays itself; `.render()` or save_svg() write files; `.source` is the DOT text.
    """
    return Graph(root, rankdir, show_grad, show_local, max_nodes).digraph(digraph_class())


def save_svg(root: Value, path: str | os.PathLike[str], **options: Any) -> Path:
    """Draw `root` and write the picture to `path` as SVG (atomically); returns the path.

    Without Graphviz, raises GraphvizMissing (saying how to install it) after writing the DOT source to path.dot.
    """
    path = Path(path)
    if path.suffix.lower() != ".svg":
        raise ValueError(f"save_svg: {path} does not end in .svg, and save_svg writes SVG; name it .svg, or for "
                         f"another format use draw(root).render(outfile={str(path.with_suffix('.png'))!r})")
    dot = draw(root, **options)
    try:
        svg = render(dot.source, "svg")
    except GraphvizMissing as e:
        atomic_write(path.with_suffix(".dot"), dot.source.encode("utf-8"))
        raise GraphvizMissing(f"{e}\nThe DOT source was written to {path.with_suffix('.dot')}.") from None
    atomic_write(path, svg)
    return path
