"""``python -m sim.cli``: the ``race`` command."""

import sys

from sim.cli.main import main

sys.exit(main())
