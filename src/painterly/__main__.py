"""`python -m painterly` runs the command line."""

from painterly.cli import main

main()
