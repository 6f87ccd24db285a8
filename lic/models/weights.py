"""Model weights as safetensors files: saving, loading, digests.

A weights file holds the state dict (transform weights *and* the integer CDF
tables computed from them) plus metadata: the registered model name, its
configuration and the training configuration. The *weights digest* that every
``.lic`` stream records is a SHA-256 over that content in a canonical order
(:func:`weights_digest`; safetensors itself does not fix the order of its
header), so decoding with other weights fails with a clear error instead of
producing garbage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from lic.entropy.priors import stored_entropy_models
from lic.errors import LicError, ModelMismatchError
from lic.models import DEFAULT_MODEL
from lic.models.registry import get_spec

WEIGHTS_PACKAGE = "lic.models.pretrained"


def default_quality(rate_levels: int) -> float:
    """Quality used when none is given: 3/7 of the range ``[0, rate_levels - 1]`` (3 for the 8-level elic-s)."""
    return (rate_levels - 1) * 3 / 7


@dataclass
class LoadedModel:
    """A model ready to code: the module (eval mode), its name and weights digest."""

    name: str
    module: nn.Module
    digest: bytes
    metadata: dict[str, str]

    @property
    def default_quality(self) -> float:
        """Quality used when none is given (:func:`default_quality`)."""
        return default_quality(self.module.rate_levels)

    @classmethod
    def from_module(cls, name: str, module: nn.Module, training: dict | None = None) -> LoadedModel:
        """Wraps an in-memory model; its digest is that of the file :func:`save_weights` would write."""
        tensors, metadata = _content(name, module, training)
        return cls(name, module.eval(), weights_digest(tensors, metadata), metadata)


def weights_digest(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """SHA-256 of weights in canonical form.

    For each tensor in name order: ``name|dtype|shape`` and a newline, then its
    values as little-endian bytes; finally the metadata as JSON with sorted keys.
    """
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{str(t.dtype).removeprefix('torch.')}|{list(t.shape)}\n".encode())
        array = t.numpy()
        h.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    h.update(json.dumps(metadata, sort_keys=True).encode())
    return h.digest()


def _content(name: str, module: nn.Module, training: dict | None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors (tables rebuilt first) and metadata that make up a weights file."""
    module.update_tables()
    spec = get_spec(name)
    stored = getattr(module, "stored_module", module)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in stored.state_dict().items()}
    metadata = {
        "lic.model": name,
        "lic.architecture": spec.architecture,
        "lic.config": json.dumps(dataclasses.asdict(spec.config), sort_keys=True),
        "lic.training": json.dumps(training or {}, sort_keys=True),
    }
    base = getattr(module, "base_model", None)
    if base is not None:
        digest = getattr(module, "base_digest", None)
        if digest is None:
            raise LicError(f"model {name} builds on {base}, whose weights were not loaded")
        metadata["lic.base_model"] = base
        metadata["lic.base_digest"] = digest.hex()
    return tensors, metadata


def save_weights(name: str, module: nn.Module, path: Path, training: dict | None = None) -> bytes:
    """Writes the weights file atomically; returns its digest."""
    tensors, metadata = _content(name, module, training)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(save_safetensors_bytes(tensors, metadata=metadata))
    tmp.replace(path)
    return weights_digest(tensors, metadata)


