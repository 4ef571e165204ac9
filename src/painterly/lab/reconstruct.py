"""Layer reconstructions (Gatys et al. 2016, Fig. 1): what each layer keeps of a picture.

From white noise, the optimiser rebuilds the image twice over:
  * from the *content* features of one layer alone (conv1_2 … conv5_2): shallow layers
    give back the exact pixels, deep ones only the arrangement of objects;
  * from the *style* (Gram) features of growing sets of layers (conv1_1; +conv2_1; …;
    +conv5_1): a texture with the picture's colours and strokes at growing scales,
    but none of its layout.
Each reconstruction is an ordinary :func:`~painterly.transfer.stylize` run whose config
switches the other half of the loss off, all ten sharing one network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from painterly.backbones.vgg import VGG19Features, deepest_tap
from painterly.config import TransferConfig
from painterly.devices import resolve_device
from painterly.events import Progress
from painterly.lab.sheets import contact_sheet
from painterly.lab.sweep import NetworkFactory, load_network
from painterly.transfer import stylize

CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

Kind = Literal["content", "style"]


def reconstruction_name(kind: Kind, layers: Sequence[str]) -> str:
    """A file stem: content_conv3_2, style_conv1_1-conv3_1."""
    span = layers[0] if len(layers) == 1 else f"{layers[0]}-{layers[-1]}"
    return f"{kind}_{span}"


@dataclass(frozen=True)
class Reconstruction:
    """One rebuilt image: from which half of the loss, which layers, and how well."""

    kind: Kind
    layers: tuple[str, ...]
    image: Image.Image
    loss: float
    seconds: float
    status: str

    @property
    def name(self) -> str:
        return reconstruction_name(self.kind, self.layers)

    @property
    def label(self) -> str:
        return self.layers[0] if self.kind == "content" or len(self.layers) == 1 else f"+{self.layers[-1]}"


def reconstruction_configs(
    base: TransferConfig,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
) -> list[tuple[Kind, tuple[str, ...], TransferConfig]]:
    """The runs of the figure: one content-only run per layer, one style-only run per
    growing prefix of ``style_layers``; every run starts from noise."""
    plans: list[tuple[Kind, tuple[str, ...], TransferConfig]] = []
    for layer in content_layers:
        config = base.replace(
            init="noise",
            content_layers=(layer,),
            content_layer_weights=(),
            content_weight=1.0,
            style_layers=(),
            style_layer_weights=(),
            style_weight=0.0,
        )
        plans.append(("content", (layer,), config))
    for i in range(1, len(style_layers) + 1):
        subset = tuple(style_layers[:i])
        # content_layers may not be empty; a weight of 0 switches the content loss off.
        config = base.replace(
            init="noise",
            content_layers=(subset[0],),
            content_layer_weights=(),
            content_weight=0.0,
            style_layers=subset,
            style_layer_weights=(),
            style_weight=1.0,
        )
        plans.append(("style", subset, config))
    return plans


def reconstruct(
    image: Image.Image,
    base: TransferConfig,
    callback: Callable[[int, int, Progress], None] | None = None,
    *,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
    network_factory: NetworkFactory | None = None,
    reuse: Mapping[str, Reconstruction] | None = None,
) -> list[Reconstruction]:
    """Every reconstruction of the figure, in order (content ones first).

    ``callback(number, count, event)`` follows each run's steps. Reconstructions in
    ``reuse`` (by :attr:`Reconstruction.name`, made earlier with the same settings)
    are taken as they are, so that redrawing the figure costs nothing.
    """
    plans = reconstruction_configs(base, content_layers, style_layers)
    last = deepest_tap([*content_layers, *style_layers])
    network: VGG19Features | None = None
    results: list[Reconstruction] = []
    for number, (kind, layers, config) in enumerate(plans, start=1):
        earlier = (reuse or {}).get(reconstruction_name(kind, layers))
        if earlier is not None:
            results.append(earlier)
            continue
        if network is None:
            device = resolve_device(base.device)
            network = (network_factory or load_network)(base.pooling, base.activation, last, device)

        def relay(event: Progress, number: int = number) -> None:
            if callback:
                callback(number, len(plans), event)

        result = stylize(image, image, config, relay, network=network)
        results.append(
            Reconstruction(
                kind,
                layers,
                result.image,
                result.losses.get("total", float("nan")),
                result.timings.get("total", 0.0),
                result.status,
            )
        )
        if result.status not in ("finished", "diverged"):
            break
    return results


def reconstruction_figure(
    original: Image.Image, results: Sequence[Reconstruction], cell: int = 192
) -> Image.Image:
    """Two labelled rows (content, style) of reconstructions after the original."""
    content = [r for r in results if r.kind == "content"]
    style = [r for r in results if r.kind == "style"]
    width = max(len(content), len(style))
    cells: list[list[Image.Image | None]] = []
    captions: list[list[str]] = []
    for row in (content, style):
        cells.append([original] + [r.image for r in row] + [None] * (width - len(row)))
        captions.append(
            ["original"] + [f"{r.label} · loss {r.loss:.3g}" for r in row] + [""] * (width - len(row))
        )
    steps = results[0].image.size if results else original.size
    return contact_sheet(
        cells,
        row_labels=["content from one layer", "style from layers up to"],
        column_labels=["", *[f"block {i}" for i in range(1, width + 1)]],
        captions=captions,
        title="What each VGG19 layer keeps (after Gatys et al. 2016, Fig. 1)",
        notes=[
            f"Rebuilt from noise at {steps[0]}×{steps[1]} px. Top: content features of one layer "
            "(conv1_2 … conv5_2). Bottom: Gram matrices of conv1_1, then +conv2_1, … +conv5_1."
        ],
        cell=cell,
    )
