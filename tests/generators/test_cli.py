"""``ganscope gan train|sample`` end to end on a tiny folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from ganscope.cli import main
from ganscope.generators import load_generator, sample_images
from ganscope.io import to_uint8
from ganscope.layers import UPSAMPLERS

TINY = ["--size", "16", "--batch-size", "8", "--width", "4", "--checkpoint-every", "2"]


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_help_lists_the_upsamplers(capsys):
    code, out, _ = _run(["gan", "--help"], capsys)
    assert code == 0
    for name in UPSAMPLERS:
        assert name in out


def test_train_rerun_and_sample(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["gan", "train", "--data", str(tiny_data), "--upsample", "nearest", "--out", str(run),
            "--steps", "4", *TINY]  # fmt: skip
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "trained 4 steps" in out
    code, out, _ = _run(argv, capsys)
    assert code == 0 and "complete" in out

    samples = tmp_path / "samples"
    code, out, err = _run(["gan", "sample", str(run), "--n", "3", "--out", str(samples),
                           "--seed", "41"], capsys)  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in samples.iterdir()) == [
        "seed000041.png", "seed000042.png", "seed000043.png",
    ]  # fmt: skip
    G, _ = load_generator(run)
    again = to_uint8(sample_images(G, [42])[0]).astype(int)
    stored = np.asarray(Image.open(samples / "seed000042.png")).astype(int)
    assert np.abs(stored - again).max() <= 1


def test_bad_input_is_one_line_and_exit_2(tiny_data, tmp_path, capsys):
    code, _, err = _run(["gan", "train", "--data", str(tiny_data), "--upsample", "lanczos",
                         "--out", str(tmp_path / "r"), *TINY], capsys)  # fmt: skip
    assert code == 2
    assert err.strip().count("\n") == 0 and "'lanczos' is not one of" in err and "blur" in err
    code, _, err = _run(["gan", "sample", str(tmp_path / "none"), "--n", "2",
                         "--out", str(tmp_path / "s")], capsys)  # fmt: skip
    assert code == 2 and "error:" in err


@pytest.mark.slow
def test_killed_process_resumes_when_rerun(tiny_data, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "ganscope", "-q", "gan", "train", "--data", str(tiny_data),
           "--upsample", "bilinear", "--out", str(run), "--steps", "100000",
           "--sample-every", "0", *TINY]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.safetensors").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # On a fast machine the killed run may have passed several checkpoints: resume from wherever
    # it stopped and ask for a few more steps.
    from safetensors import safe_open

    with safe_open(str(run / "checkpoint.safetensors"), "pt") as fh:
        target = int(fh.metadata()["step"]) + 3
    cmd[cmd.index("100000")] = str(target)
    cmd.remove("-q")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr + done.stdout
    G, cfg = load_generator(run)
    assert cfg["step"] == target
    assert torch.isfinite(next(G.parameters())).all()
