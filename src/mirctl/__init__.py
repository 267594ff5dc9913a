"""mirctl: a command-line toolkit for music information retrieval.

Every subcommand runs through one pipeline (:mod:`mirctl.pipeline`): the same input
forms, output naming, overwrite rules, batch behaviour, JSON report and exit codes.
Importing this package is cheap: no numpy, torch or model backend is loaded here.
"""

__version__ = "0.1.0"
