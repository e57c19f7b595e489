"""Model files and prediction, in numpy alone.

A model file is one ``.npz`` of plain arrays (loaded with ``allow_pickle=False``) plus a
``<file>.sha256`` beside it. It holds a small JSON header (format version, feature names,
class names, training data hash), per pass an ensemble of one-hidden-layer networks (feature
scaling and weights of each), the model's vocabulary of frequent words and its lexicon (words
with a score per class, see ``features.Lexicon``). Loading checks
the checksum and that the header's feature names are the ones this code computes, and
refuses anything else with an error that names the file and how to restore it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from cleaner.features import Lexicon

CLASSES = ("body", "comment", "related", "boilerplate")
FORMAT_VERSION = 2  # 2: each pass an ensemble of networks (1: one network per pass; still read)
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "text.npz"
DEFAULT_HTML_MODEL = DEFAULT_MODEL.with_name("html.npz")
_RESTORE = "reinstall cleaner to restore the shipped model"


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


def _rowwise(ufunc: np.ufunc, z: np.ndarray) -> np.ndarray:
    """``ufunc`` folded over the rows of ``z``, first to last (the order a reduction over the
    last axis adds in)."""
    acc = z[0].copy()
    for row in z[1:]:
        ufunc(acc, row, out=acc)
    return acc


@dataclass(frozen=True)
class Ensemble:
    """Networks trained alike from different seeds. Their mean probabilities are steadier
    than any one network's (on held-out pages, three beat each of their members)."""

    members: tuple[Network, ...]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self._fused is None:
            return sum(member.predict_proba(X) for member in self.members) / len(self.members)
        w1, b1, w2, b2 = self._fused
        X = np.asarray(X, dtype=np.float32)  # no copy of float32 features
        # Column-major features (the first pass's) multiply faster as (W1' X')': BLAS then
        # reads both operands in their own layout.
        h = (w1.T @ X.T).T if X.flags.f_contiguous and not X.flags.c_contiguous else X @ w1
        h += b1
        np.maximum(h, 0, out=h)
        # Logits transposed (a row per member and class): the softmax below works on whole
        # rows; numpy's reductions over a short last axis are several times slower. The
        # product is taken row-major and then transposed: with the 12-row side first, BLAS
        # ran at a third of the speed.
        logits = np.ascontiguousarray((h @ w2).T)
        logits += b2[:, None]
        members = len(self.members)
        out = np.zeros((len(logits) // members, len(X)))
        for z in np.split(logits, members):
            z -= _rowwise(np.maximum, z)
            np.exp(z, out=z)
            z /= _rowwise(np.add, z)
            out += z
        out /= members
        return out.T

    @cached_property
    def _fused(self) -> tuple[np.ndarray, ...] | None:
        """One-hidden-layer members as one wide network: input scaling folded into the first
        layer, hidden layers side by side, output layers block-diagonal. Two matrix products
        serve every member."""
        if any(len(m.weights) != 2 for m in self.members):
            return None
        w1 = np.hstack([m.weights[0] / m.scale[:, None] for m in self.members])
        b1 = np.concatenate([m.biases[0] - (m.mean / m.scale) @ m.weights[0] for m in self.members])
        hidden = [m.weights[1].shape[0] for m in self.members]
        classes = self.members[0].weights[1].shape[1]
        w2 = np.zeros((sum(hidden), classes * len(self.members)))
        for k, (m, start) in enumerate(zip(self.members, np.cumsum([0, *hidden[:-1]]))):
            w2[start : start + hidden[k], k * classes : (k + 1) * classes] = m.weights[1]
        b2 = np.concatenate([m.biases[1] for m in self.members])
        # float32, as the weights are stored: half the time of float64 in the products.
        return tuple(a.astype(np.float32) for a in (w1, b1, w2, b2))


@dataclass(frozen=True)
class Model:
    """A loaded line classifier: the ensembles of its passes (the first reads a line's
    features; the second, if any, re-reads them with the first pass's probabilities of the
    surrounding lines) and the vocabulary its features use."""

    header: dict
    networks: tuple[Ensemble, ...]
    vocab: tuple[str, ...]
    path: str = "<memory>"
    lexicon: Lexicon | None = None

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
    if model.lexicon is not None:
        arrays["lexicon_words"] = np.array(model.lexicon.words, dtype=np.str_)
        arrays["lexicon_scores"] = model.lexicon.scores.astype(np.float32)
    for s, ensemble in enumerate(model.networks):
        for m, net in enumerate(ensemble.members):
            key = f"s{s}_m{m}"
            arrays[f"{key}_mean"] = net.mean.astype(np.float32)
            arrays[f"{key}_scale"] = net.scale.astype(np.float32)
            for i, (w, b) in enumerate(zip(net.weights, net.biases)):
                arrays[f"{key}_w{i}"] = w.astype(np.float32)
                arrays[f"{key}_b{i}"] = b.astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = sha256_of(data)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n", encoding="ascii")
    return digest


def _advice(path: Path) -> str:
    """How to get a good file back: reinstall for a shipped model, retrain for one's own."""
    shipped = path.resolve() in (DEFAULT_MODEL, DEFAULT_HTML_MODEL)
    return (
        _RESTORE if shipped else "retrain it with `python -m cleaner.train --out FILE` (which writes FILE.sha256 too)"
    )


def load(path: str | Path, *, feature_names: list[str] | None = None,
         context_feature_names: list[str] | None = None, kind: str | None = None) -> Model:  # fmt: skip
    """Load and verify a model file (and, when given, that it was made for these features and
    second-pass context features, and is a ``kind`` model: ``"text"`` or ``"html"``).

    >>> load("no/such/model.npz")
    Traceback (most recent call last):
    ...
    cleaner.model.ModelError: model file no/such/model.npz: cannot be read (No such file or directory); retrain it with `python -m cleaner.train --out FILE` (which writes FILE.sha256 too)
    """
    path = Path(path)
    checksum_file = path.with_name(path.name + ".sha256")
    advice = _advice(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({exc.strerror or exc}); {advice}") from None
    try:
        expected = checksum_file.read_text(encoding="ascii").split()[0]
    except OSError as exc:
        raise ModelError(f"model file {path}: its checksum file {checksum_file} cannot be read "
                         f"({exc.strerror or exc}); {advice}") from None  # fmt: skip
    except (UnicodeDecodeError, IndexError):
        raise ModelError(f"model file {path}: its checksum file {checksum_file} holds no checksum; {advice}") from None
    if sha256_of(data) != expected.lower():
        raise ModelError(f"model file {path}: checksum mismatch, the file is corrupted or was changed; {advice}")
    try:
        if not data.startswith(b"PK"):  # numpy would read it as a pickle and advise loading it unsafely
            raise ValueError("not an .npz archive")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode())
            if not isinstance(header, dict):
                raise ValueError("its header is not a JSON object")
            if header.get("passes", 1) not in (1, 2, 3) or header.get("kind", "text") not in ("text", "html"):
                raise ValueError("its header's passes or kind is not one this cleaner makes")
            passes = []
            for st in range(int(header.get("passes", 1))):
                # Format 1 stored one network per pass as "s{pass}_..."; format 2 "s{pass}_m{member}_...".
                keys = [f"s{st}"] if f"s{st}_mean" in npz.files else sorted(
                    {k.rsplit("_", 1)[0] for k in npz.files if k.startswith(f"s{st}_m")}, key=lambda k: int(k[len(f"s{st}_m"):])
                )  # fmt: skip
                passes.append(Ensemble(tuple(_network(npz, key) for key in keys)))
            if not all(ensemble.members for ensemble in passes):
                raise ValueError("a pass without networks")
            lexicon = None
            if "lexicon_words" in npz.files:
                lexicon = Lexicon(tuple(str(w) for w in npz["lexicon_words"]), npz["lexicon_scores"].astype(np.float64))
            model = Model(header, tuple(passes), tuple(str(v) for v in npz["vocab"]), str(path), lexicon)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise ModelError(f"model file {path}: not a cleaner model ({exc}); {advice}") from None
    if header.get("format_version") not in (1, FORMAT_VERSION):
        raise ModelError(
            f"model file {path}: format {header.get('format_version')}, this cleaner reads {FORMAT_VERSION}; {advice}"
        )
    if kind is not None and header.get("kind", kind) != kind:
        names = {"html": "an HTML", "text": "a text"}
        option = "html_model= (cleaner --html-model)" if header["kind"] == "html" else "model= (cleaner --model)"
        raise ModelError(f"model file {path}: {names[header['kind']]} model, given as {names[kind]} model; "
                         f"pass it as {option}")  # fmt: skip
    context_ok = (
        context_feature_names is None
        or int(header.get("passes", 1)) == 1
        or list(header.get("context_feature_names", [])) == list(context_feature_names)
    )
    if (feature_names is not None and list(header.get("feature_names", [])) != list(feature_names)) or not context_ok:
        raise ModelError(f"model file {path}: made for other features than this cleaner computes; {advice}")
    return model


def _network(npz, key: str) -> Network:
    n_layers = sum(1 for k in npz.files if k.startswith(f"{key}_w"))
    return Network(
        mean=npz[f"{key}_mean"].astype(np.float64),
        scale=npz[f"{key}_scale"].astype(np.float64),
        weights=tuple(npz[f"{key}_w{i}"].astype(np.float64) for i in range(n_layers)),
        biases=tuple(npz[f"{key}_b{i}"].astype(np.float64) for i in range(n_layers)),
    )
