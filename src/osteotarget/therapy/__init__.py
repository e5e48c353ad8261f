"""Therapy catalogue, label safety and eligibility, sequencing, and ranked options."""
