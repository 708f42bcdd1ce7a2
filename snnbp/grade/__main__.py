"""``python -m snnbp.grade``: see :mod:`snnbp.grade.cli`."""
from .cli import main

raise SystemExit(main())
