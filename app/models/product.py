"""贷款产品: the terms a loan may take (methods, ranges, day basis, penalty, fees, LTV)."""
from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

FEE_BASES = {"fixed": "固定金额", "percent": "按本金比例（%）"}
FEE_TIMINGS = {"at_application": "申请时", "at_disbursement": "放款时", "per_period": "每期"}
FEE_ACCOUNTS = {"income": "收入", "deposit": "存入保证金（负债）"}
PERIOD_UNITS = {"month": "按月", "day": "按天"}
ALLOCATION_ORDERS = {
    "penalty,compound,interest,principal": "罚息 → 复利 → 利息 → 本金",
    "principal,interest,penalty,compound": "本金 → 利息 → 罚息 → 复利",
    "interest,principal,penalty,compound": "利息 → 本金 → 罚息 → 复利",
}


class LoanProduct(Model):
    __tablename__ = "loan_product"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    # Comma-separated repayment method codes (app.domain.schedule.METHOD_LABELS).
    methods = Column(String(200), nullable=False)
    period = Column(String(10), nullable=False, default="month")
    interest_by_days = Column(Boolean, nullable=False, default=False)
    min_amount = Column(Numeric(18, 2), nullable=False)
    max_amount = Column(Numeric(18, 2), nullable=False)
    min_term = Column(Integer, nullable=False)
    max_term = Column(Integer, nullable=False)
    min_rate = Column(Numeric(12, 8), nullable=False)
    max_rate = Column(Numeric(12, 8), nullable=False)
    day_basis = Column(Integer, nullable=False, default=360)
    rounding = Column(String(20), nullable=False, default="HALF_UP")
    penalty_markup_pct = Column(Numeric(8, 4), nullable=False, default=50)
    grace_days = Column(Integer, nullable=False, default=0)
    allocation_order = Column(String(60), nullable=False, default="penalty,compound,interest,principal")
    # 提前还款违约金: % of the principal prepaid (0: interest only to the repayment day).
    prepayment_fee_pct = Column(Numeric(8, 4), nullable=False, default=0)
    fixed_day_allowed = Column(Boolean, nullable=False, default=True)
    guarantee_required = Column(Boolean, nullable=False, default=False)
    is_enabled = Column(Boolean, nullable=False, default=True, index=True)
    description = Column(Text)
    fees = relationship("ProductFee", back_populates="product", cascade="all, delete-orphan",
                        order_by="ProductFee.id")
    ltv_limits = relationship("ProductLtv", back_populates="product", cascade="all, delete-orphan",
                              order_by="ProductLtv.id")

    @property
    def method_list(self):
        return [m for m in (self.methods or "").split(",") if m]

    def __str__(self):
        return self.name


class ProductFee(Model):
    """A fee the product charges: type (字典 fee_type), basis, when due, which account."""

    __tablename__ = "product_fee"
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("loan_product.id"), nullable=False, index=True)
    product = relationship("LoanProduct", back_populates="fees")
    fee_type = Column(String(50), nullable=False)
    basis = Column(String(20), nullable=False, default="percent")
    value = Column(Numeric(18, 4), nullable=False)
    timing = Column(String(20), nullable=False, default="at_disbursement")
    account = Column(String(20), nullable=False, default="income")
    editable = Column(Boolean, nullable=False, default=True)

    @property
    def basis_label(self):
        return FEE_BASES.get(self.basis, self.basis)

    @property
    def timing_label(self):
        return FEE_TIMINGS.get(self.timing, self.timing)


class ProductLtv(Model):
    """Maximum loan-to-value for one collateral type in this product (else the parameter)."""

    __tablename__ = "product_ltv"
    __table_args__ = (UniqueConstraint("product_id", "collateral_type", name="uq_product_ltv_type"),)
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("loan_product.id"), nullable=False, index=True)
    product = relationship("LoanProduct", back_populates="ltv_limits")
    collateral_type = Column(String(50), nullable=False)
    max_ltv_pct = Column(Numeric(8, 4), nullable=False)
