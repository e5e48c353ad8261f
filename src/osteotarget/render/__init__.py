"""Readable renderings of an assessment (text now; HTML and PDF in the web/report doors)."""
