"""The video-mode registry: modes are found by name and by the model's architecture."""

from __future__ import annotations

import pytest

from lic.codec.frames_mode import FramesMode
from lic.codec.inr_mode import InrMode
from lic.codec.video import video_mode
from lic.codec.video_modes import register_video_mode, video_mode_for, video_mode_names
from lic.errors import LicError
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel


def _loaded(name: str) -> LoadedModel:
    return LoadedModel(name, get_spec(name).build(), bytes(32), {})


def test_modes_are_registered_by_name() -> None:
    assert video_mode_names() == ["frames", "inr"]
    assert isinstance(video_mode("frames"), FramesMode) and isinstance(video_mode("inr"), InrMode)
    with pytest.raises(LicError, match="unknown video mode"):
        video_mode("bframes")


def test_each_model_is_served_by_the_mode_of_its_architecture() -> None:
    assert video_mode_for(_loaded("elic-tiny")).name == "frames"
    assert video_mode_for(_loaded("elic-tiny-video")).name == "frames"
    assert video_mode_for(_loaded("nerv")).name == "inr"
    with pytest.raises(LicError, match="does not code video"):
        video_mode_for(_loaded("overfit"))


def test_a_name_or_architecture_is_served_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_video_mode(InrMode())

    class Clash(InrMode):
        name = "inr2"

    with pytest.raises(ValueError, match="already have a video mode"):
        register_video_mode(Clash())
    assert video_mode_names() == ["frames", "inr"]


def test_default_models_of_the_modes() -> None:
    assert video_mode("frames").default_model() == "elic-s-video"
    assert video_mode("inr").default_model() == "nerv"
