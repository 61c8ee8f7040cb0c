"""receipt totals index: the period sums of received principal and interest from the index
alone (issue #13: the dashboard's this-year receipts, 85 ms → 41 ms at 100,000 loans)

Revision ID: 0020_receipt_totals_index
Revises: 0019_stored_balances
Create Date: 2026-11-30 14:00:00
"""
from alembic import op


revision = '0020_receipt_totals_index'
down_revision = '0019_stored_balances'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_repayment_received_totals', 'repayment',
                    ['received_on', 'voucher_id', 'principal_amount', 'interest_amount'], unique=False)


def downgrade():
    op.drop_index('ix_repayment_received_totals', table_name='repayment')
