"""``python -m gaussian_theory.cli``: the same as the ``droplab`` console script."""

import sys

from . import main

sys.exit(main())
