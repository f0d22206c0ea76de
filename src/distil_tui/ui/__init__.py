"""The Textual interface. It calls the core and never runs SQL."""
