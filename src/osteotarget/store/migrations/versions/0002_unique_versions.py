"""One history row per (patient, version): renumber any duplicates, then a unique index.

Before this revision concurrent writers could both write version *n* of a record. The
duplicates are kept (history is never dropped) and renumbered in the order they were
written; each patient's current version becomes its newest history row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE patient_versions SET version = (SELECT count(*) FROM patient_versions AS p2 "
        "WHERE p2.patient_id = patient_versions.patient_id AND p2.id <= patient_versions.id)"
    )
    op.execute(
        "UPDATE patients SET version = (SELECT max(v.version) FROM patient_versions AS v "
        "WHERE v.patient_id = patients.id) "
        "WHERE EXISTS (SELECT 1 FROM patient_versions AS v WHERE v.patient_id = patients.id)"
    )
    op.create_index(
        "ux_patient_versions_patient_version",
        "patient_versions",
        ["patient_id", "version"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_patient_versions_patient_version", table_name="patient_versions")
