"""Helpers shared by the tests: factories, servers, fakes and the one polling helper."""
