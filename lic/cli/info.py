"""``lic info``: the header of a ``.lic`` stream, checksums verified."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lic.cli.common import read_stream


def run(args: argparse.Namespace) -> int:
    """``lic info``: prints (or ``--json``) the header; every checksum is verified."""
    from lic.cli.video import check_stream_kind, info_video
    from lic.format.container import read_image_stream
    from lic.format.header import FLOAT_PARAMETERS
    from lic.models import OVERFIT_MODEL

    path = Path(args.input)
    data = read_stream(path)
    if check_stream_kind(data) == "video":
        info = info_video(path, data, args.json)
        if args.json:
            print(json.dumps(info, indent=2))
        return 0
    header, tiles = read_image_stream(data)
    bpp = len(data) * 8 / (header.width * header.height)
    info = {
        "file": str(path),
        "bytes": len(data),
        "bpp": round(bpp, 6),
        "format_version": f"{header.version[0]}.{header.version[1]}",
        "kind": "image",
        "model": header.model,
        "weights_sha256": header.digest.hex(),
        "quality": header.quality,
        "width": header.width,
        "height": header.height,
        "colour": header.colour.name.lower(),
        "bit_depth": header.bit_depth,
        "header_bytes": header.header_size,
        "tile_size": header.tile_size,
        "tiles": [list(tile) for tile in header.tiles],
        "entropy_parameters": "float (same machine only)" if header.flags & FLOAT_PARAMETERS else "fixed point (exact)",
        "checksums": "ok",
    }
    if header.model == OVERFIT_MODEL and len(tiles) == 1 and len(tiles[0]) == 2:
        from dataclasses import asdict

        from lic.codec.overfit import read_shape

        info["overfit_networks"] = asdict(read_shape(tiles[0][0])[0])
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{path}: lic {info['format_version']} image, {len(data):,} bytes, {bpp:.4f} bpp")
    print(f"  size       {header.width}x{header.height}, {info['colour']}, {header.bit_depth} bit")
    print(f"  model      {header.model}, quality {header.quality:g}")
    print(f"  weights    sha256 {header.digest.hex()}")
    print(f"  header     {header.header_size} bytes")
    if header.tile_size:
        print(f"  tiles      {len(header.tiles)} of {header.tile_size}x{header.tile_size}, "
              f"{len(header.lane_sizes)} lanes, {sum(header.lane_sizes):,} bytes")
    else:
        print(f"  lanes      {len(header.lane_sizes)}: {', '.join(f'{s:,}' for s in header.lane_sizes)} bytes")
    print(f"  entropy    {info['entropy_parameters']} parameters")
    if "overfit_networks" in info:
        n = info["overfit_networks"]
        print(f"  overfit    {n['grids']} latent grids, ARM {n['arm_layers']}x{n['arm_width']}, "
              f"synthesis width {n['synthesis_width']}, "
              f"{'symmetric' if n['symmetric_kernels'] else 'full (earlier layout)'} upsampling kernels")
        if n["hyper_grids"] or n["coarse_features"]:
            print(f"             {n['hyper_grids']} hyperlatent grids, {n['coarse_features']} coarse-grid features "
                  f"for the {n['coarse_feature_grids']} finest grids (coded coarse to fine)")
    print("  checksums  header ok, payload ok")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("info", help="print the header of a .lic file (checksums verified)")
    p.add_argument("input", help=".lic file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
