"""What the video pipeline needs to know about a clip before its frames."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class VideoInfo:
    """Size and timing of a clip."""

    width: int
    height: int
    fps: Fraction
    variable_rate: bool = False
