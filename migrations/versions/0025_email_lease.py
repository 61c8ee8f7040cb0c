"""email lease: when a sender claimed an e-mail, so one left "sending" by a dead sender is
settled (marked failed, outcome unknown) instead of staying so forever (issue #14)

Revision ID: 0025_email_lease
Revises: 0024_period_fees
Create Date: 2026-11-30 11:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0025_email_lease'
down_revision = '0024_period_fees'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_message') as batch:
        batch.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('email_message') as batch:
        batch.drop_column('claimed_at')
