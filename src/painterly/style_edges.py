"""A painting's feature maps without its frame (issue #17; opt-in: ``--style-edges interior``).

A painting's Gram matrices average its feature maps over every position, the positions
along its edges included. There the convolutions see past the painting's edge (its
padding), so the Grams carry what the painting looks like where its canvas stops, and the
optimiser paints that along the picture's own edges: a dark line down the right edge of
quality at 256 px × The Scream (docs/quality/quality256_scream_interior_grams.jpg).
Reflecting the painting past its edges before the network and cutting each map back to the
painting leaves the Grams of what was painted. Measured over generated photos it brings that
cell within 2 % but lightens The Starry Night's edges at 128 px by about 2 points, so the
default stays the whole painting (the README's Picture quality has the table).
``both`` (also opt-in) takes the same cut on the picture's side: its Grams leave the canvas's
margin out (painterly.transfer's ``Targets.picture_area``), so neither side's Grams see an edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from painterly.config import StyleEdges

if TYPE_CHECKING:
    import torch

#: px of the painting reflected past each edge: a multiple of 16, the largest stride of a
#: tap (VGG's conv5, AlexNet's conv3–5), so every map is cut on whole positions.
FRAME = 32
STRIDE = 16


def reflect_margin(height: int, width: int, frame: int = FRAME) -> int:
    """The px to reflect: ``frame``, or less for a painting too small to reflect that far
    (reflection needs fewer px than the side has); 0 when not even one stride fits."""
    fits = (min(height, width) - 1) // STRIDE * STRIDE
    return max(0, min(frame, fits))


def painting_edges(edges: StyleEdges) -> StyleEdges:
    """What a painting's own Grams are taken over: ``both`` is ``interior`` for the painting
    (its other half is the picture's Grams, in the engine), so the two share cached Grams."""
    return "interior" if edges == "both" else edges


def painting_network(network: torch.nn.Module) -> torch.nn.Module:
    """The network a painting is seen through: ``--padding circular`` wraps the picture's
    canvas round, but a painting is no torus, so its targets keep reflect padding (and share
    the default's cached Grams)."""
    if getattr(network, "padding", None) == "circular":
        return network.with_padding("reflect")  # type: ignore[operator]
    return network


def painting_features(
    network: torch.nn.Module,
    style: torch.Tensor,
    layers: Sequence[str],
    edges: StyleEdges = "interior",
    frame: int = FRAME,
) -> dict[str, torch.Tensor]:
    """The network's features of ``style`` at ``layers``: of the whole painting, or of its
    interior (``edges="interior"``: each map seen with the painting reflected ``frame`` px
    past its edges, then cut back to the painting's own positions)."""
    import torch.nn.functional as F

    pad = reflect_margin(*style.shape[-2:], frame) if painting_edges(edges) == "interior" else 0
    if not pad:
        return network(style, list(layers))
    feats = network(F.pad(style, (pad, pad, pad, pad), mode="reflect"), list(layers))
    height, width = style.shape[-2] + 2 * pad, style.shape[-1] + 2 * pad
    out = {}
    for layer in layers:
        f = feats[layer]
        # the share of the map that is reflection, whatever the layer's stride (and
        # AlexNet's odd first conv): 32 px is 2 positions at conv5_1 and 8 at AlexNet's conv1
        top, left = round(pad * f.shape[-2] / height), round(pad * f.shape[-1] / width)
        out[layer] = f[..., top : f.shape[-2] - top, left : f.shape[-1] - left].contiguous()
    return out
