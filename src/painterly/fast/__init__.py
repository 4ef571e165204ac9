"""Fast mode: feed-forward arbitrary style transfer (Magenta's networks via onnxruntime).

Importing this package does not import onnxruntime or onnx; the first
:class:`FastStylizer` does.
"""

from painterly.fast.stylizer import FastResult, FastStylizer, fast_stylize

__all__ = ["FastResult", "FastStylizer", "fast_stylize"]
