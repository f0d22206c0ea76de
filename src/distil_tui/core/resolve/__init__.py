"""Identity resolution."""
