"""Readers for customer files and tracking events."""
