"""MLP <-> torch.nn.Sequential, for users who outgrow scalars. torch is imported only here, only when asked."""
__all__ = ["to_torch", "from_torch"]


def _torch(what):
    try:
        import torch
    except ImportError:
        raise ImportError(f"{what} needs PyTorch, which is not installed: pip install torch==2.13.0 "
                          f"(or, in a checkout of autodiff, pip install -e '.[torch]')") from None
    return torch


def _modules(torch):
    nn = torch.nn
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


def to_torch(mlp, dtype=None):
    """torch.nn.Sequential(Linear, activation, ..., Linear[, activation]) with the MLP's weights, in float64 (the
    precision of Values) unless dtype says otherwise."""
    torch = _torch("MLP.to_torch()")
    dtype = torch.float64 if dtype is None else dtype
    activations = _modules(torch)
    modules = []
    for layer in mlp.layers:
        nin, nout = len(layer.neurons[0].w), len(layer.neurons)
        linear = torch.nn.Linear(nin, nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        name = layer.neurons[0].activation
        if name != "linear":
            modules.append(activations[name]())  # LeakyReLU's default slope is 0.01, like Value.leaky_relu
    return torch.nn.Sequential(*modules)


def from_torch(cls, seq):
    """An MLP from a Sequential of Linear layers, each followed by at most one supported activation."""
    torch = _torch("MLP.from_torch()")
    names = {kind: name for name, kind in _modules(torch).items()}
    if not isinstance(seq, torch.nn.Sequential):
        raise ValueError(f"MLP.from_torch: expected a torch.nn.Sequential, got {type(seq).__name__}")
    layers = []  # [Linear, activation name]
    for i, m in enumerate(seq):
        if isinstance(m, torch.nn.Linear):
            if layers and layers[-1][0].out_features != m.in_features:
                raise ValueError(f"MLP.from_torch: module {i} takes {m.in_features} inputs but the layer before it "
                                 f"gives {layers[-1][0].out_features}")
            layers.append([m, "linear"])
        elif type(m) in names and layers and layers[-1][1] == "linear":
            if isinstance(m, torch.nn.LeakyReLU) and m.negative_slope != 0.01:
                raise ValueError(f"MLP.from_torch: module {i} is LeakyReLU({m.negative_slope}); only the slope "
                                 f"0.01 is supported")
            layers[-1][1] = names[type(m)]
        elif isinstance(m, torch.nn.Identity):
            continue
        else:
            raise ValueError(f"MLP.from_torch: module {i} ({type(m).__name__}) is not supported here; expected "
                             f"Linear layers, each followed by at most one of ReLU, Tanh, Sigmoid, LeakyReLU")
    if not layers:
        raise ValueError("MLP.from_torch: the Sequential has no Linear layer")
    hidden = {a for _, a in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"MLP.from_torch: the hidden layers use different activations {sorted(hidden)}; an MLP "
                         f"uses one activation for all hidden layers")
    for linear, _ in layers:
        if linear.bias is None:
            raise ValueError("MLP.from_torch: a Linear layer without bias is not supported (every Neuron has a b)")
    mlp = cls(layers[0][0].in_features, [m.out_features for m, _ in layers],
              activation=hidden.pop() if hidden else "relu", output_activation=layers[-1][1], seed=0)
    state = {}
    for li, (linear, _) in enumerate(layers):
        weight, bias = linear.weight.detach().tolist(), linear.bias.detach().tolist()
        for j, row in enumerate(weight):
            for k, w in enumerate(row):
                state[f"layers.{li}.neurons.{j}.w.{k}"] = w
            state[f"layers.{li}.neurons.{j}.b"] = bias[j]
    mlp.load_state_dict(state, source="MLP.from_torch")
    return mlp
