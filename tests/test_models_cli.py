"""`painterly models` (#14): add/list/remove through the CLI, the download command against a
local HTTP server (interrupted and resumed, corrupted and refused), a run naming a missing
backbone, `painterly layers --backbone`, and the backbones sweep skipping a missing one."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from PIL import Image

from painterly.backbones import VGG19Features, random_backbone_state_dict, random_vgg19_weights
from painterly.backbones import registry as registry_module
from painterly.backbones.download import DownloadError, DownloadProgress, download_model
from painterly.backbones.registry import KnownWeights
from painterly.backbones.store import ChecksumError, installed
from painterly.cli import run_command
from painterly.lab.specs import combine, load_spec
from painterly.lab.sweep import load_network, run_sweep

ROOT = Path(__file__).resolve().parents[1]


class FileServer(BaseHTTPRequestHandler):
    """Serves ``payload`` at any path, honouring ``Range: bytes=N-``. ``mode``: "ok";
    "drop" (the first answer stops half way, the connection closed); "corrupt" (other bytes
    of the same length); "no_range" (ignores Range, always the whole file)."""

    payload = b""
    mode = "ok"
    ranges: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        cls = type(self)
        header = self.headers.get("Range")
        cls.ranges.append(header)
        body = cls.payload if cls.mode != "corrupt" else bytes(reversed(cls.payload))
        start = int(header[6:-1]) if header and cls.mode != "no_range" else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if cls.mode == "drop" and len(cls.ranges) == 1:
            self.wfile.write(body[start : start + (len(body) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def alexnet_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("dl") / "alexnet.pth"
    torch.save(random_backbone_state_dict("alexnet", torch.Generator().manual_seed(5)), path)
    return path.read_bytes()


@pytest.fixture
def server(alexnet_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FileServer]]:
    """A local server holding the AlexNet file, and a registry whose alexnet entry points at it."""
    handler = type("Handler", (FileServer,), {"payload": alexnet_bytes, "mode": "ok", "ranges": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/alexnet-owt-test.pth"
    digest = hashlib.sha256(alexnet_bytes).hexdigest()
    entry = KnownWeights("alexnet", "alexnet", "torchvision", url, digest, size_mb=10)
    monkeypatch.setattr(registry_module, "KNOWN", (entry,))
    yield handler
    httpd.shutdown()
    httpd.server_close()


def test_download_interrupted_then_resumed(server, tmp_path):
    server.mode = "drop"
    events: list[DownloadProgress] = []
    models = tmp_path / "models"
    with pytest.raises(DownloadError, match=r"interrupted at .* run the same command again to resume"):
        download_model("alexnet", events.append, models_dir=models)
    part = models / "alexnet-owt-test.pth.part"
    half = part.stat().st_size
    assert 0 < half < len(server.payload) and installed(models) == []
    events.clear()
    model = download_model("alexnet", events.append, models_dir=models)
    assert server.ranges == [None, f"bytes={half}-"]  # the second request asked only for the rest
    assert events[0].resumed_from == half and events[-1].done == events[-1].total == len(server.payload)
    assert (models / model.file).read_bytes() == server.payload and not part.exists()
    assert model.known == "alexnet" and model.format == "torchvision"
    # Downloading again finds it installed and fetches nothing.
    assert download_model("alexnet", models_dir=models) == model and len(server.ranges) == 2


def test_download_corrupted_is_refused(server, tmp_path):
    server.mode = "corrupt"
    models = tmp_path / "models"
    with pytest.raises(ChecksumError, match=r"not the registry's .* refused"):
        download_model("alexnet", models_dir=models)
    assert installed(models) == [] and list(models.iterdir()) == []


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "alexnet-owt-test.pth.part").write_bytes(b"stale bytes from another try")
    server.mode = "no_range"
    model = download_model("alexnet", models_dir=models)
    assert (models / model.file).read_bytes() == server.payload


def test_cli_download_with_progress_then_list_and_remove(server, capsys):
    server.mode = "drop"
    assert run_command(["models", "download", "alexnet"]) == 2
    assert "interrupted" in capsys.readouterr().err
    assert run_command(["models", "download", "alexnet"]) == 0
    captured = capsys.readouterr()
    assert "installed alexnet (alexnet, torchvision input" in captured.out
    assert "resuming at" in captured.err and "downloading alexnet" in captured.err  # the progress bar
    assert run_command(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "installed:\n  alexnet" in listing and "alexnet-owt-test.pth" in listing
    assert run_command(["models", "remove", "alexnet"]) == 0
    assert run_command(["models", "remove", "alexnet"]) == 2
    assert "no installed model 'alexnet'" in capsys.readouterr().err


def test_cli_add_and_a_run_with_the_added_backbone(tmp_path, photo, painting, capsys):
    weights = tmp_path / "my-vgg16-subset.pth"
    # A truncated VGG16 (blocks 1–2) is refused: every conv must be there.
    state = random_backbone_state_dict("vgg16", torch.Generator().manual_seed(6), classifier=False)
    torch.save({k: v for k, v in state.items() if int(k.split(".")[1]) < 10}, weights)
    assert run_command(["models", "add", str(weights), "--as", "vgg16", "--format", "caffe"]) == 2
    assert "no features.10.weight" in capsys.readouterr().err
    torch.save(state, weights)
    assert run_command(["models", "add", str(weights), "--as", "vgg16"]) == 2
    assert "--format torchvision" in capsys.readouterr().err
    assert run_command(["models", "add", str(weights), "--as", "vgg16", "--format", "torchvision"]) == 0
    assert "added vgg16 (vgg16, torchvision input; your own file" in capsys.readouterr().out
    out = tmp_path / "out.png"
    code = run_command(
        [
            "run", str(photo), str(painting), "-o", str(out), "--backbone", "vgg16",
            "--content-layers", "relu2_2", "--style-layers", "relu1_2,relu2_1", "-s", "32", "-n", "2", "-q",
        ]
    )  # fmt: skip
    assert code == 0 and out.is_file()
    assert '"backbone": "vgg16"' in out.with_suffix(".json").read_text()
    assert run_command(["models", "remove", "vgg16"]) == 0


def test_run_naming_a_missing_backbone_exits_2_with_the_fix(photo, painting, tmp_path, capsys):
    out = tmp_path / "out.png"
    code = run_command(
        ["run", str(photo), str(painting), "-o", str(out), "--backbone", "alexnet", "-s", "64"]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "alexnet-owt-7be5be79.pth" in err
    assert "painterly models download alexnet" in err and "painterly models add FILE --as alexnet" in err


def test_layers_lists_each_backbone(capsys):
    assert run_command(["layers", "--backbone", "alexnet"]) == 0
    out = capsys.readouterr().out
    assert (
        "conv1 relu1 pool1" in out and "defaults: content conv4; style conv1,conv2,conv3,conv4,conv5" in out
    )
    assert run_command(["layers", "--backbone", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "conv5_3 relu5_3 pool5" in out and "conv5_4" not in out


def test_backbones_sweep_skips_the_missing_backbone(tmp_path, photo, painting):
    """The example spec: VGG19 (tiny random here), VGG16 from an installed file, AlexNet not
    installed and skipped with the command that installs it, on the sheet and in the report."""
    weights = tmp_path / "vgg16.pth"
    torch.save(
        random_backbone_state_dict("vgg16", torch.Generator().manual_seed(7), classifier=False), weights
    )
    assert run_command(["models", "add", str(weights), "--as", "vgg16", "--format", "torchvision"]) == 0
    built: list[str] = []

    def factory(pooling, activation, last_tap, device, backbone="vgg19", weights_file=""):
        built.append(backbone)
        if backbone == "vgg19":
            return VGG19Features(
                random_vgg19_weights(torch.Generator().manual_seed(0)), pooling, activation, last_tap
            )
        return load_network(pooling, activation, last_tap, device, backbone, weights_file)

    spec = load_spec(ROOT / "examples" / "sweeps" / "backbones.toml")
    spec = combine(spec, content=str(photo), styles=(str(painting),), overrides={"size": 32, "iterations": 2})
    outcome = run_sweep(spec, tmp_path / "sweep", network_factory=factory)
    assert built == ["vgg19", "vgg16", "alexnet"]
    assert [r.status for r in outcome.records] == ["finished", "finished", "missing"]
    report = (tmp_path / "sweep" / "report.md").read_text()
    assert "**Skipped:** backbone alexnet needs alexnet-owt-7be5be79.pth" in report
    assert "painterly models download alexnet" in report
    assert outcome.sheet is not None and outcome.sheet.is_file()
    assert run_command(["models", "remove", "vgg16"]) == 0


def test_models_list_needs_no_torch():
    """The registry, the store and `models list` import no torch (the package's own __init__
    is bypassed here: making it lazy is another issue's work)."""
    import subprocess
    import sys

    code = (
        "import sys, types; pkg = types.ModuleType('painterly'); "
        f"pkg.__path__ = [{str(ROOT / 'src' / 'painterly')!r}]; sys.modules['painterly'] = pkg; "
        "import painterly.backbones.store, painterly.backbones.download, painterly.cli.models as m; "
        "import argparse; m.handle_list(argparse.Namespace()); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "known (painterly models download NAME" in done.stdout


def test_studio_refuses_a_job_whose_backbone_is_missing(tmp_path):
    """The studio offers the backbone choice; a job naming a missing one is a 400 saying how
    to install it, not a failed job later."""
    from fastapi.testclient import TestClient

    from painterly.web.app import create_app

    app = create_app(tmp_path / "studio", network_factory=lambda config: None)
    with TestClient(app, base_url="http://localhost") as client:
        options = client.get("/api/options").json()
        backbone = next(f for f in options["fields"]["optimise"] if f["name"] == "backbone")
        assert backbone["choices"] == ["vgg19", "vgg16", "vgg13", "vgg11", "alexnet"]
        ids = []
        for colour in (10, 200):
            buffer = io.BytesIO()
            Image.new("RGB", (40, 32), (colour, 60, 30)).save(buffer, "PNG")
            r = client.post("/api/uploads", files={"file": ("x.png", buffer.getvalue(), "image/png")})
            ids.append(r.json()["id"])
        body = {
            "mode": "optimise",
            "content": ids[0],
            "styles": [ids[1]],
            "settings": {"backbone": "alexnet"},
        }
        r = client.post("/api/jobs", json=body)
    assert r.status_code == 400
    assert (
        "alexnet-owt-7be5be79.pth" in r.json()["error"]
        and "painterly models download alexnet" in r.json()["error"]
    )
