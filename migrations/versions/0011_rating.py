"""credit rating: scorecards, ratings, financial statements

Revision ID: 0011_rating
Revises: 0010_risk
Create Date: 2026-11-29 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_rating'
down_revision = '0010_risk'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorecard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('customer_kind', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('limit_base', sa.String(length=20), nullable=False),
    sa.Column('base_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', 'version', name='uq_scorecard_code_version')
    )

    with op.batch_alter_table('scorecard', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_customer_kind'), ['customer_kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_is_active'), ['is_active'], unique=False)

    op.create_table('statement_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )

    op.create_table('scorecard_grade',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('min_score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('limit_multiplier', sa.Numeric(precision=8, scale=4), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecard.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scorecard_id', 'grade', name='uq_scorecard_grade')
    )

    with op.batch_alter_table('scorecard_grade', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_grade_scorecard_id'), ['scorecard_id'], unique=False)

    op.create_table('scorecard_section',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecard.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('scorecard_section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_section_scorecard_id'), ['scorecard_id'], unique=False)

    op.create_table('statement_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('section', sa.String(length=40), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_subtotal', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['statement_template.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )

    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_line_template_id'), ['template_id'], unique=False)

    op.create_table('scorecard_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ratio_code', sa.String(length=30), nullable=True),
    sa.Column('weight', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('guidance', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['section_id'], ['scorecard_section.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('scorecard_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_item_section_id'), ['section_id'], unique=False)

    op.create_table('financial_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'period_kind', 'year', 'period', name='uq_financial_statement_period')
    )

    with op.batch_alter_table('financial_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_financial_statement_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_statement_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_financial_statement_customer_end', ['customer_id', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_statement_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_statement_period_end'), ['period_end'], unique=False)

    op.create_table('scorecard_band',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('lower', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('upper', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['scorecard_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('scorecard_band', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_band_item_id'), ['item_id'], unique=False)

    op.create_table('scorecard_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['scorecard_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('scorecard_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_option_item_id'), ['item_id'], unique=False)

    op.create_table('credit_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_no', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('card_name', sa.String(length=120), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('item_score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('deduction_total', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=True),
    sa.Column('limit_multiplier', sa.Numeric(precision=8, scale=4), nullable=True),
    sa.Column('limit_base', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('limit_base_label', sa.String(length=60), nullable=True),
    sa.Column('suggested_limit', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('rated_on', sa.Date(), nullable=True),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['rater_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecard.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['financial_statement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rating_no', name='uq_credit_rating_no')
    )

    with op.batch_alter_table('credit_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_rating_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_credit_rating_customer_status', ['customer_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_grade'), ['grade'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_rated_on'), ['rated_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_rater_id'), ['rater_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_score'), ['score'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_scorecard_id'), ['scorecard_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_status'), ['status'], unique=False)

    op.create_table('financial_statement_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['financial_statement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id', 'line_id', name='uq_financial_statement_value_line')
    )

    with op.batch_alter_table('financial_statement_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_financial_statement_value_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_statement_value_statement_id'), ['statement_id'], unique=False)

    op.create_table('credit_rating_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('section_name', sa.String(length=100), nullable=False),
    sa.Column('item_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ratio_code', sa.String(length=30), nullable=True),
    sa.Column('weight', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=True),
    sa.Column('option_label', sa.String(length=200), nullable=True),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('statement_value', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('band_label', sa.String(length=80), nullable=True),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('weighted_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['scorecard_item.id'], ),
    sa.ForeignKeyConstraint(['option_id'], ['scorecard_option.id'], ),
    sa.ForeignKeyConstraint(['rating_id'], ['credit_rating.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('credit_rating_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_rating_answer_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_answer_option_id'), ['option_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_rating_answer_rating_id'), ['rating_id'], unique=False)

    op.create_table('credit_rating_deduction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['credit_rating.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('credit_rating_deduction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_rating_deduction_rating_id'), ['rating_id'], unique=False)


def downgrade():
    with op.batch_alter_table('credit_rating_deduction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_rating_deduction_rating_id'))

    op.drop_table('credit_rating_deduction')

    with op.batch_alter_table('credit_rating_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_rating_answer_rating_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_answer_option_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_answer_item_id'))

    op.drop_table('credit_rating_answer')

    with op.batch_alter_table('financial_statement_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_financial_statement_value_statement_id'))
        batch_op.drop_index(batch_op.f('ix_financial_statement_value_line_id'))

    op.drop_table('financial_statement_value')

    with op.batch_alter_table('credit_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_rating_status'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_statement_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_scorecard_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_score'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_rater_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_rated_on'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_grade'))
        batch_op.drop_index('ix_credit_rating_customer_status')
        batch_op.drop_index(batch_op.f('ix_credit_rating_customer_id'))
        batch_op.drop_index(batch_op.f('ix_credit_rating_created_at'))

    op.drop_table('credit_rating')

    with op.batch_alter_table('scorecard_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_option_item_id'))

    op.drop_table('scorecard_option')

    with op.batch_alter_table('scorecard_band', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_band_item_id'))

    op.drop_table('scorecard_band')

    with op.batch_alter_table('financial_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_financial_statement_period_end'))
        batch_op.drop_index(batch_op.f('ix_financial_statement_customer_id'))
        batch_op.drop_index('ix_financial_statement_customer_end')
        batch_op.drop_index(batch_op.f('ix_financial_statement_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_financial_statement_created_at'))

    op.drop_table('financial_statement')

    with op.batch_alter_table('scorecard_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_item_section_id'))

    op.drop_table('scorecard_item')

    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_line_template_id'))

    op.drop_table('statement_line')

    with op.batch_alter_table('scorecard_section', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_section_scorecard_id'))

    op.drop_table('scorecard_section')

    with op.batch_alter_table('scorecard_grade', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_grade_scorecard_id'))

    op.drop_table('scorecard_grade')

    op.drop_table('statement_template')

    with op.batch_alter_table('scorecard', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_is_active'))
        batch_op.drop_index(batch_op.f('ix_scorecard_customer_kind'))
        batch_op.drop_index(batch_op.f('ix_scorecard_code'))

    op.drop_table('scorecard')
