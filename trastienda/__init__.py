"""Trastienda: the open-source back office."""
