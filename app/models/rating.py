"""Credit rating: scorecards (资信评价模板), customer ratings, company financial statements and ratios.

评分卡 Scorecard → 评分模块 ScorecardSection → 评分项目 ScorecardItem → 选项 ScorecardOption
(定性) or 分段 ScorecardBand (定量, fed by a financial ratio); 等级 ScorecardGrade maps a score
to a grade and a credit-limit multiplier. A card used by a submitted rating is frozen (copy
it to a new version to change it); a rating keeps the texts and scores it was given
(CreditRatingAnswer snapshots them).

报表类别 StatementTemplate (资产负债表, 利润表, 现金流量表) with its 报表项目 StatementLine;
企业财务报表 FinancialStatement per customer and period with one FinancialStatementValue per
line. Ratios are computed from the values (app/domain/scoring.py), never stored.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.customer import CUSTOMER_KINDS  # noqa: F401  (re-exported for the views)

ITEM_KINDS = {"qualitative": "定性", "quantitative": "定量"}
LIMIT_BASES = {"net_assets": "净资产（所有者权益合计）× 倍数", "fixed": "固定基数 × 倍数"}
RATING_STATUSES = {"draft": "草稿", "submitted": "已提交"}
PERIOD_KINDS = {"year": "年报", "quarter": "季报", "month": "月报"}
STATEMENT_SOURCES = {"onsite": "现场采集", "audited": "审计报告", "tax": "纳税申报表", "self": "企业自报"}


# -- 资信评价模板 -------------------------------------------------------------------------
class Scorecard(Model):
    """评分卡: what a rating of one customer kind asks and how it scores."""

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_scorecard_code_version"),)
    id = Column(Integer, primary_key=True)
    code = Column(String(30), nullable=False, index=True)
    version = Column(Integer, nullable=False, default=1)
    name = Column(String(100), nullable=False)
    customer_kind = Column(String(20), nullable=False, index=True)
    is_active = Column(Boolean, nullable=False, default=True, index=True)
    # 建议额度 = 基数 × 等级倍数; 基数 = 净资产 (latest statement) or the fixed amount.
    limit_base = Column(String(20), nullable=False, default="fixed")
    base_amount = Column(Numeric(18, 2))
    description = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    sections = relationship("ScorecardSection", back_populates="scorecard", cascade="all, delete-orphan",
                            order_by="(ScorecardSection.sort_order, ScorecardSection.id)")
    grades = relationship("ScorecardGrade", back_populates="scorecard", cascade="all, delete-orphan",
                          order_by="ScorecardGrade.min_score.desc()")

    @property
    def kind_label(self):
        return CUSTOMER_KINDS.get(self.customer_kind, self.customer_kind)

    @property
    def limit_base_label(self):
        return LIMIT_BASES.get(self.limit_base, self.limit_base)

    @property
    def items(self):
        return [item for section in self.sections for item in section.items]

    def __str__(self):
        return f"{self.name}（V{self.version}）"


class ScorecardSection(Model):
    """评分模块: a group of items (e.g. 经营状况, 财务状况)."""

    __tablename__ = "scorecard_section"
    id = Column(Integer, primary_key=True)
    scorecard_id = Column(Integer, ForeignKey("scorecard.id"), nullable=False, index=True)
    scorecard = relationship("Scorecard", back_populates="sections")
    name = Column(String(100), nullable=False)
    sort_order = Column(Integer, nullable=False, default=0)
    items = relationship("ScorecardItem", back_populates="section", cascade="all, delete-orphan",
                         order_by="(ScorecardItem.sort_order, ScorecardItem.id)")

    def __str__(self):
        return f"{self.scorecard.name if self.scorecard else ''} · {self.name}"


class ScorecardItem(Model):
    """评分项目: qualitative (options) or quantitative (a ratio code with score bands).

    Scores are 0–100; the item contributes score × weight ÷ 100 to the total."""

    __tablename__ = "scorecard_item"
    id = Column(Integer, primary_key=True)
    section_id = Column(Integer, ForeignKey("scorecard_section.id"), nullable=False, index=True)
    section = relationship("ScorecardSection", back_populates="items")
    name = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False, default="qualitative")
    ratio_code = Column(String(30))
    weight = Column(Numeric(8, 2), nullable=False)
    sort_order = Column(Integer, nullable=False, default=0)
    guidance = Column(String(300))
    options = relationship("ScorecardOption", back_populates="item", cascade="all, delete-orphan",
                           order_by="(ScorecardOption.sort_order, ScorecardOption.id)")
    bands = relationship("ScorecardBand", back_populates="item", cascade="all, delete-orphan",
                         order_by="(ScorecardBand.sort_order, ScorecardBand.id)")

    @property
    def kind_label(self):
        return ITEM_KINDS.get(self.kind, self.kind)

    @property
    def scorecard(self):
        return self.section.scorecard if self.section else None

    def __str__(self):
        return f"{self.section.name if self.section else ''} · {self.name}"


class ScorecardOption(Model):
    """选项 of a qualitative item, with its score (0–100)."""

    __tablename__ = "scorecard_option"
    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("scorecard_item.id"), nullable=False, index=True)
    item = relationship("ScorecardItem", back_populates="options")
    label = Column(String(200), nullable=False)
    score = Column(Numeric(8, 2), nullable=False)
    sort_order = Column(Integer, nullable=False, default=0)

    def __str__(self):
        return self.label


class ScorecardBand(Model):
    """分段 of a quantitative item: lower ≤ figure < upper (an empty bound is open) → score."""

    __tablename__ = "scorecard_band"
    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("scorecard_item.id"), nullable=False, index=True)
    item = relationship("ScorecardItem", back_populates="bands")
    lower = Column(Numeric(18, 4))
    upper = Column(Numeric(18, 4))
    score = Column(Numeric(8, 2), nullable=False)
    sort_order = Column(Integer, nullable=False, default=0)

    @property
    def range_label(self):
        low = "-∞" if self.lower is None else f"{self.lower.normalize():f}"
        high = "+∞" if self.upper is None else f"{self.upper.normalize():f}"
        return f"[{low}, {high})"


class ScorecardGrade(Model):
    """等级: score ≥ min_score → grade; suggested limit = base × limit_multiplier."""

    __tablename__ = "scorecard_grade"
    __table_args__ = (UniqueConstraint("scorecard_id", "grade", name="uq_scorecard_grade"),)
    id = Column(Integer, primary_key=True)
    scorecard_id = Column(Integer, ForeignKey("scorecard.id"), nullable=False, index=True)
    scorecard = relationship("Scorecard", back_populates="grades")
    grade = Column(String(10), nullable=False)
    min_score = Column(Numeric(8, 2), nullable=False)
    limit_multiplier = Column(Numeric(8, 4), nullable=False)
    description = Column(String(200))


# -- 客户资信评价 -------------------------------------------------------------------------
class CreditRating(Model):
    """客户资信评价: draft → submitted (read-only). Scores are computed by the service."""

    __tablename__ = "credit_rating"
    __table_args__ = (
        UniqueConstraint("rating_no", name="uq_credit_rating_no"),
        Index("ix_credit_rating_customer_status", "customer_id", "status"),
    )
    id = Column(Integer, primary_key=True)
    rating_no = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    scorecard_id = Column(Integer, ForeignKey("scorecard.id"), nullable=False, index=True)
    scorecard = relationship("Scorecard")
    card_name = Column(String(120), nullable=False)
    statement_id = Column(Integer, ForeignKey("financial_statement.id"), index=True)
    statement = relationship("FinancialStatement")
    status = Column(String(20), nullable=False, default="draft", index=True)
    item_score = Column(Numeric(8, 2), nullable=False, default=0)
    deduction_total = Column(Numeric(8, 2), nullable=False, default=0)
    score = Column(Numeric(8, 2), nullable=False, default=0, index=True)
    grade = Column(String(10), index=True)
    limit_multiplier = Column(Numeric(8, 4))
    limit_base = Column(Numeric(18, 2))
    limit_base_label = Column(String(60))
    suggested_limit = Column(Numeric(18, 2))
    opinion = Column(Text)
    rated_on = Column(Date, index=True)
    rater_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    rater = relationship("AppUser", foreign_keys=[rater_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    submitted_at = Column(DateTime)
    answers = relationship("CreditRatingAnswer", back_populates="rating", cascade="all, delete-orphan",
                           order_by="CreditRatingAnswer.sort_order")
    deductions = relationship("CreditRatingDeduction", back_populates="rating", cascade="all, delete-orphan",
                              order_by="CreditRatingDeduction.id")

    @property
    def status_label(self):
        return RATING_STATUSES.get(self.status, self.status)

    @property
    def is_draft(self):
        return self.status == "draft"

    def __str__(self):
        return self.rating_no


class CreditRatingAnswer(Model):
    """One item's answer, with the item's texts and weight as they were when rated."""

    __tablename__ = "credit_rating_answer"
    id = Column(Integer, primary_key=True)
    rating_id = Column(Integer, ForeignKey("credit_rating.id"), nullable=False, index=True)
    rating = relationship("CreditRating", back_populates="answers")
    item_id = Column(Integer, ForeignKey("scorecard_item.id"), index=True)
    item = relationship("ScorecardItem")
    sort_order = Column(Integer, nullable=False, default=0)
    section_name = Column(String(100), nullable=False)
    item_name = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False)
    ratio_code = Column(String(30))
    weight = Column(Numeric(8, 2), nullable=False)
    option_id = Column(Integer, ForeignKey("scorecard_option.id"), index=True)
    option_label = Column(String(200))
    # 定量: the figure scored (现场采集, editable) and the one computed from the statement.
    value = Column(Numeric(18, 4))
    statement_value = Column(Numeric(18, 4))
    band_label = Column(String(80))
    score = Column(Numeric(8, 2))
    weighted_score = Column(Numeric(8, 2))

    @property
    def kind_label(self):
        return ITEM_KINDS.get(self.kind, self.kind)

    @property
    def is_edited(self):
        return self.kind == "quantitative" and self.value is not None and self.value != self.statement_value


class CreditRatingDeduction(Model):
    """资信扣分: points taken off the score, with the reason."""

    __tablename__ = "credit_rating_deduction"
    id = Column(Integer, primary_key=True)
    rating_id = Column(Integer, ForeignKey("credit_rating.id"), nullable=False, index=True)
    rating = relationship("CreditRating", back_populates="deductions")
    points = Column(Numeric(8, 2), nullable=False)
    reason = Column(String(300), nullable=False)


# -- 企业财务报表 -------------------------------------------------------------------------
class StatementTemplate(Model):
    """报表类别: 资产负债表, 利润表, 现金流量表 (an admin may add more)."""

    __tablename__ = "statement_template"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), nullable=False, unique=True)
    name = Column(String(60), nullable=False)
    sort_order = Column(Integer, nullable=False, default=0)
    is_active = Column(Boolean, nullable=False, default=True)
    lines = relationship("StatementLine", back_populates="template", cascade="all, delete-orphan",
                         order_by="(StatementLine.sort_order, StatementLine.id)")

    def __str__(self):
        return self.name


class StatementLine(Model):
    """报表项目: one line of a template. ``code`` is what the ratios refer to (unique)."""

    __tablename__ = "statement_line"
    id = Column(Integer, primary_key=True)
    template_id = Column(Integer, ForeignKey("statement_template.id"), nullable=False, index=True)
    template = relationship("StatementTemplate", back_populates="lines")
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(60), nullable=False)
    section = Column(String(40))
    sort_order = Column(Integer, nullable=False, default=0)
    is_subtotal = Column(Boolean, nullable=False, default=False)
    is_active = Column(Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class FinancialStatement(Model):
    """企业财务报表 of one customer for one period (year, quarter or month)."""

    __tablename__ = "financial_statement"
    __table_args__ = (
        UniqueConstraint("customer_id", "period_kind", "year", "period", name="uq_financial_statement_period"),
        Index("ix_financial_statement_customer_end", "customer_id", "period_end"),
    )
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    period_kind = Column(String(10), nullable=False)
    year = Column(Integer, nullable=False)
    period = Column(Integer, nullable=False, default=0)   # 0 for a year, 1–4 quarter, 1–12 month
    period_end = Column(Date, nullable=False, index=True)
    source = Column(String(20), nullable=False, default="onsite")
    remarks = Column(Text)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    values = relationship("FinancialStatementValue", back_populates="statement", cascade="all, delete-orphan")

    @property
    def period_label(self):
        if self.period_kind == "quarter":
            return f"{self.year}年第{self.period}季度"
        if self.period_kind == "month":
            return f"{self.year}年{self.period}月"
        return f"{self.year}年"

    @property
    def kind_label(self):
        return PERIOD_KINDS.get(self.period_kind, self.period_kind)

    @property
    def source_label(self):
        return STATEMENT_SOURCES.get(self.source, self.source)

    def __str__(self):
        return f"{self.customer.name if self.customer else ''} {self.period_label}"


class FinancialStatementValue(Model):
    __tablename__ = "financial_statement_value"
    __table_args__ = (UniqueConstraint("statement_id", "line_id", name="uq_financial_statement_value_line"),)
    id = Column(Integer, primary_key=True)
    statement_id = Column(Integer, ForeignKey("financial_statement.id"), nullable=False, index=True)
    statement = relationship("FinancialStatement", back_populates="values")
    line_id = Column(Integer, ForeignKey("statement_line.id"), nullable=False, index=True)
    line = relationship("StatementLine")
    amount = Column(Numeric(18, 2), nullable=False)
