"""warungin-tui: run the Warungin POS production deployment playbook from a terminal."""

__version__ = "0.1.0"
