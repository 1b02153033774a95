"""Importers: turn recorded mobility data (drive tests, association logs, ...) into traces."""
