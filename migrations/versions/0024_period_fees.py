"""period fees: a per-period fee (每期费用) becomes one loan_fee row per installment at
disbursement, each receivable from its installment's due date (issue #8)

Revision ID: 0024_period_fees
Revises: 0023_repaid_report_totals
Create Date: 2026-11-30 10:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0024_period_fees'
down_revision = '0023_repaid_report_totals'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('loan_fee') as batch:
        batch.add_column(sa.Column('installment_seq', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('loan_fee') as batch:
        batch.drop_column('installment_seq')
