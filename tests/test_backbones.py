"""Backbones (#14): VGG11/13/16 and AlexNet taps, weight files in torchvision and Caffe
format with the real key names and shapes, preprocessing by recorded format, the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from painterly.backbones import AlexNetFeatures, VGG19Features, build_backbone, random_backbone_state_dict
from painterly.backbones import registry as registry_module
from painterly.backbones.registry import KnownWeights
from painterly.backbones.store import (
    ChecksumError,
    MissingWeightsError,
    add_model,
    installed,
    remove_model,
    resolve_weights,
)
from painterly.backbones.weights import backbone_convs, load_backbone_weights
from painterly.config import TransferConfig
from painterly.errors import ConfigError, InputError
from painterly.taps import DEFAULT_LAYERS, feature_size, tap_min_size, tap_names
from painterly.transfer import stylize

# torchvision's make_layers configurations ("M" is a max pool), written out so that the test
# checks our reading of the real layout rather than our own tables.
TORCHVISION_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def torchvision_vgg_features(cfg: list) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=True)]
            channels = v
    return nn.Sequential(*layers)


def torchvision_alexnet_features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    )  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def weight_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """State dicts with torchvision's real key names and shapes (random values), written once:
    VGG16 and AlexNet in torchvision format, AlexNet in Caffe format (another seed)."""
    folder = tmp_path_factory.mktemp("weights")
    files = {}
    for key, backbone, fmt, seed in (
        ("vgg16", "vgg16", "torchvision", 0),
        ("alexnet", "alexnet", "torchvision", 1),
        ("alexnet-caffe", "alexnet", "caffe", 2),
    ):
        path = folder / f"{key}-random.pth"
        torch.save(random_backbone_state_dict(backbone, torch.Generator().manual_seed(seed), fmt), path)
        files[key] = path
    return files


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


def test_tap_names_of_each_backbone():
    assert len(tap_names("vgg16")) == 13 * 2 + 5 and "conv5_3" in tap_names("vgg16")
    assert "conv5_4" not in tap_names("vgg16") and "conv3_3" not in tap_names("vgg11")
    assert len(tap_names("vgg13")) == 10 * 2 + 5 and len(tap_names("vgg11")) == 8 * 2 + 5
    assert tap_names("alexnet") == (
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
        "conv4", "relu4", "conv5", "relu5", "pool5",
    )  # fmt: skip
    for backbone, (content, style) in DEFAULT_LAYERS.items():
        assert set(content + style) <= set(tap_names(backbone))
    assert tap_min_size("pool5", "alexnet") == 63 and tap_min_size("conv1", "alexnet") == 7


def test_config_follows_the_backbone():
    config = TransferConfig(backbone="alexnet")
    assert config.content_layers == ("conv4",) and config.style_layers[-1] == "conv5"
    back = config.replace(backbone="vgg16")
    assert back.content_layers == ("conv4_2",) and back.style_layers[0] == "conv1_1"
    chosen = TransferConfig(backbone="alexnet", content_layers=("relu5",), style_layers=("pool1",))
    assert chosen.content_layers == ("relu5",) and chosen.style_layers == ("pool1",)
    with pytest.raises(ConfigError, match=r"conv5_4.*--backbone vgg16"):
        TransferConfig(backbone="vgg16", content_layers=("conv5_4",))
    with pytest.raises(ConfigError, match="at least 63 px"):
        TransferConfig(backbone="alexnet", style_layers=("pool5",), size=48)
    with pytest.raises(ConfigError, match="backbone"):
        TransferConfig(backbone="resnet50")  # type: ignore[arg-type]


def test_loader_reads_legacy_torch_save_files(tmp_path):
    """torchvision's older files predate the zip format (no mmap): they load all the same."""
    path = tmp_path / "legacy.pth"
    state = random_backbone_state_dict("alexnet", torch.Generator().manual_seed(9), classifier=False)
    torch.save(state, path, _use_new_zipfile_serialization=False)
    weights = load_backbone_weights(path, "alexnet")
    assert torch.equal(weights["conv5.weight"], state["features.10.weight"])


