"""Fitted scikit-learn estimators as plain arrays + JSON, without pickle.

scikit-learn models are usually saved with pickle/joblib, which runs arbitrary code on load.
Here an estimator's ``__getstate__()`` dict is walked recursively: NumPy arrays go to a dict of
tensors (saved with safetensors), everything else must be JSON (numbers, strings, lists, tuples,
dicts) or another estimator from a short allow-list, which is rebuilt with ``__setstate__``.
Decision trees (inside random forests) are rebuilt from their node table, field by field. Any
other object makes saving fail loudly; nothing on the load side imports a name found in a file
unless it is on the allow-list. Training-only state (MLP optimizer, random generators) is dropped.

The same scikit-learn version should load what it saved (private attributes change between
versions): the version is recorded in the model folder and
:func:`ganscope.detectors.load_detector` logs a warning when it differs; a missing field (e.g. in
a tree's node table) is an error rather than a silently wrong model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from ganscope.errors import GanscopeError

ALLOWED_ESTIMATORS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        LogisticRegression,
        SVC,
        RandomForestClassifier,
        DecisionTreeClassifier,
        MLPClassifier,
        LabelBinarizer,
        StandardScaler,
        KMeans,
    )
}
"""The scikit-learn classes a ganscope model folder may contain."""

# Attributes needed only to continue training; they hold objects we do not serialize.
_DROPPED = {"_optimizer", "_random_state", "_best_coefs", "_best_intercepts"}


def _tensor(arr: np.ndarray) -> torch.Tensor:
    # ``copy(order="C")`` keeps 0-d arrays 0-d (``np.ascontiguousarray`` would make them 1-d).
    return torch.from_numpy(np.asarray(arr).copy(order="C"))


def encode_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """Encode ``obj`` as JSON-able data; arrays are added to ``tensors`` under ``prefix.*`` keys."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int) and not isinstance(obj, np.integer):
        return obj
    if isinstance(obj, float) and not isinstance(obj, np.floating):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        arr = np.asarray(obj)
        if arr.dtype.kind not in "biuf":
            raise GanscopeError(f"cannot save a NumPy scalar of dtype {arr.dtype} ({prefix})")
        tensors[prefix] = _tensor(arr)
        return {"__scalar__": prefix, "dtype": arr.dtype.str}
    if isinstance(obj, np.ndarray):
        if obj.dtype.names:
            fields = {}
            for name in obj.dtype.names:
                key = f"{prefix}.{name}"
                tensors[key] = _tensor(obj[name])
                fields[name] = key
            return {"__structured__": fields, "shape": list(obj.shape)}
        if obj.dtype.kind == "O":
            return {
                "__objects__": [
                    encode_state(v, tensors, f"{prefix}.{i}")
                    for i, v in enumerate(obj.ravel().tolist())
                ],
                "shape": list(obj.shape),
            }
        if obj.dtype.kind not in "biuf":
            raise GanscopeError(f"cannot save an array of dtype {obj.dtype} ({prefix})")
        tensors[prefix] = _tensor(obj)
        return {"__array__": prefix, "dtype": obj.dtype.str}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise GanscopeError(f"cannot save a dict with non-string keys ({prefix})")
        return {"__dict__": {k: encode_state(v, tensors, f"{prefix}.{k}") for k, v in obj.items()}}
    if isinstance(obj, Tree):
        n_classes = np.asarray(obj.n_classes)
        state = obj.__getstate__()
        return {
            "__tree__": {
                "n_features": int(obj.n_features),
                "n_classes": n_classes.tolist(),
                "n_outputs": int(obj.n_outputs),
                "state": encode_state(state, tensors, prefix),
            }
        }
    name = type(obj).__name__
    if ALLOWED_ESTIMATORS.get(name) is type(obj):
        state = {k: v for k, v in obj.__getstate__().items() if k not in _DROPPED}
        return {"__estimator__": name, "state": encode_state(state, tensors, prefix)}
    raise GanscopeError(f"cannot save an object of type {type(obj).__name__} ({prefix})")


def _array(tensors: dict[str, torch.Tensor], key: str, dtype: str) -> np.ndarray:
    if key not in tensors:
        raise GanscopeError(f"model file lacks the tensor {key!r}")
    return tensors[key].numpy().astype(np.dtype(dtype), copy=True)


def decode_state(data: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`encode_state`; only :data:`ALLOWED_ESTIMATORS` are instantiated."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode_state(v, tensors) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise GanscopeError("model config holds an unexpected value")
    if "__float__" in data:
        return float(data["__float__"])
    if "__scalar__" in data:
        return _array(tensors, data["__scalar__"], data["dtype"])[()]
    if "__array__" in data:
        return _array(tensors, data["__array__"], data["dtype"])
    if "__structured__" in data:
        cols = {n: tensors[k].numpy() for n, k in data["__structured__"].items()}
        out = np.empty(tuple(data["shape"]), dtype=[(n, c.dtype) for n, c in cols.items()])
        for n, c in cols.items():
            out[n] = c
        return out
    if "__objects__" in data:
        items = [decode_state(v, tensors) for v in data["__objects__"]]
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
        return arr.reshape(tuple(data["shape"]))
    if "__tuple__" in data:
        return tuple(decode_state(v, tensors) for v in data["__tuple__"])
    if "__dict__" in data:
        return {k: decode_state(v, tensors) for k, v in data["__dict__"].items()}
    if "__tree__" in data:
        spec = data["__tree__"]
        tree = Tree(
            spec["n_features"], np.asarray(spec["n_classes"], dtype=np.intp), spec["n_outputs"]
        )
        state = decode_state(spec["state"], tensors)
        # The node table must have exactly the dtype this scikit-learn version uses.
        template = tree.__getstate__()["nodes"].dtype
        nodes = state["nodes"]
        fixed = np.empty(nodes.shape, dtype=template)
        for name in template.names:
            if name not in nodes.dtype.names:
                raise GanscopeError(f"saved tree lacks the field {name!r} (scikit-learn version?)")
            fixed[name] = nodes[name]
        state["nodes"] = fixed
        state["values"] = np.ascontiguousarray(state["values"], dtype=np.float64)
        tree.__setstate__(state)
        return tree
    if "__estimator__" in data:
        name = data["__estimator__"]
        cls = ALLOWED_ESTIMATORS.get(name)
        if cls is None:
            raise GanscopeError(f"model folder names a class that is not allowed: {name!r}")
        obj = cls.__new__(cls)
        state = decode_state(data["state"], tensors)
        state.pop("_sklearn_version", None)  # avoid a version warning on every load
        obj.__dict__.update(state)
        return obj
    raise GanscopeError("model config holds an unexpected value")
