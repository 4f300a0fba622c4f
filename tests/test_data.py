"""Dataset loading, its sources and errors, and the two input pipelines."""

import os

import keras
import numpy as np
import pytest

import savae_keras as sk
from savae_keras.data import DATASETS
from savae_keras.data import DatasetNotFoundError
from savae_keras.data import ImageBatches
from savae_keras.data import load_class_names
from savae_keras.data import load_dataset
from savae_keras.data import make_dataset
from savae_keras.data import mask_labels

SIZES = {
    "mnist": {"train": 60000, "test": 10000},
    "fashion_mnist": {"train": 60000, "test": 10000},
    "omniglot": {"train": 24345, "test": 8115},
    "caltech101_silhouettes": {"train": 4100, "validation": 2264, "test": 2307},
    "cifar10": {"train": 20000, "test": 1000},
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_load_every_dataset_from_env_folder(name, data_dir):
    spec = DATASETS[name]
    for split, size in SIZES[name].items():
        images, labels = load_dataset(name, split)
        assert images.shape == (size, *spec.image_shape)
        assert images.dtype == np.uint8 and labels.dtype == np.int32
        assert labels.shape == (size,)
        assert 0 <= labels.min() and labels.max() < spec.num_classes
    assert len(load_class_names(name)) == spec.num_classes


def test_mnist_content_matches_the_data_readme(data_dir):
    images, labels = load_dataset("mnist", "train")
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert abs(images.mean() / 255.0 - 0.1307) < 1e-3
    assert not images.flags.writeable  # shared cached arrays are read-only


def _write_npz(folder, name="mnist", n=6, **overrides):
    arrays = {
        "x_train": np.full((n, 28, 28), 7, np.uint8),
        "y_train": np.arange(n, dtype=np.uint8) % 10,
        "x_test": np.zeros((2, 28, 28), np.uint8),
        "y_test": np.zeros(2, np.uint8),
        "class_names": np.array([str(i) for i in range(10)]),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = os.path.join(folder, f"{name}.npz")
    np.savez(path, **arrays)
    return path


def test_data_dir_argument_comes_before_the_environment(tmp_path, data_dir):
    _write_npz(tmp_path)
    images, labels = load_dataset("mnist", "train", data_dir=str(tmp_path))
    assert images.shape == (6, 28, 28, 1) and np.all(images == 7)
    assert labels.tolist() == [0, 1, 2, 3, 4, 5]


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown dataset name 'mnsit'.*cifar10"):
        load_dataset("mnsit")


def test_missing_split_lists_available_splits():
    with pytest.raises(ValueError, match="no split 'validation'.*train, test"):
        load_dataset("mnist", "validation")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_train": None}, "missing the keys \\['y_train'\\]"),
        ({"x_train": np.zeros((6, 28, 28), np.float32)}, "must be uint8"),
        ({"x_train": np.zeros((6, 784), np.uint8)}, "must have shape"),
        ({"x_train": np.zeros((6, 32, 32), np.uint8)}, "must have shape"),
        ({"y_train": np.array([0, 1, 2, 3, 4, 12], np.uint8)}, "\\[0, 10\\)"),
        ({"y_train": np.zeros(5, np.uint8)}, "has 5 entries but there are 6"),
    ],
)
def test_malformed_npz_is_named_in_the_error(tmp_path, overrides, message):
    _write_npz(tmp_path, **overrides)
    with pytest.raises(ValueError, match=message):
        load_dataset("mnist", "train", data_dir=str(tmp_path))


def test_not_an_npz_file(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        load_dataset("mnist", "train", data_dir=str(tmp_path))


@pytest.mark.parametrize(
    "load",
    [
        lambda folder: load_dataset("trace", "train", data_dir=folder),
        lambda folder: load_dataset("ucr_internal_bleeding16", "test", data_dir=folder),
        lambda folder: sk.data.load_ucr_series(data_dir=folder),
        lambda folder: sk.data.load_series("trace", data_dir=folder),
    ],
)
def test_signal_files_name_themselves_in_their_errors(tmp_path, load):
    """Unreadable, then readable without the needed arrays: both errors name
    the file (they were bare `KeyError`s or numpy's own message)."""
    for name in ("trace", "ucr_internal_bleeding16"):
        (tmp_path / f"{name}.npz").write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match=f"'{tmp_path}/.*npz' is not a readable"):
        load(str(tmp_path))
    for name in ("trace", "ucr_internal_bleeding16"):
        np.savez(tmp_path / f"{name}.npz", other=np.zeros(3))
    with pytest.raises(ValueError, match=f"'{tmp_path}/.*npz' is missing the key"):
        load(str(tmp_path))


