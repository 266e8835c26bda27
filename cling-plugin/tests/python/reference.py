# Pure-PyTorch references of the torchclad operators, and the tolerances the
# comparisons use.
import torch
import torch.nn.functional as F

# float64: both sides round the same sums in different orders (Clad's loops
# and our BLAS calls vs ATen's kernels), a few ulps of 1e-16 each.
# float32: the same reordering at eps 6e-8 over sums of up to 784 terms
# (the MNIST layer) drifts ~sqrt(784)*eps relatively, so 1e-5 relative,
# 1e-6 absolute for values near zero.
TOLERANCES = {
    torch.float64: dict(rtol=1e-10, atol=1e-12),
    torch.float32: dict(rtol=1e-5, atol=1e-6),
}


def assert_close(actual, expected, **kwargs):
    dtype = expected[0].dtype if isinstance(expected, (tuple, list)) else expected.dtype
    torch.testing.assert_close(actual, expected, **{**TOLERANCES[dtype], **kwargs})


# torchclad's activation kinds, as the int in the schema.
IDENTITY, RELU, TANH, SIGMOID = 0, 1, 2, 3
ACTIVATIONS = {
    IDENTITY: lambda x: x.clone(),
    RELU: torch.relu,
    TANH: torch.tanh,
    SIGMOID: torch.sigmoid,
}
ACTIVATION_NAMES = {IDENTITY: "identity", RELU: "relu", TANH: "tanh", SIGMOID: "sigmoid"}


def linear(x, w, b):
    return F.linear(x, w, b)


def activation(x, kind):
    return ACTIVATIONS[kind](x)


def cross_entropy(logits, target):
    return F.cross_entropy(logits, target)


def mse_loss(input, target):
    return F.mse_loss(input, target)


def mlp_layers(params, widths):
    """(W_l, b_l) views of the flat parameters, in torchclad's layout."""
    layers, offset = [], 0
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        w = params[offset : offset + fan_out * fan_in].view(fan_out, fan_in)
        offset += fan_out * fan_in
        b = params[offset : offset + fan_out]
        offset += fan_out
        layers.append((w, b))
    assert offset == params.numel(), "params do not match the widths"
    return layers


def mlp_param_count(widths):
    return sum(o * i + o for i, o in zip(widths[:-1], widths[1:]))


def mlp_cross_entropy(x, target, params, widths, kind):
    # Linear, act, Linear, ..., Linear: no activation after the last layer.
    layers = mlp_layers(params, widths)
    h = x
    for i, (w, b) in enumerate(layers):
        h = F.linear(h, w, b)
        if i < len(layers) - 1:
            h = activation(h, kind)
    return F.cross_entropy(h, target)
