"""``python -m rsengine``: the ``rsengine`` command."""

import sys

from rsengine.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
