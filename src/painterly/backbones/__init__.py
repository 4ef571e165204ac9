"""Feature networks with named taps."""

from painterly.backbones.vgg import VGG19Features, deepest_tap
from painterly.backbones.weights import load_vgg19_weights, random_vgg19_weights

__all__ = ["VGG19Features", "deepest_tap", "load_vgg19_weights", "random_vgg19_weights"]
