"""Subcommands of the voxtext CLI, one module each."""
