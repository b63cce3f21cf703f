"""The ``race`` command line: one module per command group."""
