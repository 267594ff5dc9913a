"""``python -m mirctl`` runs the command-line interface."""

from mirctl.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    main()
