"""The one exception every command turns into a usage error (exit code 2).

It lives in a module of its own, with no imports, so that raising or catching it
costs nothing at start-up and the reflector and the report commands need not
translate their own error types.
"""


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""
