"""放款: pay out an approved loan. One transaction: the schedule is rebuilt from the payout
date and frozen, the voucher Dr 贷款本金 / Cr 银行存款 (or cash) is posted, the loan becomes
在贷, and the 借据 and 放款单 are generated. The amount is always the contract principal."""
import re

from app.domain.errors import DomainError
from app.extensions import db
from app.models.servicing import Disbursement
from app.services import contracts, dictionaries, fees, ledger, loans, settings
from app.services.repayments import CONTROL_CHARS

LOAN_PRINCIPAL = "1301"


def fee_receivables(loan, disbursed_on):
    """Fees due at application or disbursement become receivable on the payout day (never
    deducted from it, DOMAIN.md §2.3): income fees Dr 其他应收款 / Cr 手续费及佣金收入;
    deposits (保证金) are a liability only once received, so they are just marked due."""
    lines = []
    for fee in loan.fees:
        if fee.timing in ("at_application", "at_disbursement") and fee.amount > 0:
            fee.due_on = disbursed_on
            if fee.account == "income":
                lines += [ledger.Line(ledger.OTHER_RECEIVABLES, debit=fee.amount, loan_id=loan.id,
                                      memo="应收" + dictionaries.label_of("fee_type", fee.fee_type)),
                          ledger.Line(ledger.FEE_INCOME, credit=fee.amount, loan_id=loan.id,
                                      memo=dictionaries.label_of("fee_type", fee.fee_type))]
    return lines


# Called as (loan, payout, user) inside the payout's transaction (e.g. post-loan tasks, #9).
DISBURSED_HOOKS = []


def disburse(loan_id, user, fund_account, disbursed_on, receiving_bank, receiving_account_name,
             receiving_account_no):
    """Record the payout; commits. Returns the Disbursement."""
    loan = loans.lock(loan_id)
    if loan.status != "ready_to_disburse":
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，放款审批通过后才能放款")
    if fund_account is None or not fund_account.is_active or fund_account.kind not in ("cash", "bank"):
        raise DomainError("请选择放款的现金或银行账户", "fund_account")
    today = settings.business_date()
    if disbursed_on is None:
        raise DomainError("请填写放款日期", "disbursed_on")
    if disbursed_on > today:
        raise DomainError(f"放款日期 {disbursed_on} 不能晚于营业日期 {today}", "disbursed_on")
    loans.check_loan_date(disbursed_on, "放款日期", "disbursed_on")
    for value, label, field in ((receiving_bank, "收款开户行", "receiving_bank"),
                                (receiving_account_name, "收款户名", "receiving_account_name")):
        if not (value or "").strip():
            raise DomainError(f"请填写{label}", field)
        if len(value.strip()) > 100:
            raise DomainError(f"{label}不能超过 100 个字", field)
        if CONTROL_CHARS.search(value):
            raise DomainError(f"{label}不能包含控制字符", field)
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
    fees.sync_period_fees(loan)     # 每期费用: one row per installment, receivable when due
    voucher = ledger.post(
        f"放款 {loan.loan_no} {loan.customer.name}",
        [ledger.Line(LOAN_PRINCIPAL, debit=loan.amount, loan_id=loan.id, memo="贷款本金"),
         ledger.Line(fund_account.ledger_account, credit=loan.amount, fund_account=fund_account,
                     memo=f"付 {receiving_account_name} {account_no}")] + fee_receivables(loan, disbursed_on),
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
    for hook in DISBURSED_HOOKS:
        hook(loan, payout, user)
    db.session.commit()
    return payout
