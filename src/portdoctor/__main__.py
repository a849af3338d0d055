"""``python -m portdoctor``."""

import sys

from portdoctor.cli import main

if __name__ == "__main__":
    sys.exit(main())
