"""Registry of lic architectures and their named configurations.

Each entry maps a model name (recorded in every ``.lic`` stream) to a factory and
its configuration dataclass. Later architectures register here the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from torch import nn

from lic.errors import UnknownModelError
from lic.models.elic import ElicConfig, ElicModel
from lic.models.inr import InrCodec, InrConfig
from lic.models.inter import ElicVideoConfig, ElicVideoModel, InterConfig
from lic.models.overfit import OverfitCodec, OverfitConfig


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
_TINY = ElicConfig(N=16, M=32, Z=16, groups=(8, 8, 16), context_hidden=16, rate_levels=2)
_RESEARCH_VARIANTS = {
    "swinv2": ({"transform": "swinv2"}, "S2LIC residual SwinV2 stages (window 8, 4 heads) in the transforms"),
    "tokenmix": ({"transform": "tokenmix"}, "MLICv2 MetaFormer token-mixing blocks in the transforms"),
    "eca": ({"context_reweighting": True}, "MLICv2 channel reweighting in the context model"),
    "acgc": ({"slice_attention": True}, "S2LIC-style windowed inter-slice attention in the channel context"),
    "global": ({"global_first_slice": True}, "MLICv2-style hyperprior-guided global context for the first slice"),
    "posemb": ({"context_positions": True}, "MLICv2-style positional embedding in the context model"),
    "rat": ({"region_adaptive": True}, "SegPIC region-adaptive transforms (8 soft regions, scale affine layers; "
                                       "segmentation masks supervise them in training only)"),
}
for _key, (_changes, _what) in _RESEARCH_VARIANTS.items():
    register(ModelSpec(f"elic-s-{_key}", "elic", replace(ElicConfig(), **_changes), ElicModel,
                       f"elic-s with {_what}; for ablations (no shipped weights)"))
    register(ModelSpec(f"elic-tiny-{_key}", "elic", replace(_TINY, **_changes), ElicModel,
                       f"elic-tiny with {_what}; for tests (never trained)"))

register(
    ModelSpec(
        name="elic-tiny",
        architecture="elic",
        config=_TINY,
        factory=ElicModel,
        description="tiny ELIC-style model for tests (never trained)",
    )
)

register(
    ModelSpec(
        name="elic-s-video",
        architecture="elic-video",
        config=ElicVideoConfig(),
        factory=ElicVideoModel,
        description="elic-s intra frames + P-frames whose latent is coded conditionally on the previous "
                    "frame's decoded latent (its weights file holds the P-frame codec and names elic-s by digest)",
    )
)
register(
    ModelSpec(
        name="elic-tiny-video",
        architecture="elic-video",
        config=ElicVideoConfig("elic-tiny", _TINY, InterConfig(hidden=8)),
        factory=ElicVideoModel,
        description="elic-tiny intra frames + a tiny P-frame codec, for tests (never trained)",
    )
)
register(
    ModelSpec(
        name="nerv",
        architecture="inr",
        config=InrConfig(),
        factory=InrCodec,
        description="implicit neural video (lic encode --mode inr): a network fitted to each group of frames "
                    "at encode time; its weights file holds only the weight-coding tables",
    )
)
register(
    ModelSpec(
        name="overfit",
        architecture="overfit",
        config=OverfitConfig(),
        factory=OverfitCodec,
        description="overfitted image codec (lic encode --mode overfit): latent grids and tiny networks fitted to "
                    "each image at encode time; its weights file holds only the CDF tables",
    )
)
