"""month-end balances: each loan's principal outstanding and overdue flag at the end of a
locked month (loan_month_balance), so the overdue trend and the regulatory tables' past dates
stop reading a year of journal lines; ix_installment_paid_late for "overdue at a past date"
(issue #11)

Revision ID: 0021_month_end_balances
Revises: 0020_receipt_totals_index
Create Date: 2026-11-30 01:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_month_end_balances'
down_revision = '0020_receipt_totals_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'month_end_snapshot',
        sa.Column('month_end', sa.Date(), nullable=False),
        sa.Column('loans', sa.Integer(), nullable=False),
        sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('overdue_loans', sa.Integer(), nullable=False),
        sa.Column('overdue_principal', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month_end'),
    )
    op.create_table(
        'loan_month_balance',
        sa.Column('month_end', sa.Date(), nullable=False),
        sa.Column('loan_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name='fk_loan_month_balance_loan'),
        sa.PrimaryKeyConstraint('month_end', 'loan_id'),
    )
    op.create_index('ix_loan_month_balance_overdue', 'loan_month_balance', ['month_end', 'loan_id', 'principal'],
                    unique=False, postgresql_where=sa.text('overdue'), sqlite_where=sa.text('overdue'))


    op.create_table(
        'month_fund_flow',
        sa.Column('month_end', sa.Date(), nullable=False),
        sa.Column('fund_account_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('money_in', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('money_out', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('lines', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['fund_account_id'], ['fund_account.id'], name='fk_month_fund_flow_fund_account'),
        sa.PrimaryKeyConstraint('month_end', 'fund_account_id', 'kind'),
    )
    op.create_index('ix_installment_paid_late', 'installment', ['paid_off_on', 'due_date'], unique=False,
                    postgresql_where=sa.text('paid_off_on > due_date'), sqlite_where=sa.text('paid_off_on > due_date'))


def downgrade():
    op.drop_index('ix_installment_paid_late', table_name='installment',
                  postgresql_where=sa.text('paid_off_on > due_date'), sqlite_where=sa.text('paid_off_on > due_date'))
    op.drop_index('ix_loan_month_balance_overdue', table_name='loan_month_balance',
                  postgresql_where=sa.text('overdue'), sqlite_where=sa.text('overdue'))
    op.drop_table('month_fund_flow')
    op.drop_table('loan_month_balance')
    op.drop_table('month_end_snapshot')
