"""repaid report totals: each receipt's 罚息 and 复利 totals and the number of installments its
principal / interest / 罚息 / 复利 lines are on, so 贷款业务统计 已还款 sums a year of receipts
without reading their lines; ix_installment_loan_due for the loans' last due dates (到期)
(issue #11)

Revision ID: 0023_repaid_report_totals
Revises: 0022_bank_borrowing_ledger
Create Date: 2026-11-30 06:00:00

Filled from the receipt lines on upgrade, so an existing database reads the same figures.
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_repaid_report_totals'
down_revision = '0022_bank_borrowing_ledger'
branch_labels = None
depends_on = None

#: One grouped pass over the lines (UPDATE … FROM: PostgreSQL, SQLite ≥ 3.33); a receipt
#: without such lines keeps the defaults (0). What Repayment.set_totals writes at posting
#: (tests/integration/test_receipt_totals.py runs it against posted receipts).
BACKFILL = """
    UPDATE repayment SET penalty_amount = t.penalty, compound_amount = t.compound, installment_count = t.installments
    FROM (SELECT l.repayment_id AS repayment_id,
                 COALESCE(SUM(CASE WHEN l.component = 'penalty' THEN l.amount ELSE 0 END), 0) AS penalty,
                 COALESCE(SUM(CASE WHEN l.component = 'compound' THEN l.amount ELSE 0 END), 0) AS compound,
                 COUNT(DISTINCT COALESCE(l.installment_id, 0)) AS installments
          FROM repayment_line l
          WHERE l.component IN ('principal', 'interest', 'penalty', 'compound')
          GROUP BY l.repayment_id) AS t
    WHERE t.repayment_id = repayment.id"""


def upgrade():
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('penalty_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('compound_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('installment_count', sa.Integer(), nullable=False, server_default='0'))
    op.execute(BACKFILL)
    op.create_index('ix_installment_loan_due', 'installment', ['loan_id', 'due_date'], unique=False)


def downgrade():
    op.drop_index('ix_installment_loan_due', table_name='installment')
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.drop_column('installment_count')
        batch_op.drop_column('compound_amount')
        batch_op.drop_column('penalty_amount')