def shipped_weights_path(name: str) -> Path:
    """Where the package keeps the weights of model ``name``."""
    return Path(str(resources.files(WEIGHTS_PACKAGE).joinpath(f"{name}.safetensors")))


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), or ``"auto"`` (CUDA when available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise LicError(f"unknown device {device!r}: use cpu, cuda or auto") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise LicError("CUDA was requested but no CUDA device is available")
    if resolved.type not in ("cpu", "cuda"):
        raise LicError(f"unsupported device {device!r}: use cpu, cuda or auto")
    return resolved


def load_model(name: str = DEFAULT_MODEL, path: Path | None = None, device: str = "cpu") -> LoadedModel:
    """Loads model ``name`` from ``path`` (default: the weights shipped in the package) onto ``device``.

    Streams are exact between encoder and decoder on the same device type and machine;
    a stream encoded on CUDA and decoded on a CPU (or the reverse) may fail its end check.
    """
    target = resolve_device(device)
    spec = get_spec(name)
    path = Path(path) if path is not None else shipped_weights_path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LicError(f"cannot read weights of model {name!r} at {path}: {exc.strerror}") from None
    try:
        tensors = load_safetensors_bytes(data)
    except (SafetensorError, ValueError) as exc:
        raise LicError(f"weights file {path} is not valid safetensors: {exc}") from None
    metadata = _metadata_of(data)
    if metadata.get("lic.model") != name:
        raise ModelMismatchError(f"weights file {path} is for model {metadata.get('lic.model')!r}, not {name!r}")
    if not _same_config(json.loads(metadata.get("lic.config", "{}")), spec.config):
        raise ModelMismatchError(f"weights file {path} was trained with another configuration of {name!r}")
    with stored_entropy_models():  # coding needs no CompressAI import (see lic.entropy.stored)
        module = spec.build()
    getattr(module, "stored_module", module).load_state_dict(tensors, strict=True)
    if getattr(module, "base_model", None) is not None:
        load_base(module, metadata.get("lic.base_digest", ""))
    return LoadedModel(name, module.to(target).eval(), weights_digest(tensors, metadata), metadata)


def check_digest(model: LoadedModel, digest: bytes) -> None:
    """Raises :class:`ModelMismatchError` unless ``model``'s weights have ``digest`` (a worker of a
    cluster job checks the weights it loaded against the driver's before coding anything)."""
    if model.digest != digest:
        raise ModelMismatchError(f"{socket.gethostname()} has {model.name} weights {model.digest.hex()[:12]}, "
                                 f"the job needs {digest.hex()[:12]}: give every node the same weights")


def load_base(module: nn.Module, expected_digest: str | None = None, path: Path | None = None) -> None:
    """Loads the weights of the model ``module`` builds on (shipped, or from ``path``) into ``module.intra``.

    Raises:
        ModelMismatchError: the base weights are not the ones ``expected_digest`` names.
    """
    base = load_model(module.base_model, path)
    if expected_digest is not None and base.digest.hex() != expected_digest:
        raise ModelMismatchError(f"these weights build on {module.base_model} weights {expected_digest[:12]}, "
                                 f"but the shipped ones are {base.digest.hex()[:12]}")
    module.intra.load_state_dict(base.module.state_dict())
    module.base_digest = base.digest


def _same_config(stored: dict, config: object) -> bool:
    """Whether weights stored with configuration ``stored`` fit ``config``.

    Options added to a configuration class (or to a configuration nested in it) after the
    weights were made are absent from ``stored``; they match when ``config`` keeps them at
    their defaults.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    if set(stored) - set(fields):
        return False
    for name, field in fields.items():
        value = getattr(config, name)
        if name not in stored:
            if field.default is dataclasses.MISSING or _plain(value) != _plain(field.default):
                return False
        elif dataclasses.is_dataclass(value):
            if not isinstance(stored[name], dict) or not _same_config(stored[name], value):
                return False
        elif _plain(value) != stored[name]:
            return False
    return True


def _plain(value: object) -> object:
    """``value`` as it reads back from the JSON of a weights file's metadata."""
    return json.loads(json.dumps(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value))


def _metadata_of(data: bytes) -> dict[str, str]:
    header_size = int.from_bytes(data[:8], "little")
    return dict(json.loads(data[8 : 8 + header_size]).get("__metadata__", {}))


def checkpoint_state(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Optimizer state as flat named tensors (for safetensors checkpoints)."""
    flat: dict[str, torch.Tensor] = {}
    for pid, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            flat[f"{pid}.{key}"] = tensor.detach().cpu().contiguous().clone()
    return flat


def restore_optimizer(optimizer: torch.optim.Optimizer, flat: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`checkpoint_state` for an optimizer over the same parameters."""
    state_dict = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in flat.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = tensor
    state_dict["state"] = state
    optimizer.load_state_dict(state_dict)
