"""Issue 13's promise, checked: adding a spectral feature, a classifier, a detector, a generator
family or a study question is one new file plus its registration, and the command line, the
library and the report find it with no other edit.

Each test writes the new thing as one plugin module (standing for the new file in the package)
and runs ganscope in a fresh process that imports it first (standing for the registration line in
the package's ``__init__``), so nothing in ganscope's own files knows the new name."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _run(tmp_path: Path, plugin: str, script: str) -> str:
    (tmp_path / "plugin.py").write_text(textwrap.dedent(plugin))
    code = f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport plugin\n" + textwrap.dedent(
        script
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _cli(argv: list[str]) -> str:
    return (
        "from ganscope.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """Smooth "real" and noisy "fake" 16x16 PNGs."""
    root = tmp_path_factory.mktemp("plug")
    rng = np.random.default_rng(0)
    for name, noise in (("real", 2), ("fake", 60)):
        (root / name).mkdir()
        for i in range(12):
            base = np.linspace(40, 200, 16)[None, :, None] * np.ones((16, 1, 3))
            img = np.clip(base + rng.normal(0, noise, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{i}.png")
    return root / "real", root / "fake"


FEATURE = '''
    import torch
    from ganscope.spectrum.features import FeatureLayout, SpectralFeature, register_feature
    from ganscope.spectrum.fourier import power_spectrum

    @register_feature("mean-log-power")
    class MeanLogPower(SpectralFeature):
        one_d = False

        def compute(self, x, *, bins, preset, white):
            return power_spectrum(x).flatten(1).mean(1, keepdim=True)

        def layout(self, H, W, *, bins, preset):
            return FeatureLayout("mean-log-power", 1)
'''


def test_a_spectral_feature(tmp_path, folders):
    real, fake = folders
    _run(tmp_path, FEATURE, _cli(["-q", "spectrum", str(real), str(fake), "--kind",
                                  "mean-log-power", "--csv", str(tmp_path / "f.csv")]))
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert rows[0] == "path,f0" and len(rows) == 25
    _run(tmp_path, FEATURE, _cli(["-q", "detector", "train", "--real", str(real), "--fake",
                                  str(fake), "--method", "logreg", "--features", "mean-log-power",
                                  "--out", str(tmp_path / "model")]))
    assert (tmp_path / "model" / "model.safetensors").exists()


CLASSIFIER = '''
    from ganscope.detectors.classifiers import Classifier, register_classifier

    @register_classifier("stump")
    class Stump(Classifier):
        def build(self, *, C, seed):
            from sklearn.tree import DecisionTreeClassifier
            return DecisionTreeClassifier(max_depth=1, random_state=seed)
'''


def test_a_classifier(tmp_path, folders):
    real, fake = folders
    out = _run(tmp_path, CLASSIFIER, _cli(["-q", "detector", "train", "--real", str(real),
                                           "--fake", str(fake), "--method", "stump", "--out",
                                           str(tmp_path / "m")])
               + _cli(["detect", "--model", str(tmp_path / "m"), str(fake)]))
    labels = [line.split("\t")[1] for line in out.splitlines() if line.count("\t") == 2]
    assert labels == ["fake"] * 12


FAMILY = '''
    import torch
    from torch import nn
    from ganscope.generators.family import GeneratorFamily, register_generator
    from ganscope.layers import create_upsampler

    @register_generator("tiny")
    class Tiny(GeneratorFamily):
        setting_names = ("size", "upsample", "latent_dim", "width")

        def __init__(self, *, size=16, upsample="nearest", latent_dim=8, width=4, **_):
            super().__init__()
            self.size, self.upsample = size, upsample
            self.latent_dim, self.width = latent_dim, width
            self.fc = nn.Linear(latent_dim, width * (size // 2) ** 2)
            self.up = create_upsampler(upsample, width, 3)

        def forward(self, z):
            h = self.fc(z).view(len(z), self.width, self.size // 2, self.size // 2)
            return torch.tanh(self.up(h))
'''


def test_a_generator_family(tmp_path, folders):
    real, _ = folders
    run = tmp_path / "run"
    _run(tmp_path, FAMILY, _cli(["-q", "gan", "train", "--family", "tiny", "--data", str(real),
                                 "--size", "16", "--steps", "3", "--batch-size", "4",
                                 "--sample-every", "0", "--out", str(run)])
         + _cli(["-q", "gan", "sample", str(run), "--n", "3", "--out", str(tmp_path / "s")]))
    assert len(list((tmp_path / "s").glob("*.png"))) == 3


QUESTION = '''
    from ganscope.study.questions import Answer, study_question

    @study_question("how-many", "How many generators were studied?")
    def how_many(r):
        return Answer(f"{len(r.upsamplers)} generators.", sources=r.upsamplers)
'''


def test_a_study_question(tmp_path):
    out = _run(tmp_path, QUESTION, '''
        from ganscope.study.questions import QUESTIONS, answer_questions
        assert "how-many" in QUESTIONS
        broken = {"diversity": 0.2, "near_duplicates": 0.4, "collapsed": True,
                  "unrealistic": False}
        results = {"upsamplers": ["a", "b"], "quality": {"a": broken}}
        for title, text in answer_questions(results):
            print(title, "|", text)
    ''')
    assert "How many generators were studied? | 2 generators." in out
    assert "Caveat" in out.split("How many")[1].splitlines()[0]


DETECTOR = '''
    import numpy as np
    import torch
    from ganscope.detectors.base import BaseDetector, as_images, register_detector

    @register_detector("roughness")
    class Roughness(BaseDetector):
        """P(fake) rises with the mean absolute difference of neighbouring pixels."""

        def __init__(self, seed=0):
            self.seed = seed

        def _score(self, X):
            x = as_images(X)
            return (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3)).numpy()

        def fit(self, X, y):
            s, y = self._score(X), np.asarray(y)
            self.cut_ = float((s[y == 0].mean() + s[y == 1].mean()) / 2)
            self.classes_, self.threshold_, self.input_size_ = np.array([0, 1]), 0.5, None
            return self

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-(self._score(X) - self.cut_) * 100))
            return np.stack([1 - p, p], 1)

        def _get_fitted_state(self):
            return {"cut": torch.tensor([self.cut_])}, {}

        def _set_fitted_state(self, tensors, state):
            self.cut_ = float(tensors["cut"][0])
            self.classes_, self.threshold_, self.input_size_ = np.array([0, 1]), 0.5, None
'''


def test_a_detector(tmp_path, folders):
    real, fake = folders
    fit = f"""
        import numpy as np
        from ganscope.detectors import save_detector
        import torch
        from ganscope.io import list_images, load_image
        paths = list_images([{str(real)!r}]) + list_images([{str(fake)!r}])
        X = torch.stack([load_image(p) for p in paths])
        det = plugin.Roughness().fit(X, np.repeat([0, 1], len(paths) // 2))
        save_detector(det, {str(tmp_path / "m")!r})
    """
    model = str(tmp_path / "m")
    script = textwrap.dedent(fit) + _cli(["detect", "--model", model, str(real), str(fake)])
    script += _cli(["detector", "eval", model, "--real", str(real), "--fake", str(fake)])
    out = _run(tmp_path, DETECTOR, script)
    labels = [line.split("\t")[1] for line in out.splitlines() if line.count("\t") == 2]
    assert labels == ["fake"] * 12 + ["real"] * 12 and "AP" in out  # sorted by path
