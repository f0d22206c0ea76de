"""The core: storage, imports, identity resolution, search and read models.

Pure Python and SQLAlchemy/SQLModel. It never imports Textual or
``distil_tui.ui`` (tests/test_layers.py proves it).
"""
