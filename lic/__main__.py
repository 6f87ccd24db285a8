"""``python -m lic`` runs the command line."""

import sys

from lic.cli.main import main

sys.exit(main())
