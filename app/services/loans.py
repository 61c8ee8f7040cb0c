"""项目办理 use cases: draft a loan within its product, rebuild its schedule, fees and cost,
and submit it after the pre-submission checks (DOMAIN.md §2.4, §6, §7, §9).

``submit`` is the one entry point the workflow issue hooks into (``SUBMIT_HOOKS``): each
hook is called with (loan, user) after the checks passed and the status changed, inside
the same transaction.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from flask import g
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import bindparam, func, or_, select, true
from sqlalchemy.orm import joinedload, selectinload

from app.domain.cost import schedule_cost_rate
from app.domain.errors import DomainError
from app.domain.limits import check_concentration, check_ltv, check_range, check_rate_cap, fee_amount, ltv_pct  # noqa: F401 (ltv_pct re-exported)
from app.domain.money import ZERO
from app.domain.schedule import METHOD_LABELS, LoanTerms, generate_schedule
from app.extensions import db
from app.models import Customer
from app.models.loan import (
    EDITABLE_STATUSES, GUARANTEE_TYPES, Installment, Loan, LoanFee, LoanGrant, LoanStatusChange,
)
from app.services import customers as customer_service
from app.services import dictionaries, settings
from app.services.numbering import next_number
from app.services.schedule_preview import periods_per_year
from app.services.scope import can_see_branch, visible_branch_ids

# Loans not yet paid out count with their full amount towards concentration; active loans
# with their outstanding principal (what the borrower still owes).
COMMITTED_STATUSES = ("in_approval", "approved", "contracted", "disbursing", "ready_to_disburse")
SUBMIT_HOOKS = []
# Checks later modules add (e.g. the credit line a loan draws on, app/services/credit_lines.py):
# each is called with the loan at the end of ``check_terms`` (form, save, submission) and again
# when the loan approval ends approved (app/services/loan_approval.py); it raises DomainError.
LOAN_CHECKS = []


def run_loan_checks(loan):
    for check in LOAN_CHECKS:
        check(loan)


# -- product terms ---------------------------------------------------------------------
def terms_of(loan):
    product = loan.product
    return LoanTerms(
        principal=Decimal(loan.amount), annual_rate=Decimal(loan.annual_rate), term=int(loan.term),
        method=loan.method, start_date=loan.start_date, period=product.period, day_basis=product.day_basis,
        interest_by_days=product.interest_by_days, rounding=product.rounding, fixed_day=loan.fixed_day or None)


#: How far from the business date a loan's dates may lie: history may be entered (a
#: portfolio taken over), but not a typing error such as 1899 or 2206.
PAST_DAYS, FUTURE_DAYS = 3653, 366


def check_loan_date(value, label, field, future_days=FUTURE_DAYS):
    """``value`` within ten years before and ``future_days`` after the business date."""
    today = settings.business_date()
    if not today - timedelta(days=PAST_DAYS) <= value <= today + timedelta(days=future_days):
        raise DomainError(f"{label} {value} 超出合理范围（营业日期 {today} 前 10 年至后 1 年）", field)


def check_terms(loan):
    """The loan's own fields against its product and the dictionaries."""
    product = loan.product
    if product is None:
        raise DomainError("请选择贷款产品", "product")
    if not product.is_enabled:
        raise DomainError(f"贷款产品“{product.name}”已停用，请选择其他产品", "product")
    if loan.customer is None:
        raise DomainError("请选择借款客户", "customer")
    if not can_see_branch(loan.customer.branch_id) and not (loan.id and can_handle(loan, g.get("user"))):
        raise DomainError("只能为本机构的客户办理贷款", "customer")
    if loan.customer.status != "active":
        raise DomainError(f"客户“{loan.customer.name}”已停用，不能办理贷款", "customer")
    customer_service.ensure_not_blacklisted(loan.customer)
    if loan.amount is None or loan.amount <= 0:
        raise DomainError("贷款金额必须大于 0", "amount")
    if loan.amount != Decimal(loan.amount).quantize(Decimal("0.01")):
        raise DomainError("贷款金额最多两位小数（精确到分）", "amount")
    check_range(Decimal(loan.amount), product.min_amount, product.max_amount, "贷款金额", "amount", " 元")
    if loan.term is None:
        raise DomainError("请填写期限", "term")
    unit = " 个月" if product.period == "month" else " 天"
    check_range(int(loan.term), product.min_term, product.max_term, "期限", "term", unit)
    if loan.annual_rate is None:
        raise DomainError("请填写年利率", "annual_rate")
    check_range(Decimal(loan.annual_rate), product.min_rate, product.max_rate, "年利率", "annual_rate", "%")
    if loan.method not in product.method_list:
        allowed = "、".join(METHOD_LABELS.get(m, m) for m in product.method_list)
        raise DomainError(f"产品“{product.name}”不支持该还款方式，可选：{allowed}", "method")
    if loan.fixed_day:
        if not product.fixed_day_allowed:
            raise DomainError(f"产品“{product.name}”不允许设置固定还款日", "fixed_day")
        if not 1 <= int(loan.fixed_day) <= 28:
            raise DomainError("固定还款日应在 1 至 28 日之间", "fixed_day")
    if loan.start_date is None:
        raise DomainError("请填写放款日期", "start_date")
    check_loan_date(loan.start_date, "放款日期", "start_date")
    if not loan.purpose:
        raise DomainError("请选择贷款用途", "purpose")
    purpose = dictionaries.item("loan_purpose", loan.purpose)
    if purpose is None:
        raise DomainError(f"贷款用途“{loan.purpose}”不在字典中", "purpose")
    if purpose.extra == "forbidden":
        raise DomainError(f"贷款用途“{purpose.label}”属于禁止类用途（证券、期货、股权投资、归还他行贷款等），不能办理",
                          "purpose")
    types = loan.guarantee_list
    if not types or any(t not in GUARANTEE_TYPES for t in types):
        raise DomainError("请选择担保方式（信用、保证、抵押、质押，可多选）", "guarantee_types")
    if "unsecured" in types and len(types) > 1:
        raise DomainError("信用方式不能与保证、抵押、质押同时选择", "guarantee_types")
    if product.guarantee_required and types == ["unsecured"]:
        raise DomainError(f"产品“{product.name}”要求提供担保，不能选择信用方式", "guarantee_types")
    run_loan_checks(loan)


