"""Risk: the nightly batch runs (日终批处理), five-level classification history and manual
assessments (五级分类), provision snapshots and month-end provision bookings (拨备)."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

# Ordered best → worst; the position is the class's rank (a higher rank is worse).
CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")
CLASS_LABELS = {"normal": "正常", "special_mention": "关注", "substandard": "次级", "doubtful": "可疑", "loss": "损失"}
NON_PERFORMING = ("substandard", "doubtful", "loss")
RUN_STATUSES = {"running": "运行中", "success": "成功", "failed": "失败"}
RUN_TRIGGERS = {"cli": "命令行", "button": "手动运行", "job": "定时任务"}
ASSESSMENT_STATUSES = {"pending": "审批中", "approved": "已通过", "rejected": "已否决", "cancelled": "已撤销"}


def class_label(code):
    return CLASS_LABELS.get(code, code or "")


class BatchRun(Model):
    """日终批处理: one run of the nightly batch for one business date, with its step timings."""

    __tablename__ = "batch_run"
    id = Column(Integer, primary_key=True)
    as_of = Column(Date, nullable=False, index=True)
    status = Column(String(20), nullable=False, default="running", index=True)
    trigger = Column(String(20), nullable=False, default="cli")   # cli / button / job
    started_at = Column(DateTime, nullable=False, default=datetime.now)
    finished_at = Column(DateTime)
    seconds = Column(Numeric(10, 3))
    steps = Column(Text)        # JSON: [{"step", "label", "seconds", "count"}]
    error = Column(Text)
    triggered_by_id = Column(Integer, ForeignKey("ab_user.id"))
    triggered_by = relationship("AppUser")

    @property
    def status_label(self):
        return RUN_STATUSES.get(self.status, self.status)

    @property
    def trigger_label(self):
        return RUN_TRIGGERS.get(self.trigger, self.trigger)


class ClassificationChange(Model):
    """五级分类历史: every change of a loan's class, by the batch (auto) or an approved assessment."""

    __tablename__ = "classification_change"
    __table_args__ = (Index("ix_classification_change_loan", "loan_id", "changed_on"),)
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False)
    loan = relationship("Loan")
    changed_on = Column(Date, nullable=False, index=True)
    from_class = Column(String(20), nullable=False)
    to_class = Column(String(20), nullable=False, index=True)
    source = Column(String(10), nullable=False)       # auto / manual
    overdue_days = Column(Integer, nullable=False, default=0)
    reason = Column(String(500))
    assessment_id = Column(Integer, ForeignKey("classification_assessment.id"))
    created_at = Column(DateTime, nullable=False, default=datetime.now)

    @property
    def from_label(self):
        return class_label(self.from_class)

    @property
    def to_label(self):
        return class_label(self.to_class)


class ClassificationAssessment(Model):
    """五级人工评定: a reviewer's proposed class with reason, approved through the workflow.
    It may be worse than the automatic floor, never better."""

    __tablename__ = "classification_assessment"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    proposed_class = Column(String(20), nullable=False)
    floor_class = Column(String(20), nullable=False)     # the automatic floor when proposed
    current_class = Column(String(20), nullable=False)
    overdue_days = Column(Integer, nullable=False, default=0)
    reason = Column(Text, nullable=False)
    status = Column(String(20), nullable=False, default="pending", index=True)
    proposed_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    proposed_by = relationship("AppUser")
    proposed_at = Column(DateTime, nullable=False, default=datetime.now)
    decided_on = Column(Date)

    @property
    def status_label(self):
        return ASSESSMENT_STATUSES.get(self.status, self.status)

    @property
    def proposed_label(self):
        return class_label(self.proposed_class)

    @property
    def floor_label(self):
        return class_label(self.floor_class)

    def __str__(self):
        return f"{self.loan.loan_no if self.loan else self.loan_id} → {self.proposed_label}"


class ProvisionSnapshot(Model):
    """拨备: balances and the required reserve per class, as computed by the batch for a date."""

    __tablename__ = "provision_snapshot"
    __table_args__ = (UniqueConstraint("as_of", "loan_class", name="uq_provision_snapshot_class"),)
    id = Column(Integer, primary_key=True)
    as_of = Column(Date, nullable=False, index=True)
    loan_class = Column(String(20), nullable=False)
    loan_count = Column(Integer, nullable=False, default=0)
    balance = Column(Numeric(18, 2), nullable=False, default=0)
    specific_pct = Column(Numeric(8, 4), nullable=False, default=0)
    specific = Column(Numeric(18, 2), nullable=False, default=0)


class ProvisionBooking(Model):
    """月末计提: the voucher that brings 1304 贷款损失准备 to the required reserve for a month end."""

    __tablename__ = "provision_booking"
    id = Column(Integer, primary_key=True)
    period_end = Column(Date, nullable=False, unique=True)
    required = Column(Numeric(18, 2), nullable=False)
    booked_before = Column(Numeric(18, 2), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)     # + 计提, − 冲回
    voucher_id = Column(Integer, ForeignKey("voucher.id"))
    voucher = relationship("Voucher")
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser")
    created_at = Column(DateTime, nullable=False, default=datetime.now)