def test_missing_everywhere_says_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVAE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("caltech101_silhouettes", data_dir=str(tmp_path))
    text = str(caught.value)
    assert "data_dir" in text and "does not exist" in text
    assert "SAVAE_DATA_DIR" in text and "is not a folder" in text
    assert "tensorflow_datasets: has no dataset of this name" in text
    assert "caltech101_silhouettes.npz" in text


def test_tfds_is_tried_last_and_its_failure_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("SAVAE_DATA_DIR", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(DatasetNotFoundError, match="tensorflow_datasets: "):
        load_dataset("mnist", "test")


@pytest.mark.parametrize(
    "name, shape, num_classes",
    [
        ("mnist", (28, 28, 1), 10),
        ("cifar10", (32, 32, 3), 10),
        ("omniglot", (28, 28, 1), 50),
    ],
)
def test_tfds_source_with_mock_data(name, shape, num_classes, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.delenv("SAVAE_DATA_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=7):
        images, labels = load_dataset(name, "train")
    assert images.shape == (7, *shape) and images.dtype == np.uint8
    assert labels.dtype == np.int32 and labels.shape == (7,)
    assert 0 <= labels.min() and labels.max() < num_classes


def _first_epoch(dataset):
    if isinstance(dataset, ImageBatches):
        return [dataset[i] for i in range(len(dataset))]
    return [
        tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else np.asarray(b)
        for b in dataset
    ]


PIPELINES = [
    pytest.param(make_dataset, id="tf.data"),
    pytest.param(ImageBatches, id="PyDataset"),
]


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipeline_yields_float_images_and_int_labels(pipeline, mnist_slice):
    (x, y), _ = mnist_slice
    batches = _first_epoch(pipeline(x[:300], y[:300], batch_size=128, seed=3))
    assert [len(b[0]) for b in batches] == [128, 128, 44]
    images, labels = batches[0]
    assert images.shape == (128, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.9
    assert labels.dtype == np.int32
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == sorted(y[:300].tolist())


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipeline_without_labels_yields_images(pipeline, mnist_slice):
    (x, _), _ = mnist_slice
    batches = _first_epoch(pipeline(x[:64], batch_size=32, shuffle=False))
    assert len(batches) == 2 and batches[0].shape == (32, 28, 28, 1)
    np.testing.assert_allclose(batches[0], x[:32] / 255.0, atol=1e-7)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_shuffle_is_seeded_and_reshuffles_each_epoch(pipeline, mnist_slice):
    (x, y), _ = mnist_slice
    first = pipeline(x[:96], y[:96], batch_size=96, seed=7)
    second = pipeline(x[:96], y[:96], batch_size=96, seed=7)
    a, b = _first_epoch(first)[0][1], _first_epoch(second)[0][1]
    np.testing.assert_array_equal(a, b)
    if isinstance(first, ImageBatches):
        first.on_epoch_end()
    assert not np.array_equal(_first_epoch(first)[0][1], a)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_labeled_fraction_masks_a_class_balanced_share(pipeline, mnist_slice):
    (x, y), _ = mnist_slice
    batches = _first_epoch(
        pipeline(x, y, batch_size=512, seed=0, labeled_fraction=0.1, shuffle=False)
    )
    labels = batches[0][1]
    for c in range(10):
        expected = max(1, round(0.1 * np.sum(y == c)))
        assert np.sum(labels == c) == expected
    assert np.sum(labels == -1) == len(y) - sum(
        max(1, round(0.1 * np.sum(y == c))) for c in range(10)
    )
    kept = labels != -1
    np.testing.assert_array_equal(labels[kept], y[kept])


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("shuffle", [True, False])
def test_labeled_share_puts_exactly_k_labels_in_every_batch(pipeline, shuffle):
    # 100 images, 7 labeled (ids 0..6 carry labels 0..6); share 0.25 of 16: k = 4.
    images = np.arange(100, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), "u1")
    labels = np.full(100, -1)
    labels[:7] = np.arange(7)
    batches = _first_epoch(
        pipeline(
            images, labels, batch_size=16, seed=1, labeled_share=0.25, shuffle=shuffle
        )
    )
    assert len(batches) == 8  # ceil(93 unlabeled / 12 a batch)
    ids = [np.round(b[0][:, 0, 0, 0] * 255).astype(int) for b in batches]
    for (_, batch_labels), batch_ids in zip(batches, ids):
        assert np.sum(batch_labels >= 0) == 4
        np.testing.assert_array_equal(
            batch_labels[batch_ids < 7], batch_ids[batch_ids < 7]
        )
    # Every unlabeled image once an epoch; the labeled ones in passes, each
    # pass every labeled image once (32 draws: four whole passes and four).
    unlabeled = np.concatenate([i[i >= 7] for i in ids])
    assert sorted(unlabeled.tolist()) == list(range(7, 100))
    drawn = np.concatenate([i[i < 7] for i in ids])
    assert len(drawn) == 32
    for start in range(0, 28, 7):
        assert sorted(drawn[start : start + 7].tolist()) == list(range(7))


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_labeled_share_with_drop_remainder_keeps_whole_batches(pipeline):
    images = np.arange(100, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), "u1")
    labels = np.full(100, -1)
    labels[:7] = np.arange(7)
    options = dict(batch_size=16, seed=1, labeled_share=0.25, drop_remainder=True)
    batches = _first_epoch(pipeline(images, labels, **options))
    # 93 unlabeled // 12 a batch: 7 batches of 12 unlabeled and 4 labeled.
    assert [len(b[0]) for b in batches] == [16] * 7
    assert all(np.sum(b[1] >= 0) == 4 for b in batches)
    with pytest.raises(ValueError, match="whole batches of 12 unlabeled images"):
        pipeline(images[:16], labels[:16], **options)  # 9 unlabeled


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(
    "labels, share, message",
    [
        (None, 0.25, "`labeled_share` needs `labels`"),
        (np.arange(8) % 2, 0.25, "2 of the 8|8 of the 8"),
        (np.full(8, -1), 0.25, "0 of the 8"),
        (np.array([0, -1, -1, -1, -1, -1, -1, -1]), 0.0, "must lie in \\(0, 1\\)"),
        (np.array([0, -1, -1, -1, -1, -1, -1, -1]), 1.0, "must lie in \\(0, 1\\)"),
        (np.array([0, -1, -1, -1, -1, -1, -1, -1]), 0.01, "is 0 labeled images"),
    ],
)
def test_labeled_share_errors_name_the_argument(pipeline, labels, share, message):
    images = np.zeros((8, 28, 28), np.uint8)
    with pytest.raises(ValueError, match=message):
        pipeline(images, labels, batch_size=4, labeled_share=share)


def test_mask_labels_is_deterministic_per_seed():
    y = np.repeat(np.arange(5), 20)
    a, b, c = mask_labels(y, 0.25, 1), mask_labels(y, 0.25, 1), mask_labels(y, 0.25, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(mask_labels(y, 1.0), y)


def test_mask_labels_per_class_keeps_exactly_n_of_each_class():
    y = np.repeat(np.arange(5), 20)
    kept = mask_labels(y, labels_per_class=3, seed=0)
    np.testing.assert_array_equal(np.bincount(kept[kept >= 0]), [3] * 5)
    assert np.all((kept == -1) | (kept == y))  # a kept label is the true one
    assert not np.array_equal(kept, mask_labels(y, labels_per_class=3, seed=1))


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"labels": np.array([0, 1, 10, 2])},
            ValueError,
            "`labels`: values must lie in \\[0, 10\\)",
        ),
        ({"labels": np.array([0, 1, -2, 2])}, ValueError, "or be -1"),
        ({"labels": np.array([0.5, 1, 2, 3])}, TypeError, "integer class indices"),
        ({"labels": np.array([0, 1])}, ValueError, "has 2 entries but there are 4"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be a positive integer"),
        ({"labeled_fraction": 0.5}, ValueError, "`labeled_fraction` needs `labels`"),
        (
            {"labels": np.arange(4), "labeled_fraction": 0.0},
            ValueError,
            "must lie in \\(0, 1\\]",
        ),
    ],
)
def test_pipeline_errors_name_the_argument(pipeline, kwargs, error, message):
    images = np.zeros((4, 28, 28), np.uint8)
    with pytest.raises(error, match=message):
        pipeline(images, num_classes=10, **kwargs)


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(
    "images, error, message",
    [
        (np.full((4, 28, 28, 1), np.nan, np.float32), ValueError, "NaN"),
        (
            np.full((4, 28, 28, 1), 3.0, np.float32),
            ValueError,
            "must lie in \\[0, 1\\]",
        ),
        (np.zeros((4, 784), np.float32), ValueError, "shape \\(N, H, W\\)"),
        (np.zeros((4, 28, 28), np.int64), TypeError, "uint8"),
    ],
)
def test_pipeline_rejects_bad_images(pipeline, images, error, message):
    with pytest.raises(error, match=f"`images`.*{message}|{message}.*`images`"):
        pipeline(images)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipeline_feeds_fit_on_the_active_backend(pipeline, mnist_slice):
    (x, y), _ = mnist_slice
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(pipeline(x, y, batch_size=128, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
