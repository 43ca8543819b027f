"""``python -m qpi`` is the ``qpi`` command."""

from qpi.cli.main import main

main()
