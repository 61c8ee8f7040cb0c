"""Credit lines: customer credit lines (授信) and bank credit lines granted to us (银行授信).

Usage is never stored: what a line has used (loans drawing on it) and what we have
borrowed from a bank (drawdowns less repayments) are SQL sums computed when needed
(app/services/credit_lines.py), so they cannot drift from the loans and records. Each bank
record is posted to the ledger as it is made (短期借款 / 存出保证金 / 财务费用 against the
bank account), so the trial balance and the fund accounts show the borrowing too.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Table, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

CREDIT_LINE_STATUSES = {
    "draft": "草稿", "in_approval": "审批中", "returned": "已退回", "rejected": "已否决",
    "active": "生效", "frozen": "冻结", "closed": "已关闭", "expired": "已到期",
}
#: A line in these statuses may still be changed by its applicant and submitted.
CREDIT_LINE_EDITABLE = ("draft", "returned")
BANK_LINE_STATUSES = {"active": "有效", "closed": "已终止"}
BANK_ENTRY_KINDS = {"drawdown": "借款（提款）", "repayment": "还款"}

# 授信适用产品: none listed means any product.
credit_line_product = Table(
    "credit_line_product", Model.metadata,
    Column("credit_line_id", Integer, ForeignKey("credit_line.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", Integer, ForeignKey("loan_product.id"), primary_key=True, index=True),
)


class CreditLine(Model):
    """客户授信: a limit granted to one customer for a period; loans draw on it.

    ``revolving`` (循环授信): a repaid loan gives its principal back to the line; a
    non-revolving line (一次性授信) is used up by every loan drawn on it.
    """

    __tablename__ = "credit_line"
    __table_args__ = (
        UniqueConstraint("line_no", name="uq_credit_line_no"),
        Index("ix_credit_line_customer_status", "customer_id", "status"),
    )
    id = Column(Integer, primary_key=True)
    line_no = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    # The customer's branch, copied at save: the data scope filters on it.
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    limit_amount = Column(Numeric(18, 2), nullable=False)      # 授信额度（元）
    start_date = Column(Date, nullable=False, index=True)
    end_date = Column(Date, nullable=False, index=True)
    revolving = Column(Boolean, nullable=False, default=True)
    status = Column(String(20), nullable=False, default="draft", index=True)
    remarks = Column(Text)
    status_reason = Column(String(300))                         # 冻结 / 关闭 的原因
    products = relationship("LoanProduct", secondary=credit_line_product, order_by="LoanProduct.id")
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    submitted_at = Column(DateTime)
    decided_at = Column(DateTime)
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self):
        return CREDIT_LINE_STATUSES.get(self.status, self.status)

    @property
    def kind_label(self):
        return "循环授信" if self.revolving else "一次性授信"

    @property
    def product_label(self):
        return "、".join(p.name for p in self.products) or "不限"

    @property
    def is_editable(self):
        return self.status in CREDIT_LINE_EDITABLE

    def __str__(self):
        return f"{self.line_no} {self.limit_amount:,.2f} 元" if self.limit_amount is not None else (self.line_no or "")


class BankCreditLine(Model):
    """银行授信: a credit line a bank granted to us; what we borrowed on it is the sum of its
    drawdowns less its repayments (BankDrawdown)."""

    __tablename__ = "bank_credit_line"
    id = Column(Integer, primary_key=True)
    bank_id = Column(Integer, ForeignKey("bank.id"), nullable=False, index=True)
    bank = relationship("Bank")
    contract_no = Column(String(50), index=True)                # 授信合同编号
    limit_amount = Column(Numeric(18, 2), nullable=False)
    start_date = Column(Date, nullable=False, index=True)
    end_date = Column(Date, nullable=False, index=True)
    annual_rate = Column(Numeric(12, 8), nullable=False)        # 年利率 %
    status = Column(String(20), nullable=False, default="active", index=True)
    remarks = Column(Text)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    entries = relationship("BankDrawdown", back_populates="line", order_by=lambda: (BankDrawdown.occurred_on, BankDrawdown.id))

    @property
    def status_label(self):
        return BANK_LINE_STATUSES.get(self.status, self.status)

    def __str__(self):
        bank = str(self.bank) if self.bank is not None else ""
        return f"{bank} {self.contract_no or ''}".strip()


class BankDrawdown(Model):
    """银行借款记录: one drawdown (提款) or repayment (还款) on a bank credit line. Amounts
    are positive; ``kind`` says which way the money went.

    ``margin_amount`` (保证金) is the margin deposit that moved with the record: paid to the
    bank with a drawdown (存出保证金), recovered from it with a repayment (收回保证金); what
    the bank still holds is their difference (未收回银行保证金). ``interest_amount`` is the
    interest paid to the bank with the record (支付银行利息). Both are zero when nothing moved."""

    __tablename__ = "bank_drawdown"
    __table_args__ = (
        Index("ix_bank_drawdown_line_date", "bank_credit_line_id", "occurred_on"),
        CheckConstraint("margin_amount >= 0 AND interest_amount >= 0", name="ck_bank_drawdown_margin_interest"),
    )
    id = Column(Integer, primary_key=True)
    bank_credit_line_id = Column(Integer, ForeignKey("bank_credit_line.id"), nullable=False)
    line = relationship("BankCreditLine", back_populates="entries")
    kind = Column(String(20), nullable=False, default="drawdown", index=True)
    amount = Column(Numeric(18, 2), nullable=False)
    occurred_on = Column(Date, nullable=False, index=True)
    due_date = Column(Date)                                     # 借款到期日 (drawdowns)
    margin_amount = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")    # 保证金 存出 / 收回
    interest_amount = Column(Numeric(18, 2), nullable=False, default=0, server_default="0")  # 支付利息
    remarks = Column(String(300))
    # The bank account the money went through and the voucher that posted it (短期借款,
    # 存出保证金, 财务费用 against the bank account). Empty only on records made before the
    # register was posted to the ledger (migration 0022).
    fund_account_id = Column(Integer, ForeignKey("fund_account.id", name="fk_bank_drawdown_fund_account"), index=True)
    fund_account = relationship("FundAccount")
    voucher_id = Column(Integer, ForeignKey("voucher.id", name="fk_bank_drawdown_voucher"), index=True)
    voucher = relationship("Voucher")
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def kind_label(self):
        return BANK_ENTRY_KINDS.get(self.kind, self.kind)