# -- draft -----------------------------------------------------------------------------
def save_draft(loan, user, product_changed=False):
    """Validate a new or edited draft, number it, copy the product's fees and rebuild the
    schedule and cost. The caller commits (FAB's datamodel does, for forms)."""
    if loan.id and loan.status not in EDITABLE_STATUSES:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能修改；如需变更请走变更流程")
    check_terms(loan)
    if loan.officer is None and loan.officer_id is None:
        loan.officer = user
    loan.branch_id = loan.customer.branch_id
    loan.status = loan.status or "draft"
    if not loan.loan_no:
        loan.loan_no = next_number(settings.get("loan_no_prefix") or "DK", settings.business_date())
        loan.created_by_id = getattr(user, "id", None)
        db.session.add(loan)
        db.session.flush()
        record_status(loan, None, "draft", user, "新建项目")
    if product_changed:
        loan.fees.clear()
    if not loan.fees:
        for fee in loan.product.fees:
            loan.fees.append(LoanFee(fee_type=fee.fee_type, basis=fee.basis, value=fee.value, timing=fee.timing,
                                     account=fee.account, amount=ZERO))
    rebuild(loan)
    return loan


def rebuild(loan):
    """Fees in yuan, the draft schedule, collateral LTVs and the annualised cost."""
    for fee in loan.fees:
        fee.amount = fee_amount(fee.basis, Decimal(fee.value), Decimal(loan.amount))
    terms = terms_of(loan)
    rows = generate_schedule(terms)
    loan.installments[:] = []
    db.session.flush()
    for row in rows:
        loan.installments.append(Installment(
            seq=row.seq, start_date=row.start_date, due_date=row.due_date, principal=row.principal,
            interest=row.interest, total=row.total, balance=row.balance))
    for item in loan.collaterals:
        item.ltv_pct = ltv_pct(loan.amount, item.appraised_value) if item.appraised_value else None
    loan.cost_rate = cost_rate(loan, rows, terms)
    return rows


