"""五级分类: the portfolio by class, each loan's history, and manual assessments (五级人工评定).

A reviewer proposes a class with a reason; it goes through the ``classification`` workflow
(风控审查 → 总经理审批 by default). It may equal or be worse than the automatic floor, never
better (DOMAIN.md §5): checked when proposed and again when approved, since the floor may
have moved in between. An approved assessment sets ``Loan.manual_class`` and the class at
once (with a history row); the nightly batch then keeps the loan at max(floor, manual).
"""
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import select

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.domain.money import round_money
from app.extensions import db
from app.models import Installment, Loan
from app.models.risk import CLASS_LABELS, CLASSES, ClassificationAssessment, ClassificationChange, class_label
from app.services import batch, loans, settings, workflow

CONDITION_FIELDS = {"overdue_days": "逾期天数", "loan_amount": "贷款金额"}


def rank(code):
    return CLASSES.index(code)


def floor_of(loan):
    return batch.floor_class(loan.overdue_days or 0)


def check_proposal(loan, proposed):
    if proposed not in CLASSES:
        raise DomainError("请选择评定的分类", "proposed_class")
    if loan is None:
        raise DomainError("请选择项目", "loan")
    if loan.status != "active":
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，只有在贷项目可以评定五级分类", "loan")
    floor = floor_of(loan)
    if rank(proposed) < rank(floor):
        raise DomainError(
            f"项目 {loan.loan_no} 逾期 {loan.overdue_days} 天，自动分类下限为“{class_label(floor)}”；"
            f"人工评定只能等于或劣于下限，不能评为“{class_label(proposed)}”", "proposed_class")
    return floor


def propose(loan_id, proposed, reason, user):
    """Start an assessment through the approval flow; commits. Nothing is saved on error."""
    try:
        loan = db.session.get(Loan, loan_id) if loan_id else None
        if loan is not None and not loans.can_see(loan, user):
            raise DomainError("无权评定该项目", "loan")
        floor = check_proposal(loan, proposed)
        reason = (reason or "").strip()
        if len(reason) < 4:
            raise DomainError("请填写评定理由（至少 4 个字），说明依据", "reason")
        if db.session.execute(select(ClassificationAssessment.id).where(
                ClassificationAssessment.loan_id == loan.id, ClassificationAssessment.status == "pending")).first():
            raise DomainError(f"项目 {loan.loan_no} 已有审批中的五级分类评定，请等待审批结束", "loan")
        item = ClassificationAssessment(loan_id=loan.id, loan=loan, proposed_class=proposed, floor_class=floor,
                                        current_class=loan.classification, overdue_days=loan.overdue_days or 0,
                                        reason=reason, status="pending", proposed_by_id=user.id)
        db.session.add(item)
        db.session.flush()
        workflow.start("classification", item, user)
        db.session.commit()
        return item
    except Exception:
        db.session.rollback()
        raise


def _finished(item, status, user, opinion):
    if status != flow.APPROVED:
        item.status = "rejected" if status == flow.REJECTED else "cancelled"
        item.decided_on = settings.business_date()
        return
    loan = loans.lock(item.loan_id)
    check_proposal(loan, item.proposed_class)   # the floor may have moved while in approval
    item.status = "approved"
    item.decided_on = settings.business_date()
    loan.manual_class = item.proposed_class
    target = max(item.proposed_class, floor_of(loan), key=rank)
    if target != loan.classification:
        db.session.add(ClassificationChange(
            loan_id=loan.id, changed_on=item.decided_on, from_class=loan.classification, to_class=target,
            source="manual", overdue_days=loan.overdue_days or 0, assessment_id=item.id,
            reason=f"人工评定：{item.reason}"[:500], created_at=datetime.now()))
        loan.classification = target


def _link(item):
    try:
        return url_for("ClassificationAssessmentView.show", pk=item.id)
    except RuntimeError:
        return f"/classificationassessmentview/show/{item.id}"


workflow.register(workflow.BusinessType(
    code="classification", label="五级分类人工评定", model=ClassificationAssessment,
    context=lambda item: {"overdue_days": item.overdue_days, "loan_amount": item.loan.amount},
    title=lambda item: f"五级分类评定 {item.loan.loan_no} {item.loan.customer.name} → {item.proposed_label}",
    link=_link, branch_of=lambda item: item.loan.branch_id, on_finish=_finished, fields=CONDITION_FIELDS))


# -- reading ----------------------------------------------------------------------------
def portfolio(user):
    """[(code, label, count, balance, share %)] of active loans the user may see, plus totals."""
    balance = sa.func.coalesce(sa.func.sum(Installment.principal - Installment.principal_paid), 0)
    query = (select(Loan.classification, sa.func.count(sa.distinct(Loan.id)), balance)
             .select_from(Loan).join(Installment, Installment.loan_id == Loan.id)
             .where(Loan.status == "active", Installment.paid_off_on.is_(None)).group_by(Loan.classification))
    visible = loans.visible_condition(user)
    if visible is not None:
        query = query.where(visible)
    found = {code: (count, _money(amount)) for code, count, amount in db.session.execute(query)}
    total_count = sum(c for c, _ in found.values())
    total = sum((b for _, b in found.values()), _money(0))
    rows = []
    for code in CLASSES:
        count, amount = found.get(code, (0, _money(0)))
        share = (amount * 100 / total).quantize(_money("0.01")) if total else _money(0)
        rows.append({"code": code, "label": CLASS_LABELS[code], "count": count, "balance": amount, "share": share})
    return rows, {"count": total_count, "balance": total}


def _money(value):
    return round_money(Decimal(str(value)))


def history(loan_id):
    return db.session.execute(select(ClassificationChange).where(ClassificationChange.loan_id == loan_id)
                              .order_by(ClassificationChange.changed_on, ClassificationChange.id)).scalars().all()
