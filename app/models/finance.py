"""财务管理: the chart of accounts (科目), fund accounts (资金账户), vouchers (凭证) and their
journal lines (分录): a double-entry ledger.

Vouchers are written only by ``app.services.ledger`` and are never edited or deleted: a
mistake is corrected by a reversing voucher (冲销). The listeners at the bottom refuse an
update or a delete at flush time, whoever tries; the database refuses a line that is not
positive on exactly one side (``ck_journal_line_one_side``).
"""
from datetime import datetime
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
    UniqueConstraint, event, inspect, text,
)
from sqlalchemy.orm import relationship

from app.domain.errors import DomainError

ACCOUNT_CATEGORIES = {
    "asset": "资产", "liability": "负债", "equity": "所有者权益", "income": "损益（收入）",
    "expense": "损益（费用）",
}
NORMAL_SIDES = {"debit": "借", "credit": "贷"}
FUND_KINDS = {"cash": "现金", "bank": "银行存款", "capital": "股金"}


class LedgerAccount(Model):
    """科目: a node of the chart of accounts. Lines are posted to leaf accounts only; the
    balance of a parent is the balance of its subtree."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("code", name="uq_ledger_account_code"),
        CheckConstraint("category IN ('asset', 'liability', 'equity', 'income', 'expense')",
                        name="ck_ledger_account_category"),
        CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_ledger_account_normal_side"),
    )
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False)
    name = Column(String(100), nullable=False)
    category = Column(String(20), nullable=False, index=True)
    normal_side = Column(String(10), nullable=False)
    parent_id = Column(Integer, ForeignKey("ledger_account.id", name="fk_ledger_account_parent"), index=True)
    parent = relationship("LedgerAccount", remote_side=[id], back_populates="children")
    children = relationship("LedgerAccount", back_populates="parent", order_by="LedgerAccount.code")
    is_active = Column(Boolean, nullable=False, default=True)
    remarks = Column(String(300))

    @property
    def category_label(self):
        return ACCOUNT_CATEGORIES.get(self.category, self.category)

    @property
    def normal_side_label(self):
        return NORMAL_SIDES.get(self.normal_side, self.normal_side)

    def __str__(self):
        return f"{self.code} {self.name}"


class FundAccount(Model):
    """资金账户: a cash box, a bank account or the shareholders' capital, each tied to its
    ledger account (1001, 1002, 4001); its balance is the sum of the lines that name it."""

    __tablename__ = "fund_account"
    __table_args__ = (
        UniqueConstraint("name", name="uq_fund_account_name"),
        CheckConstraint("kind IN ('cash', 'bank', 'capital')", name="ck_fund_account_kind"),
    )
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False, index=True)
    ledger_account_id = Column(Integer, ForeignKey("ledger_account.id", name="fk_fund_account_ledger_account"),
                               nullable=False, index=True)
    ledger_account = relationship("LedgerAccount")
    bank_name = Column(String(100))
    account_no = Column(String(40))
    is_active = Column(Boolean, nullable=False, default=True)
    remarks = Column(String(300))
    # Σ debit − credit of the committed lines naming this account, kept by the ledger in the
    # posting transaction (see Loan.principal_balance); the balance itself is signed by the
    # ledger account's normal side.
    posted_net = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")

    @property
    def kind_label(self):
        return FUND_KINDS.get(self.kind, self.kind)

    @property
    def balance(self):
        """The balance now: filled in for a whole list page by one aggregate query (see
        FundAccountInterface in app/views/finance.py), else asked of the ledger service."""
        cached = self.__dict__.get("_live_balance")
        if cached is not None:
            return cached
        from app.services.ledger import fund_balance

        return fund_balance(self)

    def __str__(self):
        return self.name


class Voucher(Model):
    """凭证: a balanced set of journal lines posted on one business date."""

    __tablename__ = "voucher"
    __table_args__ = (
        UniqueConstraint("voucher_no", name="uq_voucher_voucher_no"),
        # A voucher is reversed at most once (NULLs do not collide).
        UniqueConstraint("reversal_of_id", name="uq_voucher_reversal_of_id"),
        Index("ix_voucher_source", "source_type", "source_id"),
    )
    id = Column(Integer, primary_key=True)
    voucher_no = Column(String(20), nullable=False)
    business_date = Column(Date, nullable=False, index=True)
    description = Column(String(200), nullable=False, index=True)
    source_type = Column(String(40))
    source_id = Column(Integer, index=True)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", name="fk_voucher_created_by"), index=True)
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, nullable=False, default=datetime.now, index=True)
    reversal_of_id = Column(Integer, ForeignKey("voucher.id", name="fk_voucher_reversal_of"))
    reversal_of = relationship("Voucher", remote_side=[id], foreign_keys=[reversal_of_id])
    reversed_by = relationship("Voucher", primaryjoin="Voucher.id == foreign(Voucher.reversal_of_id)",
                               uselist=False, viewonly=True)
    reason = Column(Text)
    lines = relationship("JournalLine", back_populates="voucher", order_by="JournalLine.id")

    @property
    def amount(self):
        """金额 (Σ debit = Σ credit): filled in for a list page by one grouped query
        (VoucherInterface in app/views/finance.py), else summed from the lines."""
        cached = self.__dict__.get("_amount")
        if cached is not None:
            return cached
        return sum((line.debit for line in self.lines), Decimal("0.00"))

    @property
    def source(self):
        if not self.source_type:
            return ""
        return f"{self.source_type}#{self.source_id}" if self.source_id is not None else self.source_type

    def __str__(self):
        return self.voucher_no


class JournalLine(Model):
    """分录: one side of a voucher; exactly one of debit and credit is positive."""

    __tablename__ = "journal_line"
    __table_args__ = (
        CheckConstraint("(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)",
                        name="ck_journal_line_one_side"),
        Index("ix_journal_line_account_voucher", "account_id", "voucher_id"),
        Index("ix_journal_line_loan_account", "loan_id", "account_id"),
    )
    id = Column(Integer, primary_key=True)
    voucher_id = Column(Integer, ForeignKey("voucher.id", name="fk_journal_line_voucher"), nullable=False,
                        index=True)
    voucher = relationship("Voucher", back_populates="lines")
    account_id = Column(Integer, ForeignKey("ledger_account.id", name="fk_journal_line_account"), nullable=False)
    account = relationship("LedgerAccount")
    fund_account_id = Column(Integer, ForeignKey("fund_account.id", name="fk_journal_line_fund_account"),
                             index=True)
    fund_account = relationship("FundAccount")
    # Indexed by ix_journal_line_loan_account (loan_id first).
    loan_id = Column(Integer, ForeignKey("loan.id", name="fk_journal_line_loan"))
    loan = relationship("Loan")
    debit = Column(Numeric(18, 2), nullable=False, default=0)
    credit = Column(Numeric(18, 2), nullable=False, default=0)
    memo = Column(String(200), index=True)

    @property
    def business_date(self):
        return self.voucher.business_date if self.voucher else None



class MonthEndSnapshot(Model):
    """月末余额快照: one month end whose per-loan balances (``LoanMonthBalance``) are written,
    with their totals (what an unscoped report reads without touching the rows)."""

    __tablename__ = "month_end_snapshot"
    month_end = Column(Date, primary_key=True)
    loans = Column(Integer, nullable=False, default=0)
    principal = Column(Numeric(18, 2), nullable=False, default=0)
    overdue_loans = Column(Integer, nullable=False, default=0)
    overdue_principal = Column(Numeric(18, 2), nullable=False, default=0)
    created_at = Column(DateTime, default=datetime.now, nullable=False)

class MonthFundFlow(Model):
    """收支 of a locked month per cash or bank fund account, frozen with its month end
    (``app.services.month_end``): kind "all" holds the account's own lines (in = debits, out =
    credits, and their count), the other kinds the 收支汇总统计 split (reports.finance.KINDS)."""

    __tablename__ = "month_fund_flow"
    month_end = Column(Date, primary_key=True)
    fund_account_id = Column(Integer, ForeignKey("fund_account.id", name="fk_month_fund_flow_fund_account"),
                             primary_key=True, autoincrement=False)
    kind = Column(String(20), primary_key=True)
    money_in = Column(Numeric(18, 2), nullable=False, default=0)
    money_out = Column(Numeric(18, 2), nullable=False, default=0)
    lines = Column(Integer, nullable=False, default=0)

class LoanMonthBalance(Model):
    """月末余额: a loan's principal outstanding (1301) at the end of a month that is locked
    (on or before the latest closed period's end, so no voucher can change it any more), and
    whether it was overdue then (an installment due before the day and not paid off by it).
    Written by ``app.services.month_end`` at period close and by the nightly batch, deleted
    when a period is reopened; the reports read it instead of a year of journal lines. Only
    loans with a balance other than zero at the day have a row."""

    __tablename__ = "loan_month_balance"
    __table_args__ = (
        Index("ix_loan_month_balance_overdue", "month_end", "loan_id", "principal",
              postgresql_where=text("overdue"), sqlite_where=text("overdue")),
    )
    month_end = Column(Date, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id", name="fk_loan_month_balance_loan"), primary_key=True,
                     autoincrement=False)
    principal = Column(Numeric(18, 2), nullable=False)
    overdue = Column(Boolean, nullable=False, default=False)

# -- vouchers are immutable ------------------------------------------------------------
def _changed_columns(target):
    state = inspect(target)
    return [attr.key for attr in state.mapper.column_attrs
            if state.attrs[attr.key].history.has_changes()]


@event.listens_for(Voucher, "before_update")
@event.listens_for(JournalLine, "before_update")
def _refuse_update(mapper, connection, target):
    if _changed_columns(target):
        raise DomainError("凭证记账后不能修改；如有错误，请冲销后重新记账")


@event.listens_for(Voucher, "before_delete")
@event.listens_for(JournalLine, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DomainError("凭证记账后不能删除；如有错误，请冲销后重新记账")