def test_loader_reads_real_key_names_and_shapes(weight_files):
    weights = load_backbone_weights(weight_files["vgg16"], "vgg16")
    assert len(weights) == 26
    assert weights["conv5_3.weight"].shape == (512, 512, 3, 3) and weights["conv1_1.bias"].shape == (64,)
    partial = load_backbone_weights(weight_files["vgg16"], "vgg16", last="conv2_1")
    assert sorted({k.split(".")[0] for k in partial}) == ["conv1_1", "conv1_2", "conv2_1"]
    alex = load_backbone_weights(weight_files["alexnet"], "alexnet")
    assert alex["conv1.weight"].shape == (64, 3, 11, 11) and alex["conv2.weight"].shape == (192, 64, 5, 5)
    with pytest.raises(InputError, match=r"alexnet-random\.pth: features\.0\.weight is \(64, 3, 11, 11\)"):
        load_backbone_weights(weight_files["alexnet"], "vgg16")
    # VGG16 read as VGG19: the keys line up until block 3, where VGG16 has its pool.
    with pytest.raises(
        InputError, match=r"no features\.16\.weight/features\.16\.bias for vgg19 layer conv3_4"
    ):
        load_backbone_weights(weight_files["vgg16"], "vgg19")
    with pytest.raises(InputError, match=r"no features.0.weight.*not a torchvision-layout"):
        load_backbone_weights(weight_files["vgg16"], "vgg16", raw={"conv1_1.weight": torch.zeros(1)})


@pytest.mark.parametrize("backbone", ["vgg16", "alexnet"])
def test_features_match_torchvision_layout(weight_files, backbone):
    """Our taps equal torchvision's nn.Sequential run on the same state dict with its own
    preprocessing: the keys, the strides and paddings, the pools and the format all agree."""
    raw = torch.load(weight_files[backbone], weights_only=True)
    reference = (
        torchvision_alexnet_features()
        if backbone == "alexnet"
        else torchvision_vgg_features(TORCHVISION_CFG[backbone])
    )
    reference.load_state_dict({k[len("features.") :]: v for k, v in raw.items() if k.startswith("features.")})
    image = torch.rand(1, 3, 80, 72, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = reference((image - MEAN) / STD)
        got = _network(weight_files[backbone], backbone, "torchvision")(image, ["pool5"])["pool5"]
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)


def _network(path: Path, backbone: str, fmt: str, **kwargs) -> torch.nn.Module:
    weights = load_backbone_weights(path, backbone)
    if backbone == "alexnet":
        return AlexNetFeatures(weights, input_format=fmt, **kwargs)
    return VGG19Features(weights, arch=backbone, input_format=fmt, **kwargs)


def test_tap_shapes_and_depth(weight_files):
    net = _network(weight_files["alexnet"], "alexnet", "torchvision")
    image = torch.rand(1, 3, 96, 80)
    feats = net(image, list(tap_names("alexnet")))
    for tap, feature in feats.items():
        assert feature.shape[-2:] == (feature_size(96, tap, "alexnet"), feature_size(80, tap, "alexnet")), tap
    assert feats["conv2"].shape[1] == 192 and feats["pool5"].shape[1] == 256
    shallow = AlexNetFeatures(load_backbone_weights(weight_files["alexnet"], "alexnet"), last_tap="relu2")
    assert list(shallow.convs) == ["conv1", "conv2"]
    with pytest.raises(ConfigError, match="deeper"):
        shallow(image, ["conv3"])
    # Built as deep as the weights given allow: the pool closing block 3, or the ReLU of conv3_1.
    for last, deepest in (("conv3_3", "pool3"), ("conv3_1", "relu3_1")):
        weights = load_backbone_weights(weight_files["vgg16"], "vgg16", last=last)
        vgg = VGG19Features(weights, arch="vgg16", input_format="torchvision")
        assert vgg.tap_names[-1] == deepest
    assert vgg(torch.rand(1, 3, 32, 32), ["relu3_1"])["relu3_1"].shape == (1, 256, 8, 8)


def test_preprocessing_follows_the_recorded_format(weight_files):
    weights = load_backbone_weights(weight_files["alexnet-caffe"], "alexnet")
    caffe = AlexNetFeatures(weights, input_format="caffe")
    torchvision = AlexNetFeatures(weights, input_format="torchvision")
    image = torch.rand(1, 3, 40, 40)
    bgr = image.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    assert torch.allclose(caffe.preprocess(image), bgr)
    assert torch.allclose(torchvision.preprocess(image), (image - MEAN) / STD)
    expected = F.conv2d(bgr, weights["conv1.weight"], weights["conv1.bias"], stride=4, padding=2)
    assert torch.allclose(caffe(image, ["conv1"])["conv1"], expected, atol=1e-4)
    assert not torch.allclose(torchvision(image, ["conv1"])["conv1"], expected, atol=1e-2)


