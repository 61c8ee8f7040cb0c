"""stored balances: each loan's principal outstanding and each fund account's net, kept by
the ledger in the posting transaction, and each receipt's principal and interest totals
(issue #13: the dashboard at 100,000 loans)

Revision ID: 0019_stored_balances
Revises: 0018_finance_reports
Create Date: 2026-11-30 13:00:00

Filled from the journal on upgrade, so an existing database reads the same figures.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_stored_balances'
down_revision = '0018_finance_reports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('loan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('principal_balance', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('fund_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted_net', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('principal_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('interest_amount', sa.Numeric(precision=18, scale=2), nullable=False,
                                      server_default='0'))
    op.execute("""
        UPDATE repayment SET
            principal_amount = COALESCE((SELECT SUM(l.amount) FROM repayment_line l
                                         WHERE l.repayment_id = repayment.id AND l.component = 'principal'), 0),
            interest_amount = COALESCE((SELECT SUM(l.amount) FROM repayment_line l WHERE l.repayment_id = repayment.id
                                        AND l.component IN ('interest', 'penalty', 'compound')), 0)""")
    # 1301 贷款本金 and its sub-accounts (the chart is a small tree).
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, parent_id, code FROM ledger_account")).all()
    tree = [r.id for r in rows if r.code == "1301"]
    todo = list(tree)
    while todo:
        parent = todo.pop()
        children = [r.id for r in rows if r.parent_id == parent]
        tree += children
        todo += children
    if tree:
        ids = ", ".join(str(int(i)) for i in tree)
        op.execute(f"""
            UPDATE loan SET principal_balance = COALESCE((
                SELECT SUM(j.debit - j.credit) FROM journal_line j
                WHERE j.loan_id = loan.id AND j.account_id IN ({ids})), 0)""")
    op.execute("""
        UPDATE fund_account SET posted_net = COALESCE((
            SELECT SUM(j.debit - j.credit) FROM journal_line j WHERE j.fund_account_id = fund_account.id), 0)""")


def downgrade():
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.drop_column('interest_amount')
        batch_op.drop_column('principal_amount')
    with op.batch_alter_table('fund_account', schema=None) as batch_op:
        batch_op.drop_column('posted_net')
    with op.batch_alter_table('loan', schema=None) as batch_op:
        batch_op.drop_column('principal_balance')
