"""Entry script of the frozen executable: the same ``main`` as the ``clinicnet`` command.

A script, not ``-m clinicnet``, because PyInstaller freezes a file; kept separate
from ``clinicnet/__main__.py`` so that importing the package never runs the CLI.
"""

import sys

from clinicnet.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
