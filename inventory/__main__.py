"""`python -m inventory` is the same as the `lambda-inventory` command."""

import sys

from inventory.cli import main

if __name__ == "__main__":
    sys.exit(main())
