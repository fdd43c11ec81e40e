"""The fleet coordinator's live web page."""