def test_pooling_and_activation_swaps_apply_to_alexnet(weight_files):
    weights = load_backbone_weights(weight_files["alexnet"], "alexnet")
    image = torch.rand(1, 3, 64, 64)
    outputs = {}
    for pooling, activation in (("max", "relu"), ("avg", "relu"), ("max", "leaky_relu:0.2"), ("max", "tanh")):
        net = AlexNetFeatures(weights, pooling, activation, last_tap="pool2")
        outputs[pooling, activation] = net(image, ["pool2"])["pool2"]
    base = outputs["max", "relu"]
    assert all(not torch.allclose(base, other) for key, other in outputs.items() if key != ("max", "relu"))
    assert outputs["max", "tanh"].abs().max() <= 1.0


def registry_for(path: Path, name: str, backbone: str, fmt: str, filename: str | None = None) -> KnownWeights:
    url = f"http://127.0.0.1:1/{filename or path.name}"
    return KnownWeights(name, backbone, fmt, url, sha256(path)[:8])  # type: ignore[arg-type]


def test_add_known_file_takes_its_format_from_the_registry(weight_files, models_dir, monkeypatch):
    entry = registry_for(weight_files["alexnet-caffe"], "alexnet-caffe", "alexnet", "caffe", "alex-0.pth")
    monkeypatch.setattr(registry_module, "KNOWN", (entry,))
    model = add_model(weight_files["alexnet-caffe"], "alexnet", models_dir=models_dir)
    assert (model.name, model.format, model.known, model.file) == (
        "alexnet-caffe",
        "caffe",
        "alexnet-caffe",
        "alex-0.pth",
    )
    assert (models_dir / "alex-0.pth").read_bytes() == weight_files["alexnet-caffe"].read_bytes()
    resolved = resolve_weights("alexnet", models_dir=models_dir)
    assert resolved is not None and resolved.format == "caffe" and resolved.path == models_dir / "alex-0.pth"
    net = build_backbone("alexnet", last_tap="conv2", models_dir=models_dir)
    assert isinstance(net, AlexNetFeatures) and net.input_format == "caffe"
    # A path to a registry file is known by its checksum, format included, without installing it.
    by_path = resolve_weights("alexnet", str(weight_files["alexnet-caffe"]), models_dir=models_dir / "empty")
    assert by_path is not None and by_path.format == "caffe" and by_path.name == "alexnet-caffe"
    with pytest.raises(InputError, match=r"records alex-0.pth as caffe"):
        add_model(weight_files["alexnet-caffe"], "alexnet", "torchvision", models_dir=models_dir)
    with pytest.raises(InputError, match="alexnet file"):
        add_model(weight_files["alexnet-caffe"], "vgg16", models_dir=models_dir)


def test_checksum_mismatch_is_refused(weight_files, models_dir, monkeypatch, tmp_path):
    """A file carrying a known file's name but other bytes is not installed."""
    entry = registry_for(weight_files["alexnet"], "alexnet", "alexnet", "torchvision", "alexnet-owt-test.pth")
    monkeypatch.setattr(registry_module, "KNOWN", (entry,))
    impostor = tmp_path / "alexnet-owt-test.pth"
    impostor.write_bytes(weight_files["alexnet-caffe"].read_bytes())  # right keys and shapes, wrong bytes
    with pytest.raises(ChecksumError, match=r"not the official alexnet-owt-test.pth"):
        add_model(impostor, "alexnet", "torchvision", models_dir=models_dir)
    assert installed(models_dir) == [] and not (models_dir / "alexnet-owt-test.pth").exists()


def test_unknown_file_needs_its_format_and_right_shapes(weight_files, models_dir):
    with pytest.raises(InputError, match=r"--format torchvision .* or --format caffe"):
        add_model(weight_files["vgg16"], "vgg16", models_dir=models_dir)
    with pytest.raises(InputError, match=r"is this file for another network\?"):
        add_model(weight_files["alexnet"], "vgg11", "torchvision", models_dir=models_dir)
    model = add_model(weight_files["vgg16"], "vgg16", "torchvision", models_dir=models_dir)
    assert (
        model.known == "" and model.format == "torchvision" and model.sha256 == sha256(weight_files["vgg16"])
    )
    assert [m.name for m in installed(models_dir)] == ["vgg16"]
    # The installed file is found by name or by path, with the recorded format.
    assert resolve_weights("vgg16", "vgg16", models_dir=models_dir).format == "torchvision"
    with pytest.raises(InputError, match="does not know this file's input format"):
        resolve_weights("alexnet", str(weight_files["alexnet"]), models_dir=models_dir)
    remove_model("vgg16", models_dir)
    assert installed(models_dir) == [] and not any(models_dir.glob("*.pth"))
    with pytest.raises(InputError, match="no installed model 'vgg16'"):
        remove_model("vgg16", models_dir)


