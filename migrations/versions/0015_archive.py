"""archive: items, movements, borrowing, collateral withdrawal

Revision ID: 0015_archive
Revises: 0014_messages
Create Date: 2026-11-29 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_archive'
down_revision = '0014_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('archive_borrowing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrowing_no', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('expected_return_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('lent_on', sa.Date(), nullable=True),
    sa.Column('lent_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['lent_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('borrowing_no', name='uq_archive_borrowing_no')
    )
    with op.batch_alter_table('archive_borrowing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_borrowing_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_borrowing_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_borrowing_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_borrowing_status'), ['status'], unique=False)
        batch_op.create_index('ix_archive_borrowing_status_due', ['status', 'expected_return_on'], unique=False)

    op.create_table('archive_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('archive_no', sa.String(length=32), nullable=False),
    sa.Column('doc_type', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('collateral_id', sa.Integer(), nullable=True),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('pieces', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('room', sa.String(length=50), nullable=False),
    sa.Column('cabinet', sa.String(length=50), nullable=True),
    sa.Column('shelf', sa.String(length=50), nullable=True),
    sa.Column('box', sa.String(length=50), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('retain_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('custody', sa.Boolean(), nullable=False),
    sa.Column('owner_name', sa.String(length=100), nullable=True),
    sa.Column('certificate_no', sa.String(length=100), nullable=True),
    sa.Column('custodian_id', sa.Integer(), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['collateral_id'], ['collateral.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['custodian_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('archive_no', name='uq_archive_item_no')
    )
    with op.batch_alter_table('archive_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_item_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_certificate_no'), ['certificate_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_collateral_id'), ['collateral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_custodian_id'), ['custodian_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_custody'), ['custody'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_doc_type'), ['doc_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_filed_on'), ['filed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_archive_item_location', ['room', 'cabinet', 'shelf', 'box'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_retain_until'), ['retain_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_status'), ['status'], unique=False)
        batch_op.create_index('ix_archive_item_status_type', ['status', 'doc_type'], unique=False)

    op.create_table('archive_borrowing_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrowing_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('lent_on', sa.Date(), nullable=True),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('return_condition', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['borrowing_id'], ['archive_borrowing.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['archive_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('borrowing_id', 'item_id', name='uq_archive_borrowing_item')
    )
    with op.batch_alter_table('archive_borrowing_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_borrowing_item_borrowing_id'), ['borrowing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_borrowing_item_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_borrowing_item_returned_on'), ['returned_on'], unique=False)

    op.create_table('archive_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_no', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('to_party', sa.String(length=100), nullable=True),
    sa.Column('to_branch_id', sa.Integer(), nullable=True),
    sa.Column('to_room', sa.String(length=50), nullable=True),
    sa.Column('to_cabinet', sa.String(length=50), nullable=True),
    sa.Column('to_shelf', sa.String(length=50), nullable=True),
    sa.Column('to_box', sa.String(length=50), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('confirmed_on', sa.Date(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('receiver_name', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['from_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['archive_item.id'], ),
    sa.ForeignKeyConstraint(['to_branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['to_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transfer_no', name='uq_archive_transfer_no')
    )
    with op.batch_alter_table('archive_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_transfer_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_from_user_id'), ['from_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_sent_on'), ['sent_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_to_branch_id'), ['to_branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_transfer_to_user_id'), ['to_user_id'], unique=False)

    op.create_table('collateral_withdrawal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_no', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('collateral_id', sa.Integer(), nullable=True),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('receiver_name', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('expected_return_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('proposed_at_settlement', sa.Boolean(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('suspend_reason', sa.String(length=300), nullable=True),
    sa.Column('suspended_at', sa.DateTime(), nullable=True),
    sa.Column('suspended_by_id', sa.Integer(), nullable=True),
    sa.Column('executed_on', sa.Date(), nullable=True),
    sa.Column('executed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['collateral_id'], ['collateral.id'], ),
    sa.ForeignKeyConstraint(['executed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['archive_item.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['suspended_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_no', name='uq_collateral_withdrawal_no')
    )
    with op.batch_alter_table('collateral_withdrawal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_collateral_id'), ['collateral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_withdrawal_status'), ['status'], unique=False)

    op.create_table('archive_movement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('handed_by', sa.String(length=100), nullable=True),
    sa.Column('received_by', sa.String(length=100), nullable=True),
    sa.Column('condition', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('borrowing_id', sa.Integer(), nullable=True),
    sa.Column('withdrawal_id', sa.Integer(), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['borrowing_id'], ['archive_borrowing.id'], ),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['archive_item.id'], ),
    sa.ForeignKeyConstraint(['operator_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['transfer_id'], ['archive_transfer.id'], ),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['collateral_withdrawal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('archive_movement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_movement_borrowing_id'), ['borrowing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_archive_movement_kind_date', ['kind', 'occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_occurred_on'), ['occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_transfer_id'), ['transfer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_movement_withdrawal_id'), ['withdrawal_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; referencing tables go first.
    for table in ("archive_movement", "collateral_withdrawal", "archive_transfer", "archive_borrowing_item",
                  "archive_item", "archive_borrowing"):
        op.drop_table(table)
