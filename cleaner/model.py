"""Model files and prediction, in numpy alone.

A model file is one ``.npz`` of plain arrays (loaded with ``allow_pickle=False``) plus a
``<file>.sha256`` beside it. It holds a small JSON header (format version, feature names,
class names, training data hash), the feature scaling, the weights of a one-hidden-layer
network, and the model's vocabulary of frequent words. Loading checks the checksum and that
the header's feature names are the ones this code computes, and refuses anything else with
an error that names the file and how to restore it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ("body", "comment", "related", "boilerplate")
FORMAT_VERSION = 1
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "text.npz"
DEFAULT_HTML_MODEL = DEFAULT_MODEL.with_name("html.npz")
_RESTORE = "reinstall cleaner to restore the shipped model, or retrain it with `python -m cleaner.train`"


class ModelError(Exception):
    """A model file is missing, corrupted, or made for other features."""


@dataclass(frozen=True)
class Network:
    """One feed-forward network with its input scaling: ``predict_proba(X)`` gives one row
    of class probabilities per feature row."""

    mean: np.ndarray
    scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        h = (X - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                np.maximum(h, 0, out=h)  # ReLU
        h -= h.max(axis=1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=1, keepdims=True)
        return h


@dataclass(frozen=True)
class Model:
    """A loaded line classifier: the networks of its passes (the first reads a line's
    features; the second, if any, re-reads them with the first pass's probabilities of the
    surrounding lines) and the vocabulary its features use."""

    header: dict
    networks: tuple[Network, ...]
    vocab: tuple[str, ...]
    path: str = "<memory>"

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.header["classes"])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.header["feature_names"])


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(path: str | Path, model: Model) -> str:
    """Write ``model`` to ``path`` and its checksum to ``path.sha256``; returns the checksum."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "header": np.frombuffer(json.dumps(model.header, sort_keys=True).encode(), dtype=np.uint8),
        "vocab": np.array(model.vocab, dtype=np.str_),
    }
    for s, net in enumerate(model.networks):
        arrays[f"s{s}_mean"] = net.mean.astype(np.float32)
        arrays[f"s{s}_scale"] = net.scale.astype(np.float32)
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            arrays[f"s{s}_w{i}"] = w.astype(np.float32)
            arrays[f"s{s}_b{i}"] = b.astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = sha256_of(data)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n", encoding="ascii")
    return digest


def load(path: str | Path, *, feature_names: list[str] | None = None) -> Model:
    """Load and verify a model file.

    >>> load("no/such/model.npz")
    Traceback (most recent call last):
    ...
    cleaner.model.ModelError: model file no/such/model.npz: cannot be read (No such file or directory); reinstall cleaner to restore the shipped model, or retrain it with `python -m cleaner.train`
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        expected = path.with_name(path.name + ".sha256").read_text(encoding="ascii").split()[0]
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({exc.strerror or exc}); {_RESTORE}") from None
    if sha256_of(data) != expected:
        raise ModelError(f"model file {path}: checksum mismatch, the file is corrupted or was changed; {_RESTORE}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode())
            networks = []
            for st in range(int(header.get("passes", 1))):
                n_layers = sum(1 for k in npz.files if k.startswith(f"s{st}_w"))
                networks.append(Network(
                    mean=npz[f"s{st}_mean"].astype(np.float64),
                    scale=npz[f"s{st}_scale"].astype(np.float64),
                    weights=tuple(npz[f"s{st}_w{i}"].astype(np.float64) for i in range(n_layers)),
                    biases=tuple(npz[f"s{st}_b{i}"].astype(np.float64) for i in range(n_layers)),
                ))  # fmt: skip
            model = Model(header, tuple(networks), tuple(str(v) for v in npz["vocab"]), str(path))
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model file {path}: not a cleaner model ({exc}); {_RESTORE}") from None
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"model file {path}: format {header.get('format_version')}, this cleaner reads {FORMAT_VERSION}; {_RESTORE}"
        )
    if feature_names is not None and list(header.get("feature_names", [])) != list(feature_names):
        raise ModelError(f"model file {path}: made for other features than this cleaner computes; {_RESTORE}")
    return model
