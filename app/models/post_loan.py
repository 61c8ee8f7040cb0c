"""Post-loan management (贷后管理) and default management (违约管理).

- ``PostLoanTask``: a check to be done (首次跟踪检查 / 定期检查 / 专项检查), created at
  disbursement, by the nightly batch (overdue) or when collateral is flagged.
- ``PostLoanCheck``: what the officer found (贷后检查记录); completing a task = saving a check
  against it. Photos and documents are attachments (owner_type ``post_loan_check``).
- ``CompanyChange``: 企业信息变动 of a company customer, with a risk flag.
- ``PostLoanVisit``: 贷后回访, a light record per loan (CustomerVisit is a prospect's visit
  with a conversion life cycle, so it does not fit).
- ``LoanDefault`` and ``DefaultAction``: 小额贷款违约 and the collection steps taken.

``branch_id`` and ``officer_id`` are copied from the loan so the lists filter and scope
without a join; the nightly step keeps open tasks in line with the loan's officer.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import relationship

TASK_KINDS = {"first": "首次跟踪检查", "periodic": "定期检查", "special": "专项检查"}
TASK_STATUSES = {"open": "待检查", "done": "已完成", "cancelled": "已取消"}
TASK_CAUSES = {"schedule": "放款后按期", "overdue": "贷款逾期", "collateral": "抵质押物异常"}
CHECK_METHODS = {"onsite": "现场检查", "phone": "电话检查", "other": "其他"}
CHECK_CONCLUSIONS = {"normal": "正常", "attention": "关注", "risk": "风险"}
COLLATERAL_CONDITIONS = {"na": "无抵质押物", "normal": "正常", "impaired": "异常（减值、损毁、查封等）",
                         "lost": "灭失或失控"}
#: Conditions for which 抵质押物预警 (flag collateral) opens a special check.
BAD_COLLATERAL = ("impaired", "lost")
CHANGE_TYPES = {"legal_rep": "法定代表人变更", "shareholders": "股东变更", "address": "注册地址变更",
                "litigation": "涉诉", "other": "其他"}
VISIT_METHODS = {"onsite": "上门回访", "phone": "电话回访", "meeting": "约见面谈", "other": "其他"}
DEFAULT_STATUSES = {"open": "处置中", "resolved": "已结案"}
ACTION_KINDS = {"call": "电话催收", "letter": "催收函", "visit": "上门催收", "legal": "诉讼", "other": "其他"}


class PostLoanTask(Model):
    """贷后检查任务: one check due on a date, assigned to the loan's officer."""

    __tablename__ = "post_loan_task"
    __table_args__ = (
        Index("ix_post_loan_task_status_due", "status", "due_date"),
        Index("ix_post_loan_task_officer_status", "officer_id", "status"),
        # At most one open special check per loan: the nightly step and the collateral flag
        # both rely on it (a second trigger adds its reason to the open task instead).
        Index("uq_post_loan_task_open_special", "loan_id", unique=True,
              sqlite_where=text("kind = 'special' AND status = 'open'"),
              postgresql_where=text("kind = 'special' AND status = 'open'")),
    )
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    kind = Column(String(20), nullable=False, index=True)
    cause = Column(String(20), nullable=False, default="schedule")
    due_date = Column(Date, nullable=False, index=True)
    # The business date the task was opened (an overdue episode opens one special check).
    triggered_on = Column(Date, nullable=False)
    officer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    officer = relationship("AppUser", foreign_keys=[officer_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    status = Column(String(20), nullable=False, default="open", index=True)
    reason = Column(String(300))
    completed_on = Column(Date, index=True)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    check = relationship("PostLoanCheck", back_populates="task", uselist=False)

    @property
    def kind_label(self):
        return TASK_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self):
        return TASK_STATUSES.get(self.status, self.status)

    @property
    def cause_label(self):
        return TASK_CAUSES.get(self.cause, self.cause)

    @property
    def customer_name(self):
        return self.loan.customer.name if self.loan is not None else ""

    @property
    def state(self):
        """(status, due date): the list shows "overdue" from these and the business date."""
        return self.status, self.due_date

    @property
    def action(self):
        """(id, status): the list's "record check" button."""
        return self.id, self.status

    def is_overdue(self, as_of):
        return self.status == "open" and self.due_date < as_of

    def __str__(self):
        return f"{self.kind_label} {self.due_date}"


class PostLoanCheck(Model):
    """贷后检查记录: findings of one check; ``task`` is the task it completed (None: ad hoc)."""

    __tablename__ = "post_loan_check"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    task_id = Column(Integer, ForeignKey("post_loan_task.id"), unique=True)
    task = relationship("PostLoanTask", back_populates="check")
    checked_on = Column(Date, nullable=False, index=True)
    method = Column(String(20), nullable=False)
    business_operation = Column(Text, nullable=False)    # 经营情况
    use_of_funds = Column(Text, nullable=False)          # 资金用途
    collateral_condition = Column(String(20), nullable=False, default="na")
    collateral_notes = Column(Text)
    repayment_ability = Column(Text, nullable=False)     # 还款能力
    risk_signals = Column(Text)                          # 风险信号
    conclusion = Column(String(20), nullable=False, index=True)
    next_actions = Column(Text)
    checker_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    checker = relationship("AppUser", foreign_keys=[checker_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    # 抵质押物预警: when the bad collateral condition opened a special check.
    collateral_flagged_on = Column(Date)
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def method_label(self):
        return CHECK_METHODS.get(self.method, self.method)

    @property
    def conclusion_label(self):
        return CHECK_CONCLUSIONS.get(self.conclusion, self.conclusion)

    @property
    def collateral_label(self):
        return COLLATERAL_CONDITIONS.get(self.collateral_condition, self.collateral_condition)

    @property
    def collateral_is_bad(self):
        return self.collateral_condition in BAD_COLLATERAL

    @property
    def kind_label(self):
        return self.task.kind_label if self.task is not None else "临时检查"

    def __str__(self):
        return f"{self.checked_on} {self.kind_label}"


class CompanyChange(Model):
    """企业信息变动情况: one change of a company customer; ``is_flagged`` marks a risk."""

    __tablename__ = "company_change"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    change_type = Column(String(20), nullable=False, index=True)
    changed_on = Column(Date, nullable=False, index=True)
    old_value = Column(Text)
    new_value = Column(Text, nullable=False)
    source = Column(String(100), nullable=False)
    is_flagged = Column(Boolean, nullable=False, default=False, index=True)
    remarks = Column(Text)
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"))
    recorded_by = relationship("AppUser", foreign_keys=[recorded_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def change_type_label(self):
        return CHANGE_TYPES.get(self.change_type, self.change_type)

    @property
    def flag_label(self):
        return "风险" if self.is_flagged else ""

    def __str__(self):
        return f"{self.change_type_label} {self.changed_on}"


class PostLoanVisit(Model):
    """贷后回访: who was visited, how, what was said and the result."""

    __tablename__ = "post_loan_visit"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, index=True)
    loan = relationship("Loan")
    visited_on = Column(Date, nullable=False, index=True)
    person_visited = Column(String(100), nullable=False)
    method = Column(String(20), nullable=False)
    content = Column(Text, nullable=False)
    result = Column(Text, nullable=False)
    visitor_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    visitor = relationship("AppUser", foreign_keys=[visitor_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def method_label(self):
        return VISIT_METHODS.get(self.method, self.method)


class LoanDefault(Model):
    """小额贷款违约: a loan declared in default, and the collection actions taken."""

    __tablename__ = "loan_default"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, unique=True)
    loan = relationship("Loan")
    declared_on = Column(Date, nullable=False, index=True)
    reason = Column(Text, nullable=False)
    declared_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    declared_by = relationship("AppUser", foreign_keys=[declared_by_id])
    status = Column(String(20), nullable=False, default="open", index=True)
    resolved_on = Column(Date)
    resolution = Column(Text)
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    actions = relationship("DefaultAction", back_populates="default", cascade="all, delete-orphan",
                           order_by="DefaultAction.action_on")

    @property
    def status_label(self):
        return DEFAULT_STATUSES.get(self.status, self.status)

    @property
    def customer_name(self):
        return self.loan.customer.name if self.loan is not None else ""

    @property
    def officer(self):
        return self.loan.officer if self.loan is not None else None

    def __str__(self):
        return f"{self.loan.loan_no if self.loan else ''} 违约 {self.declared_on}"


class DefaultAction(Model):
    """违约处置措施: a call, letter, visit or legal step with its outcome and next step."""

    __tablename__ = "default_action"
    id = Column(Integer, primary_key=True)
    default_id = Column(Integer, ForeignKey("loan_default.id"), nullable=False, index=True)
    default = relationship("LoanDefault", back_populates="actions")
    action_on = Column(Date, nullable=False, index=True)
    kind = Column(String(20), nullable=False, index=True)
    description = Column(Text, nullable=False)
    outcome = Column(Text)
    next_step = Column(String(300))
    next_on = Column(Date)
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"))
    recorded_by = relationship("AppUser", foreign_keys=[recorded_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def kind_label(self):
        return ACTION_KINDS.get(self.kind, self.kind)
