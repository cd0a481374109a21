"""One module per probe, each with its ``SPEC``; see ``interface.py`` for the contract, ``registry.py`` finds them."""
