"""micrograd.engine's name for autodiff's Value: `from autodiff.micrograd.engine import Value`."""
from ..engine import Value

__all__ = ["Value"]
