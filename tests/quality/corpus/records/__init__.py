"""Builders of Microsoft's record formats, one module per family of records."""
