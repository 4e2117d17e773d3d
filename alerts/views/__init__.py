"""The alerts pages, one module per page family; ``alerts/urls.py`` maps them."""
