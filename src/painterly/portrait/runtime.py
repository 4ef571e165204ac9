"""The one place the TFLite runtime (Google's LiteRT, ``ai-edge-litert``) is loaded.

Why LiteRT and not onnxruntime: the MediaPipe models ship as TFLite files, and an ONNX
conversion needs TensorFlow plus tf2onnx (several hundred MB) just to check it is
faithful; LiteRT runs the originals as published (about 60 MB, an optional extra).
Everything else in ``painterly.portrait`` calls :func:`load_model` and never imports
the runtime itself, so switching runtimes is a change to this file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from painterly.errors import MissingDependencyError

#: What a user runs when the portrait extra is missing.
INSTALL_HINT = "pip install 'painterly[portrait]'"

#: The model files shipped in painterly/portrait/models (provenance in its README.md).
MODEL_FILES = {
    "segmentation": "selfie_segmentation.tflite",
    "detection": "face_detection_short_range.tflite",
    "landmarks": "face_landmark.tflite",
}


def model_path(name: str) -> Path:
    """Path of a shipped model file by its short name (segmentation, detection, landmarks)."""
    path = Path(str(resources.files("painterly.portrait") / "models" / MODEL_FILES[name]))
    if not path.is_file():
        raise MissingDependencyError(f"portrait model file {path} is missing: reinstall painterly")
    return path


def runtime_available() -> bool:
    """Whether the LiteRT runtime can be imported (the ``portrait`` extra is installed)."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Model:
    """A loaded TFLite model: ``run(x)`` → its outputs in the model's own order."""

    interpreter: Any
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run one float32 NHWC batch; outputs copied out of the interpreter's buffers."""
        self.interpreter.set_tensor(self.inputs[0]["index"], np.ascontiguousarray(x, dtype=np.float32))
        self.interpreter.invoke()
        return [np.array(self.interpreter.get_tensor(o["index"])) for o in self.outputs]

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model takes."""
        shape = self.inputs[0]["shape"]
        return int(shape[1]), int(shape[2])


def load_model(name: str, threads: int = 1) -> Model:
    """Load a shipped model by short name; MissingDependencyError with the install hint
    when LiteRT is not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise MissingDependencyError(
            f"portrait mode needs the LiteRT runtime (ai-edge-litert): {INSTALL_HINT}"
        ) from None
    interpreter = Interpreter(model_path=str(model_path(name)), num_threads=max(1, threads))
    interpreter.allocate_tensors()
    return Model(interpreter, interpreter.get_input_details(), interpreter.get_output_details())
