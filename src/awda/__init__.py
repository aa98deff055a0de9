"""Awda: returns platform."""
