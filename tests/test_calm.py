"""The calm term (issue #17, the mesh): 1–2 px detail penalised where the photo is flat."""

from __future__ import annotations

import pytest
import torch

from painterly import TransferConfig, stylize
from painterly.calm import calm_loss, fine_detail, flatness_map, gaussian_blur
from painterly.errors import ConfigError
from painterly.lab.artefacts import mesh_energy
from painterly.transfer import build_network


def _half_flat_photo(size: int = 64) -> torch.Tensor:
    """Left half a smooth grey gradient, right half fine texture."""
    g = torch.Generator().manual_seed(0)
    photo = torch.linspace(0.3, 0.6, size).view(1, 1, 1, size).expand(1, 3, size, size).clone()
    photo[..., size // 2 :] = torch.rand(1, 1, size, size // 2, generator=g).expand(1, 3, -1, -1)
    return photo


def test_flatness_is_high_where_the_photo_is_flat_and_averages_one() -> None:
    weights = flatness_map(_half_flat_photo())
    assert weights.shape == (1, 1, 64, 64)
    assert float(weights.mean()) == pytest.approx(1.0, abs=1e-5)
    left, right = weights[..., 8:-8, 4:24].mean(), weights[..., 8:-8, 40:60].mean()
    assert left > 1.5 and right < 0.2 * left


def test_the_weight_lies_on_the_flattest_quarter_not_on_middling_texture() -> None:
    """A photo whose texture grows steadily from left to right: the calm term belongs on its
    flattest quarter; middling texture (where strokes should stay) gets little of it."""
    from painterly.calm import local_variation

    g = torch.Generator().manual_seed(0)
    amplitude = torch.linspace(0, 0.3, 64).view(1, 1, 1, 64)
    photo = (0.5 + amplitude * (torch.rand(1, 1, 64, 64, generator=g) - 0.5)).expand(1, 3, -1, -1)
    variation = local_variation(photo)
    flattest = variation <= variation.flatten().kthvalue(64 * 64 // 4).values
    weights = flatness_map(photo)
    assert float((weights * flattest).sum() / weights.sum()) > 0.75  # 0.60 with a power of 1
    assert float(weights[..., 32:48].mean()) < 0.2  # 0.43 with a power of 1


def test_calm_loss_sees_only_fine_detail_where_it_is_weighted() -> None:
    g = torch.Generator().manual_seed(1)
    smooth = gaussian_blur(torch.rand(1, 3, 48, 48, generator=g), 4.0)
    mesh = (torch.arange(48).view(1, -1) + torch.arange(48).view(-1, 1)) % 2 * 0.1  # 1 px checker
    weights = torch.ones(1, 1, 48, 48)
    assert float(calm_loss(smooth, weights)) < 0.01 * float(calm_loss(smooth + mesh, weights))
    left = torch.zeros(1, 1, 48, 48)
    left[..., :24] = 2.0
    meshed_right = smooth.clone()
    meshed_right[..., 24:] += mesh[..., 24:]
    assert float(calm_loss(meshed_right, left)) < 0.05 * float(calm_loss(meshed_right, 2 - left))
    assert torch.allclose(fine_detail(torch.full((1, 3, 9, 9), 0.4)), torch.zeros(1, 3, 9, 9), atol=1e-6)


def test_calm_weight_is_checked_and_reported_as_a_loss(tiny_net) -> None:
    with pytest.raises(ConfigError, match="calm_weight"):
        TransferConfig(calm_weight=-1.0)
    with pytest.raises(ConfigError, match="calm_weight"):
        TransferConfig(calm_weight=float("nan"))
    photo = _half_flat_photo(40)
    from painterly.images import tensor_to_pil

    result = stylize(
        tensor_to_pil(photo),
        tensor_to_pil(torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3))),
        TransferConfig(size=40, iterations=3, calm_weight=1.0),
        network=tiny_net,
    )
    assert result.ok and result.losses["calm"] > 0
    off = stylize(
        tensor_to_pil(photo),
        tensor_to_pil(torch.rand(1, 3, 40, 40)),
        TransferConfig(size=40, iterations=2, calm_weight=0.0),
        network=tiny_net,
    )
    assert "calm" not in off.losses


@pytest.mark.slow
def test_the_calm_term_takes_the_mesh_off_a_flat_sky(example_style) -> None:
    """The issue's fault with the real network: a flat photo area comes out covered in
    1–2 px mesh; the calm term removes most of it."""
    from painterly.images import tensor_to_pil

    photo = _half_flat_photo(64)
    net = build_network(TransferConfig(), torch.device("cpu"))
    plain, calm = (
        stylize(
            tensor_to_pil(photo),
            example_style,
            TransferConfig(size=64, iterations=30, calm_weight=w),
            network=net,
        )
        for w in (0.0, 3.0)
    )
    assert mesh_energy(calm.tensor, photo) < 0.6 * mesh_energy(plain.tensor, photo)


def test_the_flatness_map_in_strips_is_the_whole_map(monkeypatch) -> None:
    """Print sizes make the map in strips (memory); the strips must give the same values."""
    import painterly.calm as calm

    photo = torch.rand(1, 3, 83, 40, generator=torch.Generator().manual_seed(5))
    whole = flatness_map(photo)
    monkeypatch.setattr(calm, "STRIP_ROWS", 16)
    assert torch.allclose(flatness_map(photo), whole, atol=1e-6)
    monkeypatch.setattr(calm, "VARIATION_REACH", 2)  # too little reach: the seams show
    assert not torch.allclose(flatness_map(photo), whole, atol=1e-6)
