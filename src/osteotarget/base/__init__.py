"""The foundation every core package builds on: per-patient facts (``facts``), the therapy
history (``history``), the guideline profile (``profile``) and the per-assessment context
(``context``: trace and knowledge used).

Imports point down: ``risk``, ``targets``, ``therapy``, ``plan`` and ``engine`` import
``base``; ``base`` imports only ``model``, ``knowledge`` and ``dates``.
"""
