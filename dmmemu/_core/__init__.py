"""Compiled replay core (built from ``_core/*.pyx`` by ``setup.py``)."""
