"""贷款服务: the payout of a loan (放款). Repayments, prepayments and extensions follow."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import relationship


class Disbursement(Model):
    """放款: one payout per loan, always the full contract principal (禁止砍头息)."""

    __tablename__ = "disbursement"
    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loan.id"), nullable=False, unique=True)
    loan = relationship("Loan")
    amount = Column(Numeric(18, 2), nullable=False)
    disbursed_on = Column(Date, nullable=False, index=True)
    fund_account_id = Column(Integer, ForeignKey("fund_account.id"), nullable=False)
    fund_account = relationship("FundAccount")
    receiving_bank = Column(String(100), nullable=False)
    receiving_account_name = Column(String(100), nullable=False)
    receiving_account_no = Column(String(40), nullable=False)
    voucher_id = Column(Integer, ForeignKey("voucher.id"), nullable=False)
    voucher = relationship("Voucher")
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser")
    created_at = Column(DateTime, default=datetime.now, nullable=False)
