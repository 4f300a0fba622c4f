"""The documentation's promises: docstrings on the public API, and the
README's and guides' code running as written (on tiny settings)."""

import copy
import importlib
import inspect
import re
from pathlib import Path

import pytest

import savae_keras

PUBLIC_MODULES = [
    "savae_keras",
    *(
        f"savae_keras.{name}"
        for name in savae_keras.__all__
        if name.islower() and inspect.ismodule(getattr(savae_keras, name))
    ),
    "savae_keras.tuning",
]


def _public_objects():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        assert hasattr(module, "__all__"), f"{module_name} has no __all__"
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


def _undocumented(qualified, obj):
    if inspect.ismodule(obj):
        return [] if inspect.getdoc(obj) else [qualified]
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return []  # constants are documented where they are defined
    missing = [] if obj.__doc__ and obj.__doc__.strip() else [qualified]
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            if not inspect.isfunction(function):
                continue
            own = function.__doc__ and function.__doc__.strip()
            # A layer's `call`, `build`, ... keep the meaning Keras documents.
            keras_protocol = any(
                name in vars(base)
                for base in obj.__mro__[1:]
                if base.__module__.startswith("keras.")
            )
            if not own and not keras_protocol:
                missing.append(f"{qualified}.{name}")
    return missing


def test_every_public_name_has_a_docstring():
    missing = []
    for qualified, obj in _public_objects():
        missing += _undocumented(qualified, obj)
    assert not missing, "no docstring: " + ", ".join(sorted(set(missing)))


# -- the README's and the guides' code ---------------------------------------
ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    "README.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "guides").glob("*.md")),
]
NOT_RUN = "<!-- not run:"
SAMPLES = 1024  # images per loaded split (signal sets stay whole)
BUDGET = ("seconds", "vec_share", "clock", "encoder_epochs", "decoder_epochs", "epochs")


def python_blocks(text):
    """The ```python blocks of a Markdown text, without those marked
    `<!-- not run: why -->` on the line before."""
    blocks = []
    for match in re.finditer(r"(?m)^```python\n(.*?)^```", text, re.S):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if not before.startswith(NOT_RUN):
            blocks.append(match.group(1))
    return blocks


def test_not_run_blocks_say_why():
    for document in DOCUMENTS:
        text = (ROOT / document).read_text()
        for line in text.splitlines():
            if line.startswith(NOT_RUN):
                assert len(line) > len(NOT_RUN) + 10, f"{document}: {line}"


def _tiny_presets(monkeypatch, cls):
    """Every named preset of `cls` takes its `tiny` preset's networks (or
    keeps its own where it fixes another input shape) and budget, so the
    docs' code runs in seconds."""
    tiny = cls.presets["tiny"]
    swapped = {}
    for name, preset in cls.presets.items():
        shape = preset["config"].get("input_shape")
        own = shape is not None and shape != tiny["config"].get("input_shape")
        config = dict(preset["config"] if own else tiny["config"])
        swapped[name] = {**copy.deepcopy(tiny), "config": config}
    monkeypatch.setattr(cls, "presets", swapped)


def _small_data(monkeypatch):
    loader = savae_keras.data.load_dataset

    def load_dataset(name, *args, **kwargs):
        x, y = loader(name, *args, **kwargs)
        if name in savae_keras.data.SIGNALS:
            return x, y
        return x[:SAMPLES], y[:SAMPLES]

    monkeypatch.setattr(savae_keras, "load_dataset", load_dataset)
    monkeypatch.setattr(savae_keras.data, "load_dataset", load_dataset)


def _one_epoch_budget(monkeypatch, cls, **budget):
    fit = cls.fit

    def short_fit(self, *args, **kwargs):
        for key in BUDGET:
            kwargs.pop(key, None)
        return fit(self, *args, **{**kwargs, **budget})

    monkeypatch.setattr(cls, "fit", short_fit)


def _docstring_examples():
    examples = {}
    for qualified, obj in _public_objects():
        text = inspect.getdoc(obj) if not inspect.ismodule(obj) else None
        blocks = python_blocks(text or "")
        if blocks:
            examples[qualified] = "\n".join(blocks)
    return examples


DOCSTRING_EXAMPLES = _docstring_examples()


def test_the_models_show_an_example():
    for name in (
        "SAVAE",
        "VAE",
        "AdversarialDecoder",
        "RecursiveAutoencoderGAN",
        "VariationalEncoderClassifier",
    ):
        assert f"savae_keras.{name}" in DOCSTRING_EXAMPLES, name


@pytest.mark.slow(torch=60)
@pytest.mark.parametrize(
    "document", DOCUMENTS + [f"docstring:{name}" for name in DOCSTRING_EXAMPLES]
)
def test_the_documented_code_runs(document, monkeypatch, tmp_path):
    """Each document's Python blocks (or a docstring's example), in order,
    in one namespace, on tiny presets, 1,024 images per split and one epoch
    per phase."""
    from savae_keras.models import SAVAE
    from savae_keras.models import RecursiveAutoencoderGAN

    if document.startswith("docstring:"):
        blocks = [DOCSTRING_EXAMPLES[document.removeprefix("docstring:")]]
    else:
        blocks = python_blocks((ROOT / document).read_text())
    assert blocks, f"{document} has no Python to run"
    for cls in (SAVAE, RecursiveAutoencoderGAN):
        _tiny_presets(monkeypatch, cls)
    _small_data(monkeypatch)
    _one_epoch_budget(monkeypatch, SAVAE, encoder_epochs=1, decoder_epochs=1)
    _one_epoch_budget(monkeypatch, RecursiveAutoencoderGAN, epochs=1)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{document}, block {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"{document}, block {number} failed: {error!r}\n{block}"
            ) from error


@pytest.mark.parametrize("document", ["README.md", "CHANGELOG.md"])
def test_relative_links_lead_to_files(document):
    """The site's links are checked by `mkdocs build --strict`; these two
    files live outside it."""
    text = (ROOT / document).read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local or document == "CHANGELOG.md"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"{document} links to missing files: {missing}"
