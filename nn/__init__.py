"""nn: neurons, layers, MLPs, losses and optimizers, all made of autodiff Values (no gradient code of its own)."""
from .module import Module, Neuron, Layer, MLP
from .losses import mse_loss, hinge_loss, binary_cross_entropy, cross_entropy
from .optim import SGD, Adam

__all__ = ["Module", "Neuron", "Layer", "MLP", "SGD", "Adam",
           "mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy"]
