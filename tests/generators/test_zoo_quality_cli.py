"""``gan train --family``, ``gan quality``, ``zoo list`` and ``zoo:NAME`` resolution."""

from __future__ import annotations

import json
import shutil

import pytest
from safetensors.torch import load_file, save_file

from ganscope.cli import main
from ganscope.errors import GanscopeError
from ganscope.generators import GENERATORS, load_generator, sample_images
from ganscope.zoo import resolve_generator, zoo_entries, zoo_entry

TINY = ["--size", "16", "--batch-size", "8", "--width", "4", "--checkpoint-every", "2"]


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.mark.parametrize("family", sorted(GENERATORS))
def test_train_every_family_then_quality(family, tiny_data, tmp_path, capsys):
    run = tmp_path / family
    code, _, err = _run(
        [
            "gan",
            "train",
            "--data",
            str(tiny_data),
            "--upsample",
            "nearest",
            "--out",
            str(run),
            "--family",
            family,
            "--steps",
            "2",
            *TINY,
        ],
        capsys,
    )
    assert code == 0, err
    G, config = load_generator(run)
    assert config["family"] == family and G.family == family
    out_json = tmp_path / f"{family}.json"
    code, out, err = _run(
        [
            "gan",
            "quality",
            str(run),
            "--real",
            str(tiny_data),
            "--n",
            "12",
            "--json",
            str(out_json),
        ],
        capsys,
    )
    assert code == 0, err
    assert "real-vs-real" in out and "verdict" in out
    q = json.loads(out_json.read_text())
    assert {"diversity", "near_duplicates", "nn_ratio", "precision", "recall", "healthy"} <= set(q)


def test_family_choice_is_checked(tiny_data, tmp_path, capsys):
    code, _, err = _run(
        [
            "gan",
            "train",
            "--data",
            str(tiny_data),
            "--upsample",
            "nearest",
            "--out",
            str(tmp_path / "r"),
            "--family",
            "stylegan9",
        ],
        capsys,
    )
    assert code == 2 and "stylegan9" in err


def test_zoo_catalogue_resolves_and_loads_fp16(tiny_data, tmp_path, capsys, monkeypatch):
    import ganscope.zoo as zoo

    run = tmp_path / "run"
    code, _, err = _run(
        [
            "gan",
            "train",
            "--data",
            str(tiny_data),
            "--upsample",
            "blur",
            "--out",
            str(run),
            "--steps",
            "2",
            *TINY,
        ],
        capsys,
    )
    assert code == 0, err
    root = tmp_path / "zoo"
    entry = root / "tiny-blur"
    shutil.copytree(run / "generator", entry)
    state = load_file(str(entry / "model.safetensors"))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
              str(entry / "model.safetensors"))  # fmt: skip
    (entry / "quality.json").write_text(json.dumps({"diversity": 0.9, "swd": 12.0}))
    monkeypatch.setattr(zoo, "ZOO_DIR", root)
    [e] = zoo_entries()
    assert (e.name, e.family, e.upsampler, e.size, e.steps) == ("tiny-blur", "dcgan", "blur", 16, 2)
    assert resolve_generator("zoo:tiny-blur") == entry
    G, _ = load_generator("zoo:tiny-blur")
    assert sample_images(G, [0]).shape == (1, 3, 16, 16)
    code, out, _ = _run(["zoo", "list", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["name"] == "tiny-blur" and rows[0]["diversity"] == 0.9
    assert {"name", "family", "upsampler", "size"} <= set(rows[0])
    samples = tmp_path / "samples"
    code, _, err = _run(["gan", "sample", "zoo:tiny-blur", "--n", "2", "--out", str(samples)],
                        capsys)  # fmt: skip
    assert code == 0, err and len(list(samples.iterdir())) == 2
    with pytest.raises(GanscopeError, match="the zoo has: tiny-blur"):
        zoo_entry("nope")
    code, _, err = _run(["gan", "sample", "zoo:nope", "--n", "1", "--out", str(tmp_path / "x")],
                        capsys)  # fmt: skip
    assert code == 2 and "no zoo generator" in err


def test_gan_train_names_every_skipped_file(tiny_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (data / "empty.jpg").write_bytes(b"")
    run = tmp_path / "run"
    code, _, err = _run(
        ["gan", "train", "--data", str(data), "--upsample", "nearest", "--out", str(run),
         "--steps", "1", *TINY],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    listed = (run / "errors.csv").read_text()
    assert "broken.png" in listed and "empty.jpg" in listed
