"""Click's exception classes as the installed Typer knows them.

Typer 0.29 vendors its own copy of Click; an exception from the separate `click` package
would not be recognised by it and would end in a traceback.
"""

try:
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # Typer before it vendored Click
    from click.exceptions import ClickException, UsageError

__all__ = ["ClickException", "UsageError"]
