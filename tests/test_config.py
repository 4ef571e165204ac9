import pytest

from painterly.config import TransferConfig, normalised, parse_activation
from painterly.errors import ConfigError


def test_defaults_are_the_papers():
    cfg = TransferConfig()
    assert cfg.content_layers == ("conv4_2",)
    assert cfg.style_layers == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    assert cfg.pooling == "avg" and cfg.optimizer == "lbfgs" and cfg.init == "content"
    assert cfg.lr == 1.0 and TransferConfig(optimizer="adam").lr == 0.02


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"content_layers": ("conv9_1",)}, "unknown layer 'conv9_1'"),
        ({"style_layers": ("relu1_1", "relu1_1")}, "listed twice"),
        ({"content_layers": ()}, "at least one"),
        ({"style_layer_weights": (1.0, 2.0)}, "2 weights for 5 layers"),
        ({"style_weight": float("nan")}, "style_weight"),
        ({"content_weight": -1.0}, "content_weight"),
        ({"size": 0}, "size must be between"),
        ({"size": 100_000}, "size must be between"),
        ({"size": 24, "style_layers": ("pool5",)}, "too small for the deepest layer"),
        ({"iterations": -1}, "iterations"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"activation": "swish"}, "unknown activation"),
        ({"activation": "leaky_relu:x"}, "not a number"),
        ({"pooling": "median"}, "pooling must be one of"),
        ({"style_scale": 0.0}, "style_scale"),
    ],
)
def test_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        TransferConfig(**changes)


def test_round_trip_and_unknown_keys():
    cfg = TransferConfig(style_layer_weights=(1, 2, 3, 4, 5), seed=7)
    assert TransferConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown setting"):
        TransferConfig.from_dict({"style_wieght": 1})


def test_helpers():
    assert parse_activation("leaky_relu:0.3") == ("leaky_relu", 0.3)
    assert normalised((), 4) == [0.25] * 4
    assert normalised((1.0, 3.0), 2) == [0.25, 0.75]
