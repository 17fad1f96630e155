import sys

from toonset.cli import main

sys.exit(main())
