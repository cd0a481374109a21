"""``python -m clinicnet``."""

from clinicnet.agent.cli import main

raise SystemExit(main())
