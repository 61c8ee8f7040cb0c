"""项目 (Loan): one lending case with its guarantors, collateral, fees, schedule, status
history and access grants."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy import false as sa_false, text
from sqlalchemy.orm import relationship

LOAN_STATUSES = {
    "draft": "草稿", "in_approval": "审批中", "returned": "已退回", "rejected": "已否决",
    "approved": "已批准", "contracted": "已签合同", "disbursing": "放款审批中", "ready_to_disburse": "待放款",
    "active": "在贷",
    "settled": "已结清", "written_off": "已核销", "closed": "已结案",
}
EDITABLE_STATUSES = ("draft", "returned")
GUARANTEE_TYPES = {"unsecured": "信用", "guarantee": "保证", "mortgage": "抵押", "pledge": "质押"}
GUARANTEE_MODES = {"general": "一般保证", "joint": "连带责任保证"}
COLLATERAL_KINDS = {"mortgage": "抵押", "pledge": "质押"}
GRANT_LEVELS = {"view": "查看", "handle": "办理"}


class Loan(Model):
    __tablename__ = "loan"
    __table_args__ = (
        Index("ix_loan_branch_status", "branch_id", "status"),
    )
    id = Column(Integer, primary_key=True)
    loan_no = Column(String(32), unique=True, nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    product_id = Column(Integer, ForeignKey("loan_product.id"), nullable=False, index=True)
    product = relationship("LoanProduct")
    amount = Column(Numeric(18, 2), nullable=False, index=True)
    term = Column(Integer, nullable=False)
    annual_rate = Column(Numeric(12, 8), nullable=False)
    method = Column(String(30), nullable=False)
    start_date = Column(Date, nullable=False, index=True)
    fixed_day = Column(Integer)
    purpose = Column(String(50), nullable=False)
    guarantee_types = Column(String(60), nullable=False, default="unsecured")
    officer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    officer = relationship("AppUser", foreign_keys=[officer_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    intermediary_id = Column(Integer, ForeignKey("intermediary.id"), index=True)
    intermediary = relationship("Intermediary")
    # 授信: the customer credit line this loan draws on (app/services/credit_lines.py).
    credit_line_id = Column(Integer, ForeignKey("credit_line.id"), index=True)
    credit_line = relationship("CreditLine")
    status = Column(String(20), nullable=False, default="draft", index=True)
    cost_rate = Column(Numeric(8, 2))
    warnings = Column(Text)
    remarks = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    submitted_at = Column(DateTime)
    closed_on = Column(Date)
    # 展期: how many extensions were approved and how long they add, in the product's unit.
    extension_count = Column(Integer, nullable=False, default=0)
    extended_periods = Column(Integer, nullable=False, default=0)
    version = Column(Integer, nullable=False, default=1)
    # Set by the nightly batch (app/services/batch.py): days overdue of the oldest unpaid
    # installment, the five-level class, the latest approved manual class, and 非应计.
    overdue_days = Column(Integer, nullable=False, default=0, server_default="0", index=True)
    classification = Column(String(20), nullable=False, default="normal", server_default="normal", index=True)
    manual_class = Column(String(20))
    non_accrual = Column(Boolean, nullable=False, default=False, server_default=sa_false())
    # 贷款本金余额 as the committed ledger has it (Σ debit − credit of the loan's lines on 1301
    # and its subtree): kept by app/services/ledger.py in the transaction that posts the lines,
    # so the dashboard reads 100,000 loans' balances without summing three million lines;
    # checked against the journal by the nightly batch (step "ledger_check").
    principal_balance = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")
    __mapper_args__ = {"version_id_col": version}

    guarantors = relationship("Guarantor", back_populates="loan", cascade="all, delete-orphan", order_by="Guarantor.id")
    collaterals = relationship("Collateral", back_populates="loan", cascade="all, delete-orphan",
                               order_by="Collateral.id")
    fees = relationship("LoanFee", back_populates="loan", cascade="all, delete-orphan", order_by="LoanFee.id")
    installments = relationship("Installment", back_populates="loan", cascade="all, delete-orphan",
                                order_by="Installment.seq")
    status_changes = relationship("LoanStatusChange", back_populates="loan", cascade="all, delete-orphan",
                                  order_by="LoanStatusChange.id")

    @property
    def status_label(self):
        return LOAN_STATUSES.get(self.status, self.status)

    @property
    def classification_label(self):
        from .risk import class_label
        return class_label(self.classification)

    @property
    def guarantee_list(self):
        return [g for g in (self.guarantee_types or "").split(",") if g]

    @property
    def guarantee_label(self):
        return "、".join(GUARANTEE_TYPES.get(g, g) for g in self.guarantee_list)

    @property
    def fee_terms(self):
        """The fees as agreed: a per-period fee once (the rule, or its first installment's row
        once paid out), not once per installment (see LoanFee.installment_seq)."""
        return [f for f in self.fees if f.installment_seq is None or f.installment_seq == 1]

    @property
    def maturity_date(self):
        return self.installments[-1].due_date if self.installments else None

    @property
    def is_editable(self):
        return self.status in EDITABLE_STATUSES

    @property
    def loan_no_link(self):
        """The loan number as a link to the loan's page (the query lists have no show view)."""
        from flask import url_for
        from markupsafe import Markup

        return Markup('<a href="{}">{}</a>').format(url_for("LoanView.show", pk=self.id), self.loan_no)

    def __str__(self):
        return self.loan_no


