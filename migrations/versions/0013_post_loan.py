"""post-loan checks, company changes and defaults

Revision ID: 0013_post_loan
Revises: 0012_credit_lines
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_post_loan'
down_revision = '0012_credit_lines'
branch_labels = None
depends_on = None

_OPEN_SPECIAL = "kind = 'special' AND status = 'open'"


def _indexes(table, columns):
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade():
    op.create_table(
        'post_loan_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('cause', sa.String(length=20), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('triggered_on', sa.Date(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.Column('completed_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
        sa.ForeignKeyConstraint(['officer_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    _indexes('post_loan_task', ['branch_id', 'due_date', 'kind', 'loan_id', 'officer_id', 'status'])
    with op.batch_alter_table('post_loan_task', schema=None) as batch_op:
        batch_op.create_index('ix_post_loan_task_officer_status', ['officer_id', 'status'], unique=False)
        batch_op.create_index('ix_post_loan_task_status_due', ['status', 'due_date'], unique=False)
        batch_op.create_index('uq_post_loan_task_open_special', ['loan_id'], unique=True,
                              sqlite_where=sa.text(_OPEN_SPECIAL), postgresql_where=sa.text(_OPEN_SPECIAL))

    op.create_table(
        'post_loan_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('checked_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('business_operation', sa.Text(), nullable=False),
        sa.Column('use_of_funds', sa.Text(), nullable=False),
        sa.Column('collateral_condition', sa.String(length=20), nullable=False),
        sa.Column('collateral_notes', sa.Text(), nullable=True),
        sa.Column('repayment_ability', sa.Text(), nullable=False),
        sa.Column('risk_signals', sa.Text(), nullable=True),
        sa.Column('conclusion', sa.String(length=20), nullable=False),
        sa.Column('next_actions', sa.Text(), nullable=True),
        sa.Column('checker_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('collateral_flagged_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['checker_id'], ['ab_user.id'], ),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
        sa.ForeignKeyConstraint(['task_id'], ['post_loan_task.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('task_id'),
    )
    _indexes('post_loan_check', ['branch_id', 'checked_on', 'checker_id', 'conclusion', 'loan_id'])

    op.create_table(
        'company_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('change_type', sa.String(length=20), nullable=False),
        sa.Column('changed_on', sa.Date(), nullable=False),
        sa.Column('old_value', sa.Text(), nullable=True),
        sa.Column('new_value', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('is_flagged', sa.Boolean(), nullable=False),
        sa.Column('remarks', sa.Text(), nullable=True),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    _indexes('company_change', ['branch_id', 'change_type', 'changed_on', 'customer_id', 'is_flagged'])

    op.create_table(
        'post_loan_visit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('person_visited', sa.String(length=100), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('result', sa.Text(), nullable=False),
        sa.Column('visitor_id', sa.Integer(), nullable=True),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
        sa.ForeignKeyConstraint(['visitor_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    _indexes('post_loan_visit', ['branch_id', 'loan_id', 'visited_on', 'visitor_id'])

    op.create_table(
        'loan_default',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('declared_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('declared_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('resolved_on', sa.Date(), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['declared_by_id'], ['ab_user.id'], ),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('loan_id'),
    )
    _indexes('loan_default', ['branch_id', 'declared_by_id', 'declared_on', 'status'])

    op.create_table(
        'default_action',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('default_id', sa.Integer(), nullable=False),
        sa.Column('action_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.Column('next_step', sa.String(length=300), nullable=True),
        sa.Column('next_on', sa.Date(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['default_id'], ['loan_default.id'], ),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    _indexes('default_action', ['action_on', 'default_id', 'kind'])


def downgrade():
    op.drop_table('default_action')
    op.drop_table('loan_default')
    op.drop_table('post_loan_visit')
    op.drop_table('company_change')
    op.drop_table('post_loan_check')
    op.drop_table('post_loan_task')
