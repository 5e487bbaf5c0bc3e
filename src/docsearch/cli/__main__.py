"""`python -m docsearch.cli`."""
import sys

from docsearch.cli import main

sys.exit(main())
