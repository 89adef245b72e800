"""`python -m projectx_sim --port 0 ...`: run the simulator and print a machine-readable ready line."""

import sys

from projectx_sim.cli import main

sys.exit(main())
