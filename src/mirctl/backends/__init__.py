"""Thin wrappers over third-party model libraries, each imported lazily."""