def test_missing_backbone_names_the_file_and_the_command(models_dir):
    with pytest.raises(MissingWeightsError) as caught:
        resolve_weights("vgg16", models_dir=models_dir)
    message = str(caught.value)
    assert (
        "vgg16-397923af.pth" in message
        and "https://download.pytorch.org/models/vgg16-397923af.pth" in message
    )
    assert "painterly models download vgg16" in message and "painterly models add FILE --as vgg16" in message
    assert resolve_weights("vgg19", models_dir=models_dir) is None  # the one that ships


@pytest.mark.parametrize("backbone", ["vgg16", "alexnet"])
def test_short_run_per_installed_backbone(weight_files, backbone, photo, painting):
    """Installed in the (private) user data folder, then a run names only the backbone."""
    add_model(weight_files[backbone], backbone, "torchvision")
    config = TransferConfig(backbone=backbone, size=48, iterations=4, style_weight=1e4, seed=0)
    result = stylize(photo, painting, config)
    assert result.ok and result.image.size == (48, 40)
    first, last = result.history[0]["total"], result.history[-1]["total"]
    assert last < first
    remove_model(backbone)


@pytest.mark.parametrize("backbone", ["vgg11", "vgg13"])
def test_short_run_vgg11_and_vgg13(backbone, photo, painting):
    """VGG11/13 at their real shapes, built from a state dict in memory (no file needed)."""
    raw = random_backbone_state_dict(backbone, torch.Generator().manual_seed(4), classifier=False)
    layout = {f"{name}.{kind}": raw[f"{prefix}.{kind}"] for name, (_, prefix) in backbone_convs(backbone).items()
              for kind in ("weight", "bias")}  # fmt: skip
    config = TransferConfig(backbone=backbone, size=32, iterations=3, seed=0)
    net = VGG19Features(layout, config.pooling, last_tap="conv5_1", arch=backbone, input_format="torchvision")
    result = stylize(photo, painting, config, network=net)
    assert result.ok and result.steps == 3 and result.history[-1]["total"] <= result.history[0]["total"]


def test_caffe_file_of_the_shipped_vgg19_gives_the_shipped_features(tmp_path, models_dir):
    """The real weights through the user-file path: the shipped VGG19 written as a Caffe-format
    state dict in torchvision's layout, added with --format caffe, must give the very features
    of the shipped network (keys, order, preprocessing and depth all agree)."""
    from painterly.backbones import load_vgg19_weights

    shipped = load_vgg19_weights(last="conv3_1")
    prefixes = {name: prefix for name, (_, prefix) in backbone_convs("vgg19").items()}
    state = {}
    for name, (shape, prefix) in backbone_convs("vgg19").items():
        if f"{name}.weight" in shipped:
            state[f"{prefix}.weight"], state[f"{prefix}.bias"] = (
                shipped[f"{name}.weight"],
                shipped[f"{name}.bias"],
            )
        else:  # deeper layers are not compared: placeholders of the right shape keep the file small
            state[f"{prefix}.weight"] = torch.zeros(()).expand(shape)
            state[f"{prefix}.bias"] = torch.zeros(()).expand(shape[:1])
    path = tmp_path / "vgg19-caffe-mine.pth"
    torch.save(state, path)
    model = add_model(path, "vgg19", "caffe", name="mine", models_dir=models_dir)
    assert model.layout == "features" and prefixes["conv3_1"] == "features.10"
    mine = build_backbone("vgg19", weights_file="mine", last_tap="relu3_1", models_dir=models_dir)
    reference = VGG19Features(shipped, last_tap="relu3_1")
    image = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(8))
    taps = ["relu1_1", "pool2", "relu3_1"]
    ours, theirs = mine(image, taps), reference(image, taps)
    assert mine.input_format == "caffe"
    assert all(torch.equal(ours[t], theirs[t]) for t in taps)
