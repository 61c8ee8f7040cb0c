"""bank borrowing ledger: each bank drawdown / repayment names its bank account and the
voucher that posted it (issue #11: 资金分布 and the trial balance show bank borrowing)

Revision ID: 0022_bank_borrowing_ledger
Revises: 0021_month_end_balances
Create Date: 2026-11-30 09:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0022_bank_borrowing_ledger'
down_revision = '0021_month_end_balances'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bank_drawdown') as batch:
        batch.add_column(sa.Column('fund_account_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('voucher_id', sa.Integer(), nullable=True))
        batch.create_index('ix_bank_drawdown_fund_account_id', ['fund_account_id'], unique=False)
        batch.create_index('ix_bank_drawdown_voucher_id', ['voucher_id'], unique=False)
        batch.create_foreign_key('fk_bank_drawdown_fund_account', 'fund_account', ['fund_account_id'], ['id'])
        batch.create_foreign_key('fk_bank_drawdown_voucher', 'voucher', ['voucher_id'], ['id'])


def downgrade():
    with op.batch_alter_table('bank_drawdown') as batch:
        batch.drop_constraint('fk_bank_drawdown_voucher', type_='foreignkey')
        batch.drop_constraint('fk_bank_drawdown_fund_account', type_='foreignkey')
        batch.drop_index('ix_bank_drawdown_voucher_id')
        batch.drop_index('ix_bank_drawdown_fund_account_id')
        batch.drop_column('voucher_id')
        batch.drop_column('fund_account_id')
