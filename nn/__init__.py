"""nn: neural networks built from autodiff Values (modules, losses and optimizers arrive here)."""

__all__ = []
