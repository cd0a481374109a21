"""One module per probe; see ``interface.py`` for the contract and ``registry.py`` for the list."""