def cost_rate(loan, rows=None, terms=None):
    """综合年化成本 with every fee: upfront ones at period 0, per-period ones each period."""
    terms = terms or terms_of(loan)
    rows = rows or generate_schedule(terms)
    upfront = sum((f.amount for f in loan.fees if f.timing in ("at_application", "at_disbursement")), ZERO)
    # a per-period fee counts once per period: its rule, or the first installment's row
    per_period = sum((f.amount for f in loan.fees if f.timing == "per_period" and f.installment_seq in (None, 1)),
                     ZERO)
    if per_period:
        rows = [type(r)(seq=r.seq, start_date=r.start_date, due_date=r.due_date, principal=r.principal,
                        interest=r.interest, total=r.total + per_period, balance=r.balance) for r in rows]
    try:
        return schedule_cost_rate(rows, terms.principal, upfront, periods_per_year(terms, rows))
    except DomainError:
        return None


_LOCK_QUERIES = {}


def lock_query(installments=selectinload):
    """The locking SELECT of ``lock`` (bound parameter ``loan_id``), with the installments
    loaded by ``installments`` (``lazyload``: the caller reads them itself). Built once per
    dialect and loader: compiled once, its cache key memoized."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    query = _LOCK_QUERIES.get((postgres, installments))
    if query is None:
        query = (select(Loan).where(Loan.id == bindparam("loan_id"))
                 .options(joinedload(Loan.product), joinedload(Loan.customer).load_only(Customer.name),
                          installments(Loan.installments))
                 .execution_options(populate_existing=True))
        if postgres:
            query = query.with_for_update(of=Loan)
        _LOCK_QUERIES[(postgres, installments)] = query
    return query


def lock(loan_id):
    """The loan, re-read and locked for this transaction (SELECT … FOR UPDATE OF loan on
    PostgreSQL; SQLite serialises writers): every money movement on a loan goes through here
    first, so two clerks posting at once take turns instead of double-counting.

    What a posting reads comes with it, re-read after the lock: the product and the
    customer's name joined into the locking statement (only the loan row is locked), the
    installments by a second SELECT that runs once the lock is held."""
    loan = db.session.execute(lock_query(), {"loan_id": loan_id}).unique().scalar_one_or_none()
    if loan is None:
        raise DomainError("项目不存在")
    return loan


def record_status(loan, from_status, to_status, user, comment=None):
    db.session.add(LoanStatusChange(loan_id=loan.id, from_status=from_status, to_status=to_status,
                                    user_id=getattr(user, "id", None), comment=comment))


# -- submit ----------------------------------------------------------------------------
def submit(loan, user):
    """Run every pre-submission check; on success the loan goes to 审批中 (in approval).

    Each failure raises DomainError naming the rule and the numbers and leaves the loan in
    draft. Warnings (4 × LPR) are stored on the loan and in its status history.
    """
    if loan.status not in EDITABLE_STATUSES:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能提交")
    if not can_handle(loan, user):
        raise DomainError("只有项目的客户经理或被授权办理的用户可以提交")
    check_terms(loan)
    check_guarantees(loan)
    rebuild(loan)
    warning = check_cost(loan)
    check_loan_concentration(loan)
    missing = customer_service.missing_materials(loan.customer)
    if missing:
        raise DomainError(f"客户资料不全，缺少：{'、'.join(missing)}。请在客户视图的“资料”中上传后再提交", "materials")
    before = loan.status
    loan.status = "in_approval"
    loan.submitted_at = datetime.now()
    loan.warnings = warning
    record_status(loan, before, "in_approval", user, "提交审批" + (f"；提示：{warning}" if warning else ""))
    for hook in SUBMIT_HOOKS:
        hook(loan, user)
    db.session.commit()
    return warning


def check_guarantees(loan):
    types = loan.guarantee_list
    if "guarantee" in types and not loan.guarantors:
        raise DomainError("担保方式含“保证”，请至少添加一名保证人", "guarantors")
    for kind, label in (("mortgage", "抵押"), ("pledge", "质押")):
        if kind in types and not [c for c in loan.collaterals if c.kind == kind]:
            raise DomainError(f"担保方式含“{label}”，请至少添加一项{label}物", "collateral")
    items = [c for c in loan.collaterals if c.kind in types]
    if items:
        check_ltv(Decimal(loan.amount), [
            (c.name, dictionaries.label_of("collateral_type", c.collateral_type), Decimal(c.appraised_value),
             max_ltv(loan.product, c.collateral_type)) for c in items])


def max_ltv(product, collateral_type):
    """The product's limit for this collateral type, else the system parameter."""
    for limit in product.ltv_limits:
        if limit.collateral_type == collateral_type:
            return Decimal(limit.max_ltv_pct)
    item = dictionaries.item("collateral_type", collateral_type)
    key = item.extra if item is not None and item.extra else "ltv_max_other_pct"
    return Decimal(settings.get(key))


