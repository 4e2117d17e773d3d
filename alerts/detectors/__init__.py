"""Detectors: one module per detector key, plus the parameter schema, base classes and registry."""
