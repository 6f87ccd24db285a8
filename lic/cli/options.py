"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.cli.common import device_option, whole_number
from lic.cli.distributed import ray_option


def coding_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by encode and decode."""
    parser.add_argument("--weights", type=Path, help="weights file to use instead of the shipped one")
    parser.add_argument("-f", "--force", action="store_true",
                        help="replace outputs lic wrote before (a folder input: recode every file); files lic "
                             "did not write are never replaced, and devices and FIFOs are written to, not replaced")
    parser.add_argument("--max-pixels", type=whole_number(1, 1 << 40), metavar="N",
                        help="refuse images and streams of more than N pixels (default 268435456, or LIC_MAX_PIXELS)")
    ray_option(parser, "parallel processes for a folder input (default 1)")
    device_option(parser)
