"""Typer commands: parsing and help only (typer, rich and the standard library at import)."""
