"""The Gram target cache (#10): same targets as a fresh pass, a miss whenever a key setting
changes, least-recently-used eviction under the size cap, and runs that use it."""

from __future__ import annotations

import os

import pytest
import torch

from painterly import TransferConfig, stylize
from painterly.backbones import VGG19Features, random_vgg19_weights
from painterly.library.cache import GramCache, touch_later
from painterly.transfer import style_grams

LAYERS = ("conv1_1", "conv2_1", "conv3_1")


def picture(seed: int = 0, size: tuple[int, int] = (40, 48)) -> torch.Tensor:
    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed))


def test_cached_targets_equal_fresh_ones(tmp_path, tiny_net):
    cache = GramCache(tmp_path)
    style = picture()
    fresh = style_grams(tiny_net, [style], LAYERS, [1.0])
    first = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    second = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    assert (cache.misses, cache.hits) == (1, 1)
    for layer in LAYERS:
        assert torch.equal(fresh[layer], first[layer]) and torch.equal(fresh[layer], second[layer])
    # a blend is summed from single-painting entries: a second painting adds one entry
    other = picture(1)
    mixed = style_grams(tiny_net, [style, other], LAYERS, [0.3, 0.7], cache=cache)
    expected = style_grams(tiny_net, [style, other], LAYERS, [0.3, 0.7])
    assert (cache.misses, cache.hits) == (2, 2) and len(cache.entries()) == 2
    for layer in LAYERS:
        assert torch.allclose(mixed[layer], expected[layer])


def other_network(pooling: str = "avg", activation: str = "relu", seed: int = 0) -> VGG19Features:
    return VGG19Features(random_vgg19_weights(torch.Generator().manual_seed(seed)), pooling, activation)


@pytest.mark.parametrize(
    "change",
    ["pixels", "size", "layers", "pooling", "activation", "weights", "dtype"],
)
def test_any_key_setting_change_misses(tmp_path, change):
    cache = GramCache(tmp_path)
    net, style, layers = other_network(), picture(), LAYERS
    base = cache.key(style, layers, net)
    assert cache.key(picture(), LAYERS, other_network()) == base  # same inputs, same key
    if change == "pixels":
        style = style.clone()
        style[0, 0, 0, 0] += 1 / 255
    elif change == "size":
        style = torch.nn.functional.interpolate(style, size=(40, 47))
    elif change == "layers":
        layers = ("conv1_1", "conv2_1")
    elif change == "pooling":
        net = other_network(pooling="max")
    elif change == "activation":
        net = other_network(activation="leaky_relu:0.2")
    elif change == "weights":
        net = other_network(seed=1)
    elif change == "dtype":
        style = style.double()
    assert cache.key(style, layers, net) != base
    cache.put(base, style_grams(other_network(), [picture()], LAYERS, [1.0]))
    assert cache.get(cache.key(style, layers, net)) is None


def test_eviction_keeps_the_recently_used_under_the_cap(tmp_path, tiny_net):
    cache = GramCache(tmp_path)
    keys = []
    for seed in range(3):
        style = picture(seed)
        keys.append(cache.key(style, LAYERS, tiny_net))
        style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    entry = cache.entries()[0][1]
    for age, key in zip((-30, -20, -10), keys):
        touch_later(tmp_path / f"{key}.pt", age)
    assert cache.get(keys[0]) is not None  # a hit makes the oldest the newest
    small = GramCache(tmp_path, max_bytes=2 * entry + entry // 2)
    assert small.evict() == 1
    assert not (tmp_path / f"{keys[1]}.pt").exists()  # the least recently used went
    assert (tmp_path / f"{keys[0]}.pt").exists() and (tmp_path / f"{keys[2]}.pt").exists()


def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path, tiny_net):
    cache = GramCache(tmp_path)
    style = picture()
    style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"garbage")
    fresh = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    assert cache.misses == 2 and torch.equal(
        fresh["conv1_1"], style_grams(tiny_net, [style], LAYERS, [1.0])["conv1_1"]
    )


def test_runs_use_the_cache_and_no_cache_leaves_it_alone(tmp_path, photo, painting, tiny_net, monkeypatch):
    from painterly import paths

    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "user-cache"))  # empty, whatever ran before
    cfg = TransferConfig(size=32, iterations=3, device="cpu")
    cache = GramCache(tmp_path / "c")
    first = stylize(photo, painting, cfg, network=tiny_net, cache=cache)
    second = stylize(photo, painting, cfg, network=tiny_net, cache=cache)
    assert cache.hits == 1 and torch.equal(first.tensor, second.tensor)
    # config.cache (default on) uses the user cache folder; --no-cache neither reads nor writes it
    default = GramCache()
    before = len(default.entries()) if default.folder.exists() else 0
    stylize(photo, painting, cfg.replace(cache=False), network=tiny_net)
    assert (len(default.entries()) if default.folder.exists() else 0) == before
    stylize(photo, painting, cfg, network=tiny_net)
    assert len(default.entries()) == before + 1
    assert str(default.folder).startswith(os.environ["PAINTERLY_CACHE_DIR"])
