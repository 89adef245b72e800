"""Command-line entry points: the `srm` command and its subcommands."""
