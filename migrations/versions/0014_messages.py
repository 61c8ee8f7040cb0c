"""messages: internal messages, announcements, e-mail, SMS, reminders, scheduled jobs

Revision ID: 0014_messages
Revises: 0013_post_loan
Create Date: 2026-11-29 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_messages'
down_revision = '0013_post_loan'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('schedule_kind', sa.String(length=20), nullable=False),
    sa.Column('time_of_day', sa.String(length=5), nullable=True),
    sa.Column('interval_minutes', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(), nullable=True),
    sa.Column('last_enqueued_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('sms_quota',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mobile', 'day', name='uq_sms_quota_mobile_day')
    )
    op.create_table('sms_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('publish_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_window', ['publish_at', 'expires_at'], unique=False)

    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('counts', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('rq_job_id', sa.String(length=64), nullable=True),
    sa.Column('triggered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['scheduled_job.id'], ),
    sa.ForeignKeyConstraint(['triggered_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job_id_desc', ['job_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_run_status'), ['status'], unique=False)

    op.create_table('announcement_branch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], ),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'branch_id', name='uq_announcement_branch')
    )
    with op.batch_alter_table('announcement_branch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_branch_announcement_id'), ['announcement_id'], unique=False)

    op.create_table('announcement_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'user_id', name='uq_announcement_read')
    )
    with op.batch_alter_table('announcement_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_read_announcement_id'), ['announcement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcement_read_user_id'), ['user_id'], unique=False)

    op.create_table('announcement_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], ),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'role_id', name='uq_announcement_role')
    )
    with op.batch_alter_table('announcement_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_role_announcement_id'), ['announcement_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('audience', sa.Text(), nullable=True),
    sa.Column('audience_label', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('sender_deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['sender_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_message_sender_status', ['sender_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_source'), ['source'], unique=False)
        batch_op.create_index('ix_message_status_scheduled', ['status', 'scheduled_at'], unique=False)

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('remind_on', sa.Date(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('channels', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'object_type', 'object_id', 'remind_on', name='uq_reminder_once_a_day')
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_reminder_remind_on_kind', ['remind_on', 'kind'], unique=False)

    op.create_table('email_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=200), nullable=False),
    sa.Column('to_name', sa.String(length=100), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('reminder_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminder.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_message_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_reminder_id'), ['reminder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_to_address'), ['to_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_user_id'), ['user_id'], unique=False)

    op.create_table('message_recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'user_id', name='uq_message_recipient')
    )
    with op.batch_alter_table('message_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_recipient_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_message_recipient_user_unread', ['user_id', 'deleted_at', 'read_at'], unique=False)

    op.create_table('sms_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('quota_taken', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('gateway_response', sa.Text(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('reminder_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], ),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminder.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['sms_template.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_message_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_direction'), ['direction'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_sms_message_mobile_created', ['mobile', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_reminder_id'), ['reminder_id'], unique=False)
        batch_op.create_index('ix_sms_message_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_template_id'), ['template_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_message_template_id'))
        batch_op.drop_index('ix_sms_message_status_next')
        batch_op.drop_index(batch_op.f('ix_sms_message_reminder_id'))
        batch_op.drop_index('ix_sms_message_mobile_created')
        batch_op.drop_index(batch_op.f('ix_sms_message_loan_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_direction'))
        batch_op.drop_index(batch_op.f('ix_sms_message_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_created_at'))

    op.drop_table('sms_message')
    with op.batch_alter_table('message_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_message_recipient_user_unread')
        batch_op.drop_index(batch_op.f('ix_message_recipient_message_id'))

    op.drop_table('message_recipient')
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_message_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_message_to_address'))
        batch_op.drop_index(batch_op.f('ix_email_message_status'))
        batch_op.drop_index(batch_op.f('ix_email_message_reminder_id'))
        batch_op.drop_index(batch_op.f('ix_email_message_customer_id'))
        batch_op.drop_index(batch_op.f('ix_email_message_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_email_message_created_at'))

    op.drop_table('email_message')
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_remind_on_kind')
        batch_op.drop_index(batch_op.f('ix_reminder_loan_id'))
        batch_op.drop_index(batch_op.f('ix_reminder_customer_id'))

    op.drop_table('reminder')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status_scheduled')
        batch_op.drop_index(batch_op.f('ix_message_source'))
        batch_op.drop_index(batch_op.f('ix_message_sent_at'))
        batch_op.drop_index('ix_message_sender_status')
        batch_op.drop_index(batch_op.f('ix_message_loan_id'))
        batch_op.drop_index(batch_op.f('ix_message_customer_id'))
        batch_op.drop_index(batch_op.f('ix_message_created_at'))

    op.drop_table('message')
    with op.batch_alter_table('announcement_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_role_announcement_id'))

    op.drop_table('announcement_role')
    with op.batch_alter_table('announcement_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_read_user_id'))
        batch_op.drop_index(batch_op.f('ix_announcement_read_announcement_id'))

    op.drop_table('announcement_read')
    with op.batch_alter_table('announcement_branch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_branch_announcement_id'))

    op.drop_table('announcement_branch')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_run_status'))
        batch_op.drop_index('ix_job_run_job_id_desc')

    op.drop_table('job_run')
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_window')

    op.drop_table('announcement')
    op.drop_table('sms_template')
    op.drop_table('sms_quota')
    op.drop_table('scheduled_job')
