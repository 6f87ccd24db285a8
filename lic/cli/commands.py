"""The command table of ``lic``: one module per command, in the order ``lic --help`` lists them.

Each module has ``add_parser(sub)``, which adds its sub-parser and sets ``func`` to the
command's ``run(args) -> int``. Adding a command is one module and one line here.
"""

from __future__ import annotations

from lic.cli import (
    bdrate,
    bench,
    decode,
    demo,
    encode,
    eval_video,
    info,
    models,
    plot,
    reorder_channels,
    train,
)
from lic.cli import eval as eval_images

COMMANDS = (encode, decode, info, demo, models, eval_images, bench, eval_video, bdrate, plot, reorder_channels, train)
