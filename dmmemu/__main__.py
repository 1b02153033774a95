"""``python -m dmmemu``: the ``dmmemu`` command."""

from dmmemu.cli import main

main()
