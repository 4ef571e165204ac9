"""Video style transfer: decode, paint each frame tied to the previous one by optical
flow, encode (see :mod:`painterly.video.pipeline`). Importing this does no heavy work:
PyAV, OpenCV, torch and onnxruntime are imported where they are used."""

from painterly.video.pipeline import VideoResult, output_kind, stylize_video

__all__ = ["VideoResult", "output_kind", "stylize_video"]
