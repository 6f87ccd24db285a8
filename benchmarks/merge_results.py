"""Merges results files measured on parts of an image set and quality list (same codec) into one,
the points' means recomputed from the per-image values (lic.eval.merge).

    python benchmarks/merge_results.py vtm-kodim01-q22.json vtm-kodim04-q22.json ... -o six-vtm.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lic.errors import LicError
from lic.eval.merge import merge_results
from lic.eval.results import RDResults
from lic.io.imageio import write_bytes_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", type=Path, help="results files (lic bench / lic eval) to merge")
    parser.add_argument("-o", "--output", type=Path, required=True, help="merged results file")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    args = parser.parse_args(argv)
    try:
        merged = merge_results([RDResults.read(path) for path in args.parts])
        write_bytes_atomic(args.output, merged.to_json().encode(), args.force)
    except LicError as exc:
        print(f"merge_results: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({merged.meta['images']} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
