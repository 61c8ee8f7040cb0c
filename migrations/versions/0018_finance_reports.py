"""finance reports: the margin deposit (保证金) and the interest paid that move with a bank
borrowing record, for 未收回银行保证金统计 and 银行合作统计

Revision ID: 0018_finance_reports
Revises: 0017_list_indexes
Create Date: 2026-11-30 12:00:00

A drawdown may pay a margin deposit to the bank (存出保证金) and a repayment may recover it
(收回保证金) and pay interest (支付利息): two amounts on ``bank_drawdown``, zero by default, so
every existing record reads "nothing moved".
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_finance_reports'
down_revision = '0017_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bank_drawdown', schema=None) as batch_op:
        batch_op.add_column(sa.Column('margin_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('interest_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
        batch_op.create_check_constraint('ck_bank_drawdown_margin_interest',
                                         'margin_amount >= 0 AND interest_amount >= 0')


def downgrade():
    with op.batch_alter_table('bank_drawdown', schema=None) as batch_op:
        batch_op.drop_constraint('ck_bank_drawdown_margin_interest', type_='check')
        batch_op.drop_column('interest_amount')
        batch_op.drop_column('margin_amount')
