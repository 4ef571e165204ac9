import pytest
import torch

from painterly.backbones import VGG19Features, load_vgg19_weights
from painterly.backbones.weights import conv_names
from painterly.errors import ConfigError, InputError
from painterly.taps import tap_downsampling, vgg19_tap_names

# Sum of every de-quantised weight and bias of the original VGG19 file (float64).
VGG19_CHECKSUM = -9694.45234080785
CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


@pytest.fixture(scope="module")
def weights():
    return load_vgg19_weights()


def test_weight_shapes_and_checksum(weights):
    assert len(weights) == 32
    previous = 3
    for name in conv_names():
        out = CHANNELS[int(name[4])]
        assert weights[f"{name}.weight"].shape == (out, previous, 3, 3)
        assert weights[f"{name}.weight"].dtype == torch.float32
        assert weights[f"{name}.bias"].shape == (out,)
        previous = out
    total = sum(float(v.double().sum()) for v in weights.values())
    assert total == pytest.approx(VGG19_CHECKSUM, abs=1e-3)
    # De-quantised: each layer takes at most 256 distinct values.
    assert weights["conv3_1.weight"].unique().numel() <= 256


def test_partial_load_stops_at_the_last_layer():
    partial = load_vgg19_weights(last="conv2_1")
    assert sorted({k.split(".")[0] for k in partial}) == ["conv1_1", "conv1_2", "conv2_1"]


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "w.bin"
    bad.write_bytes(b"not torch")
    with pytest.raises(InputError, match=r"w\.bin"):
        load_vgg19_weights(bad)


def test_tap_names():
    names = vgg19_tap_names()
    assert len(names) == 16 * 2 + 5
    assert names[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert names[-1] == "pool5"
    assert (
        tap_downsampling("conv1_1") == 0
        and tap_downsampling("relu4_2") == 3
        and tap_downsampling("pool5") == 5
    )


def test_named_taps_and_depth_truncation():
    net = VGG19Features.pretrained(last_tap="relu3_1")
    assert net.tap_names[-1] == "relu3_1"
    assert set(net.convs) == {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"}
    feats = net(torch.rand(1, 3, 32, 40), ["conv1_1", "pool1", "relu3_1"])
    assert feats["conv1_1"].shape == (1, 64, 32, 40)
    assert feats["pool1"].shape == (1, 64, 16, 20)
    assert feats["relu3_1"].shape == (1, 256, 8, 10)
    assert feats["relu3_1"].min() >= 0
    with pytest.raises(ConfigError, match="deeper"):
        net(torch.rand(1, 3, 32, 32), ["conv4_1"])
    assert not any(p.requires_grad for p in net.parameters())


def test_conv_tap_is_not_clobbered_by_inplace_relu(tiny_net):
    feats = tiny_net(torch.rand(1, 3, 16, 16), ["conv1_1", "relu1_1"])
    assert feats["conv1_1"].min() < 0  # pre-activation keeps its negative values
    assert torch.equal(feats["relu1_1"], feats["conv1_1"].clamp(min=0))


def test_pooling_and_activation_swap(tiny_net):
    from painterly.backbones import random_vgg19_weights

    w = random_vgg19_weights(torch.Generator().manual_seed(0))
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    outs = {}
    for pooling, act in [("max", "relu"), ("avg", "relu"), ("max", "leaky_relu:0.2"), ("max", "tanh")]:
        net = VGG19Features(w, pooling=pooling, activation=act, last_tap="relu2_1")
        outs[(pooling, act)] = net(x, ["conv1_2", "relu2_1"])
    assert not torch.allclose(outs[("max", "relu")]["relu2_1"], outs[("avg", "relu")]["relu2_1"])
    assert outs[("max", "leaky_relu:0.2")]["relu2_1"].min() < 0
    assert outs[("max", "tanh")]["relu2_1"].abs().max() <= 1
    with pytest.raises(ConfigError):
        VGG19Features(w, activation="swish")


def test_preprocessing_is_inside_the_module():
    net = VGG19Features.pretrained(last_tap="conv1_1")
    rgb = torch.zeros(1, 3, 1, 1)
    rgb[0, 0] = 1.0  # pure red
    bgr = net.preprocess(rgb)
    assert bgr[0, :, 0, 0].tolist() == pytest.approx([-103.939, -116.779, 255 - 123.68])
