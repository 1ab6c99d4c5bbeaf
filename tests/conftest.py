"""Test order: the documentation-site tests (``tests/test_docs_site.py``) run last.

The site embeds the notebooks' executed copies, which ``tests/test_notebooks.py`` writes to
``build/executed_notebooks/``; by file name the site tests would run before them. Moved to the end of
the session, one run of the whole suite builds the site once, with every notebook's outputs.
"""

from __future__ import annotations

LAST = ("test_docs_site.py", "test_docs_browser.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.path.name in LAST)  # stable: the order is otherwise unchanged
