"""reports: saved report definitions and export jobs

Revision ID: 0016_reports
Revises: 0015_archive
Create Date: 2026-11-29 19:30:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0016_reports'
down_revision = '0015_archive'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