def check_cost(loan):
    if loan.cost_rate is None:
        raise DomainError("无法计算综合年化成本（请检查利率、期限和费用），不能提交", "annual_rate")
    lpr = settings.lpr_on(loan.start_date)
    return check_rate_cap(Decimal(loan.cost_rate), Decimal(settings.get("rate_cap_pct")),
                          Decimal(lpr.rate_1y) if lpr else None, Decimal(settings.get("lpr_warning_multiple")))


def committed_amount(customer_ids, exclude_loan_id=None):
    if not customer_ids:
        return ZERO
    others = [Loan.customer_id.in_(customer_ids), Loan.id != (exclude_loan_id or 0)]
    pending = db.session.execute(select(func.coalesce(func.sum(Loan.amount), 0)).where(
        Loan.status.in_(COMMITTED_STATUSES), *others)).scalar()
    outstanding = db.session.execute(
        select(func.coalesce(func.sum(Installment.principal - Installment.principal_paid), 0))
        .join(Loan, Loan.id == Installment.loan_id).where(Loan.status == "active", *others)).scalar()
    return (Decimal(pending) + Decimal(outstanding)).quantize(Decimal("0.01"))


def check_loan_concentration(loan):
    net_assets = Decimal(settings.get("net_assets"))
    related = customer_service.related_customer_ids(loan.customer_id)
    check_concentration(
        Decimal(loan.amount), committed_amount([loan.customer_id], loan.id), committed_amount(related, loan.id),
        net_assets, Decimal(settings.get("single_borrower_limit_pct")),
        Decimal(settings.get("related_party_limit_pct")))


# -- access: data scope plus grants ------------------------------------------------------
def granted_loan_ids(user, level=None):
    today = settings.business_date()
    query = select(LoanGrant.loan_id).where(
        LoanGrant.user_id == getattr(user, "id", 0), LoanGrant.revoked.is_(False), LoanGrant.expires_on >= today)
    if level == "handle":
        query = query.where(LoanGrant.level == "handle")
    return query


def visible_condition(user=None):
    """SQL condition: loans of the user's branches, or granted to the user."""
    from flask import g

    user = user or g.get("user")
    ids = visible_branch_ids(user)
    if ids is None:
        return None
    return or_(Loan.branch_id.in_(ids), Loan.id.in_(granted_loan_ids(user)))