class Guarantor(Model):
    """保证人: an existing customer or a person/company named here."""

    __tablename__ = "guarantor"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan", back_populates="guarantors")
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    kind = Column(String(20), nullable=False, default="person")
    name = Column(String(100), nullable=False, index=True)
    identifier = Column(String(18), nullable=False, index=True)
    mobile = Column(String(20))
    mode = Column(String(20), nullable=False, default="general")
    guaranteed_amount = Column(Numeric(18, 2), nullable=False)
    period_months = Column(Integer, nullable=False, default=6)
    relationship_to_borrower = Column(String(50))
    remarks = Column(String(300))
    released_on = Column(Date)   # 解保: the guarantee ended after settlement

    @property
    def mode_label(self):
        return GUARANTEE_MODES.get(self.mode, self.mode)

    def __str__(self):
        return self.name


class Collateral(Model):
    """抵押物 / 质押物 with the type-specific fields of DOMAIN.md §7 and its LTV."""

    __tablename__ = "collateral"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan", back_populates="collaterals")
    kind = Column(String(20), nullable=False, default="mortgage")
    collateral_type = Column(String(50), nullable=False, index=True)
    name = Column(String(200), nullable=False, index=True)
    owner_name = Column(String(100), nullable=False)
    owner_relation = Column(String(50))
    appraised_value = Column(Numeric(18, 2), nullable=False)
    appraisal_date = Column(Date)
    appraisal_method = Column(String(100))
    certificate_no = Column(String(100), index=True)
    registry = Column(String(100))
    registration_date = Column(Date)
    custodian = Column(String(100))
    house_address = Column(String(200))
    house_area = Column(Numeric(12, 2))
    co_owners = Column(String(200))
    vehicle_plate = Column(String(20))
    vehicle_vin = Column(String(17))
    vehicle_engine_no = Column(String(30))
    ltv_pct = Column(Numeric(8, 2))
    remarks = Column(String(300))
    released_on = Column(Date)   # 解保: the mortgage or pledge released after settlement

    @property
    def kind_label(self):
        return COLLATERAL_KINDS.get(self.kind, self.kind)

    def __str__(self):
        return self.name


class LoanFee(Model):
    """A fee of this loan, copied from the product and editable within its rules."""

    __tablename__ = "loan_fee"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan", back_populates="fees")
    fee_type = Column(String(50), nullable=False)
    basis = Column(String(20), nullable=False)
    value = Column(Numeric(18, 4), nullable=False)
    timing = Column(String(20), nullable=False)
    account = Column(String(20), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)
    # Receivable from disbursement on (fees due at application or disbursement), or from its
    # installment's due date (每期费用, booked by the nightly batch); collected through fee
    # receipts, refunded through 归还客户费用.
    due_on = Column(Date)
    # 每期费用: the installment (期次) this row is charged with; one row per installment from
    # disbursement on (app/services/fees.py ``sync_period_fees``). None: a one-off fee, or a
    # per-period rule not yet paid out.
    installment_seq = Column(Integer)
    paid_amount = Column(Numeric(18, 2), nullable=False, default=0)
    refunded_amount = Column(Numeric(18, 2), nullable=False, default=0)

    @property
    def outstanding(self):
        return self.amount - (self.paid_amount or 0)


