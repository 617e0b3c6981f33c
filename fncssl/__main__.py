import sys

from fncssl.cli import main

sys.exit(main())
