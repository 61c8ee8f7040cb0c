"""放款: pay out an approved loan. One transaction: the schedule is rebuilt from the payout
date and frozen, the voucher Dr 贷款本金 / Cr 银行存款 (or cash) is posted, the loan becomes
在贷, and the 借据 and 放款单 are generated. The amount is always the contract principal."""
import re

from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.loan import Loan
from app.models.servicing import Disbursement
from app.services import contracts, ledger, loans, settings

LOAN_PRINCIPAL = "1301"


def _locked_loan(loan_id):
    query = select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    loan = db.session.execute(query).scalar_one_or_none()
    if loan is None:
        raise DomainError("项目不存在")
    return loan


def disburse(loan_id, user, fund_account, disbursed_on, receiving_bank, receiving_account_name,
             receiving_account_no):
    """Record the payout; commits. Returns the Disbursement."""
    loan = _locked_loan(loan_id)
    if loan.status != "ready_to_disburse":
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，放款审批通过后才能放款")
    if fund_account is None or not fund_account.is_active or fund_account.kind not in ("cash", "bank"):
        raise DomainError("请选择放款的现金或银行账户", "fund_account")
    today = settings.business_date()
    if disbursed_on is None:
        raise DomainError("请填写放款日期", "disbursed_on")
    if disbursed_on > today:
        raise DomainError(f"放款日期 {disbursed_on} 不能晚于营业日期 {today}", "disbursed_on")
    for value, label, field in ((receiving_bank, "收款开户行", "receiving_bank"),
                                (receiving_account_name, "收款户名", "receiving_account_name")):
        if not (value or "").strip():
            raise DomainError(f"请填写{label}", field)
    account_no = re.sub(r"\s", "", receiving_account_no or "")
    if not re.fullmatch(r"\d{8,30}", account_no):
        raise DomainError("收款账号应为 8 至 30 位数字", "receiving_account_no")
    balance = ledger.fund_balance(fund_account)
    if balance < loan.amount:
        raise DomainError(f"资金账户“{fund_account.name}”余额 {balance:,.2f} 元不足以放款 {loan.amount:,.2f} 元",
                          "fund_account")
    # The schedule counts from the real payout date (DOMAIN.md §2.2) and is frozen from now on.
    loan.start_date = disbursed_on
    loans.rebuild(loan)
    voucher = ledger.post(
        f"放款 {loan.loan_no} {loan.customer.name}",
        [ledger.Line(LOAN_PRINCIPAL, debit=loan.amount, loan_id=loan.id, memo="贷款本金"),
         ledger.Line(fund_account.ledger_account, credit=loan.amount, fund_account=fund_account,
                     memo=f"付 {receiving_account_name} {account_no}")],
        user, business_date=disbursed_on, source=("disbursement", loan.id))
    payout = Disbursement(loan_id=loan.id, amount=loan.amount, disbursed_on=disbursed_on,
                          fund_account_id=fund_account.id, receiving_bank=receiving_bank.strip(),
                          receiving_account_name=receiving_account_name.strip(), receiving_account_no=account_no,
                          voucher_id=voucher.id, created_by_id=getattr(user, "id", None))
    db.session.add(payout)
    before = loan.status
    loan.status = "active"
    loans.record_status(loan, before, "active", user, f"放款 {loan.amount:,.2f} 元，凭证 {voucher.voucher_no}")
    contracts.generate_stage(loan, "disbursement", user)  # 借据, 放款单
    db.session.commit()
    return payout