class Installment(Model):
    """还款计划 one row (期次 ``seq``). Until disbursement it is the draft schedule."""

    __tablename__ = "installment"
    __table_args__ = (
        UniqueConstraint("loan_id", "seq", name="uq_installment_loan_seq"),
        # The nightly batch and the overdue lists read only what is still unpaid.
        Index("ix_installment_unpaid_due", "due_date", "loan_id",
              postgresql_where=text("paid_off_on IS NULL"), sqlite_where=text("paid_off_on IS NULL")),
        # The overdue / due-soon lists page by due date over unpaid rows: one column, so the
        # index is small (deduplicated) and the planner prefers it to ix_installment_due_date.
        Index("ix_installment_unpaid_due_date", "due_date",
              postgresql_where=text("paid_off_on IS NULL"), sqlite_where=text("paid_off_on IS NULL")),
        # Overdue at a past date D = unpaid and due before D, or paid off after D (then late):
        # the second half from the few installments paid late (reports.common.overdue_at).
        Index("ix_installment_paid_late", "paid_off_on", "due_date",
              postgresql_where=text("paid_off_on > due_date"), sqlite_where=text("paid_off_on > due_date")),
        # A loan's last due date (its maturity: 贷款业务统计 到期 / 即将到期) from the index alone.
        Index("ix_installment_loan_due", "loan_id", "due_date"),
    )
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan", back_populates="installments")
    seq = Column(Integer, nullable=False)
    start_date = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False, index=True)
    principal = Column(Numeric(18, 2), nullable=False)
    interest = Column(Numeric(18, 2), nullable=False)
    total = Column(Numeric(18, 2), nullable=False)
    balance = Column(Numeric(18, 2), nullable=False)
    # -- servicing (app/services/repayments.py): what has been paid, charged and waived.
    principal_paid = Column(Numeric(18, 2), nullable=False, default=0)
    interest_paid = Column(Numeric(18, 2), nullable=False, default=0)
    interest_waived = Column(Numeric(18, 2), nullable=False, default=0)
    # 罚息 / 复利 crystallised up to ``accrued_to`` (None: nothing yet, counts from due_date).
    penalty = Column(Numeric(18, 2), nullable=False, default=0)
    penalty_paid = Column(Numeric(18, 2), nullable=False, default=0)
    compound = Column(Numeric(18, 2), nullable=False, default=0)
    compound_paid = Column(Numeric(18, 2), nullable=False, default=0)
    compound_waived = Column(Numeric(18, 2), nullable=False, default=0)
    penalty_waived = Column(Numeric(18, 2), nullable=False, default=0)
    accrued_to = Column(Date)
    # Interest booked to 应收利息 (1132) by the period close and not yet received.
    interest_accrued = Column(Numeric(18, 2), nullable=False, default=0)
    paid_off_on = Column(Date)
    # The batch's 罚息/复利 from accrued_to up to pending_as_of, recomputed (never added up)
    # each night so daily runs round exactly like a receipt does; crystallise() clears them.
    overdue_days = Column(Integer, nullable=False, default=0, server_default="0")
    penalty_pending = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")
    compound_pending = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")
    pending_as_of = Column(Date)

    @property
    def principal_due(self):
        return self.principal - (self.principal_paid or 0)

    @property
    def interest_due(self):
        return self.interest - (self.interest_paid or 0) - (self.interest_waived or 0)

    @property
    def is_paid_off(self):
        return self.paid_off_on is not None


class LoanStatusChange(Model):
    """状态记录: every transition of a loan, who, when and why."""

    __tablename__ = "loan_status_change"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan", back_populates="status_changes")
    from_status = Column(String(20))
    to_status = Column(String(20), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("AppUser")
    changed_at = Column(DateTime, default=datetime.now, nullable=False)
    comment = Column(Text)

    @property
    def to_label(self):
        return LOAN_STATUSES.get(self.to_status, self.to_status)

    @property
    def from_label(self):
        return LOAN_STATUSES.get(self.from_status, self.from_status or "")


class LoanGrant(Model):
    """项目授权: lets another user view or handle one loan until ``expires_on``."""

    __tablename__ = "loan_grant"
    __table_args__ = (Index("ix_loan_grant_user_expiry", "user_id", "expires_on"),)
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    user = relationship("AppUser", foreign_keys=[user_id])
    level = Column(String(10), nullable=False, default="view")
    expires_on = Column(Date, nullable=False)
    granted_by_id = Column(Integer, ForeignKey("ab_user.id"))
    granted_by = relationship("AppUser", foreign_keys=[granted_by_id])
    granted_at = Column(DateTime, default=datetime.now, nullable=False)
    revoked = Column(Boolean, nullable=False, default=False)
    remarks = Column(String(300))

    @property
    def level_label(self):
        return GRANT_LEVELS.get(self.level, self.level)
