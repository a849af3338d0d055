"""``python -m portdoctor``."""

import sys

from portdoctor.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
