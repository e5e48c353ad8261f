"""CLI subcommands: each module has ``add_parser(subparsers)`` and sets ``run(args) -> int``."""
