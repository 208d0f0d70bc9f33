"""Rendering DOT with Graphviz: its `dot` program if there is one, else the Graphviz inside pygraphviz's wheels,
else an error that says how to install one. Every picture (draw, save_svg, animate) renders through here."""
import os
import sys
import tempfile
from pathlib import Path

from .files import atomic_write

__all__ = ["render", "load_graphviz", "digraph_class", "GraphvizMissing", "HOW_TO_INSTALL"]

HOW_TO_INSTALL = """rendering needs Graphviz, which was not found. Install one of:
  pip install pygraphviz           (its wheels include Graphviz; in a checkout: pip install -e '.[draw]')
  Debian/Ubuntu: sudo apt-get install graphviz
  macOS: brew install graphviz
  conda: conda install -c conda-forge graphviz
Building the graph (draw(...).source) needs none of these."""


class GraphvizMissing(RuntimeError):
    """Neither Graphviz's `dot` program nor pygraphviz is installed."""


def load_graphviz(who):
    """The graphviz package, or an ImportError that says how to install it."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"{who} needs the graphviz package: pip install graphviz (or, in a checkout of autodiff, "
                          f"pip install -e '.[draw]', which also brings a Graphviz to render with)") from None
    return graphviz


def render(source, fmt_="svg"):
    """Lay out and render DOT source to bytes."""
    graphviz = load_graphviz("rendering")
    try:
        return graphviz.pipe("dot", fmt_, source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        pass
    try:
        import pygraphviz
    except ImportError:
        raise GraphvizMissing(HOW_TO_INSTALL) from None
    with _quiet_stderr():  # its bundled fontconfig prints warnings that are not ours to show
        return pygraphviz.AGraph(string=source).draw(format=fmt_, prog="dot")


class _quiet_stderr:
    """Silence the process's stderr (a C library writing to fd 2) for a moment."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.sink = tempfile.TemporaryFile()
        os.dup2(self.sink.fileno(), 2)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.sink.close()
        return False


_CLASS = None


def digraph_class():
    """A graphviz.Digraph whose pipe() and render() fall back to pygraphviz, and explain a missing Graphviz."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    graphviz = load_graphviz("draw()")

    class Digraph(graphviz.Digraph):
        """graphviz.Digraph that renders without the dot program when pygraphviz is installed."""

        summary = ""

        def __repr__(self):
            return f"<autodiff Digraph: {self.summary}>" if self.summary else super().__repr__()

        def pipe(self, format=None, **kwargs):
            try:
                return super().pipe(format, **kwargs)
            except graphviz.ExecutableNotFound:
                data = render(self.source, format or self.format)
                encoding = kwargs.get("encoding")
                return data.decode(encoding) if encoding else data

        def render(self, filename=None, directory=None, view=False, cleanup=False, format=None, **kwargs):
            try:
                return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                      **kwargs)
            except graphviz.ExecutableNotFound:
                source = Path(self.save(filename, directory=directory))  # the DOT file is written in any case
                outfile = kwargs.get("outfile")
                fmt_ = format or (Path(outfile).suffix.lstrip(".") if outfile else self.format)
                out = Path(outfile) if outfile else source.with_name(f"{source.name}.{fmt_}")
                try:
                    data = render(self.source, fmt_)
                except GraphvizMissing as e:
                    raise GraphvizMissing(f"{e}\nThe DOT source was written to {source}.") from None
                atomic_write(out, data)
                if cleanup:
                    source.unlink()
                return str(out)

    Digraph.__module__, Digraph.__qualname__ = __name__, "Digraph"
    _CLASS = Digraph
    return _CLASS
