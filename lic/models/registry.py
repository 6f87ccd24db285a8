"""Registry of lic architectures and their named configurations.

Each entry maps a model name (recorded in every ``.lic`` stream) to a factory and
its configuration dataclass. Later architectures register here the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from lic.errors import UnknownModelError
from lic.models.elic import ElicConfig, ElicModel


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its architecture factory and configuration."""

    name: str
    architecture: str
    config: Any
    factory: Callable[[Any], nn.Module]
    description: str

    def build(self) -> nn.Module:
        """A freshly initialised (untrained) instance."""
        return self.factory(self.config)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Adds ``spec`` to the registry; names are unique."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    """The registered spec called ``name``; :class:`UnknownModelError` lists what exists."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def model_names() -> list[str]:
    """Names of every registered model."""
    return sorted(_REGISTRY)


register(
    ModelSpec(
        name="elic-s",
        architecture="elic",
        config=ElicConfig(),
        factory=ElicModel,
        description="ELIC-style hyperprior + 5 uneven channel slices + checkerboard, N=96 M=192, variable rate",
    )
)
register(
    ModelSpec(
        name="elic-tiny",
        architecture="elic",
        config=ElicConfig(N=16, M=32, Z=16, groups=(8, 8, 16), context_hidden=16, rate_levels=2),
        factory=ElicModel,
        description="tiny ELIC-style model for tests (never trained)",
    )
)
