"""`python -m trainer ...` (also what `torchrun -m trainer run ...` executes)."""

import sys

from trainer.cli import main

sys.exit(main())
