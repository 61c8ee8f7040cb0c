"""list indexes: every column the big list pages sort or filter on (issue #13)

Revision ID: 0017_list_indexes
Revises: 0016_reports
Create Date: 2026-11-30 09:00:00

The lists of loans, receipts, vouchers, journal lines, guarantors, collateral, five-level
changes and post-loan tasks sort and filter on these columns; at 100,000 loans (1.2 million
installments, a million receipts, three million journal lines) each one without an index
is a sequential scan per page. ``ix_installment_unpaid_due_date`` serves the overdue and
due-soon lists (unpaid installments by due date).
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_list_indexes'
down_revision = '0016_reports'
branch_labels = None
depends_on = None

# (index name, table, columns)
INDEXES = [
    ("ix_loan_amount", "loan", ["amount"]),
    ("ix_repayment_amount", "repayment", ["amount"]),
    ("ix_repayment_payer", "repayment", ["payer"]),
    ("ix_voucher_description", "voucher", ["description"]),
    ("ix_voucher_source_id", "voucher", ["source_id"]),
    ("ix_journal_line_memo", "journal_line", ["memo"]),
    ("ix_guarantor_name", "guarantor", ["name"]),
    ("ix_collateral_name", "collateral", ["name"]),
    ("ix_collateral_collateral_type", "collateral", ["collateral_type"]),
    ("ix_classification_change_to_class", "classification_change", ["to_class"]),
    ("ix_post_loan_task_completed_on", "post_loan_task", ["completed_on"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index("ix_installment_unpaid_due_date", "installment", ["due_date"], unique=False,
                    postgresql_where=sa.text("paid_off_on IS NULL"), sqlite_where=sa.text("paid_off_on IS NULL"))


def downgrade():
    op.drop_index("ix_installment_unpaid_due_date", table_name="installment")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
