"""distil-tui: a keyboard-driven terminal customer data platform."""

__version__ = "0.1.0"