def visible_ids(user=None):
    """SELECT of the ids of the loans the user may see (for FAB's FilterInFunction)."""
    condition = visible_condition(user)
    return select(Loan.id).where(condition if condition is not None else true())


class LoanScopeFilter(BaseFilter):
    """FAB base filter on a column holding a loan id (receipts, classification history …):
    ``base_filters = [["loan_id", LoanScopeFilter, None]]``. No condition at all for a user
    who sees every branch. On SQLite a page's query compares the column as ``loan_id + 0``:
    the list is shown newest first, and SQLite otherwise reads every row of every loan in
    scope through the loan_id index and sorts them before taking the page (0.63 s for 981,399
    receipts); with the index out of the way it walks the rows in the list's order and stops
    at the page. The count (``AppInterface.query_count`` sets ``g.list_count``) keeps the
    index, which counts faster. PostgreSQL's planner chooses for itself."""

    name = "数据权限"
    arg_name = None

    def apply(self, query, value):
        condition = visible_condition()
        if condition is None:
            return query
        column = getattr(self.model, self.column_name)
        if db.session.get_bind().dialect.name == "sqlite" and not g.get("list_count"):
            column = column + 0
        return query.filter(column.in_(select(Loan.id).where(condition)))


def can_see(loan, user=None):
    from flask import g

    user = user or g.get("user")
    if can_see_branch(loan.branch_id, user):
        return True
    return db.session.execute(granted_loan_ids(user).where(LoanGrant.loan_id == loan.id)).first() is not None


def can_handle(loan, user):
    if getattr(user, "id", None) == loan.officer_id or _is_admin(user):
        return True
    if db.session.execute(granted_loan_ids(user, "handle").where(LoanGrant.loan_id == loan.id)).first():
        return True
    return can_see_branch(loan.branch_id, user) and visible_branch_ids(user) is None


def _is_admin(user):
    from flask import current_app

    return any(role.name == current_app.appbuilder.sm.auth_role_admin for role in getattr(user, "roles", []))


def check_grant(row, user):
    """Validate a new 项目授权 in place (form, API, ``grant``)."""
    loan = row.loan
    if loan is None:
        raise DomainError("请选择项目", "loan")
    if not can_handle(loan, user):
        raise DomainError("只有项目的客户经理、被授权办理的用户或管理员可以授权他人", "loan")
    if row.user is None:
        raise DomainError("请选择被授权人", "user")
    if row.user.id == loan.officer_id:
        raise DomainError("被授权人已是该项目的客户经理，无需授权", "user")
    if row.level not in ("view", "handle"):
        raise DomainError("授权类型应为查看或办理", "level")
    if row.expires_on is None or row.expires_on < settings.business_date():
        raise DomainError("授权到期日不能早于营业日期", "expires_on")
    row.granted_by_id = getattr(user, "id", None)


def grant(loan, grantee, level, expires_on, user, remarks=None):
    row = LoanGrant(loan=loan, user=grantee, level=level, expires_on=expires_on, remarks=remarks)
    check_grant(row, user)
    db.session.add(row)
    db.session.commit()
    return row


def search(term, limit=20, user=None):
    """Loans in scope (and granted) whose number or customer name matches: AJAX pickers."""
    term = (term or "").strip()
    if not term:
        return []
    query = select(Loan).join(Customer, Customer.id == Loan.customer_id).where(
        or_(Loan.loan_no.like(f"{term}%"), Customer.name.like(f"%{term}%"))).order_by(Loan.loan_no.desc()).limit(limit)
    condition = visible_condition(user)
    if condition is not None:
        query = query.where(condition)
    return db.session.execute(query).scalars().all()



def _register_attachment_owner():
    from app.services.attachments import register_owner

    register_owner("loan", "项目", Loan, lambda loan: loan.branch_id)


_register_attachment_owner()
