"""档案借阅 and 抵质押物提取: the requests that go through an approval before the archivist
moves anything.

Borrowing (业务档案借阅审批表)::

    request (items, purpose, expected return date) → 审批中 → the ``archive_borrowing`` workflow
    → 待出借 / 已退回 / 已否决 → the archivist lends (出库, items 借出) → 借出中
    → the return is recorded (入库, items 在库; several returns allowed) → 已归还

Overdue borrowings (lent items not back after the expected return date) are listed and
reminded to the borrower once a day (reminder kind ``archive_borrowing_due``).

Collateral withdrawal (抵质押物提取审批表 / 中止审批)::

    draft (proposed at settlement, or requested) → submit → 审批中 → the
    ``collateral_withdrawal`` workflow → 待提取 → the archivist hands it over (出库: the item is
    已退还 for 解押 / 置换, 出库 for a temporary purpose) → 已提取
    any time before execution: 中止 with a reason (a running approval is closed); a suspended
    withdrawal may be submitted again or cancelled.

At a loan's settlement (``repayments.LOAN_CLOSED_HOOKS``) each certificate of the loan still
in the archive gets a draft withdrawal "解押退还权利人", and the loan officer is told.
"""
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Loan
from app.models.archive import (
    RETURN_PURPOSES, WITHDRAWAL_PURPOSES, ArchiveBorrowing, ArchiveBorrowingItem, ArchiveItem,
    CollateralWithdrawal,
)
from app.models.workflow import ApprovalRecord, WorkflowInstance
from app.services import archive as core
from app.services import numbering, repayments, settings, workflow
from app.services.scope import can_see_branch, visible_branch_ids

BORROW_PREFIX = "JY"
WITHDRAW_PREFIX = "TQ"
#: Borrowings whose items are spoken for (an item may be in one of them only).
OPEN_BORROWING = ("in_approval", "approved", "lent")
OPEN_WITHDRAWAL = ("draft", "in_approval", "returned", "approved", "suspended")


def _lock(model, row_id, label):
    query = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if core._postgres():
        query = query.with_for_update()
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise DomainError(f"{label}不存在")
    return row


def _link(endpoint, path, row_id):
    try:
        return url_for(endpoint, pk=row_id)
    except RuntimeError:   # outside a request (CLI, jobs)
        return f"/{path}/show/{row_id}"


# -- 借阅 ------------------------------------------------------------------------------------------
def borrow_days():
    return int(settings.get("archive_borrow_days") or 7)


def default_return_date(on=None):
    return (on or settings.business_date()) + timedelta(days=borrow_days())


def _open_borrowing_of(item_id, exclude_id=None):
    query = (select(ArchiveBorrowing).join(ArchiveBorrowingItem, ArchiveBorrowingItem.borrowing_id == ArchiveBorrowing.id)
             .where(ArchiveBorrowingItem.item_id == item_id, ArchiveBorrowing.status.in_(OPEN_BORROWING),
                    ArchiveBorrowingItem.returned_on.is_(None)))
    if exclude_id:
        query = query.where(ArchiveBorrowing.id != exclude_id)
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def check_borrowing(item_ids, purpose, expected_return_on, user, exclude_id=None):
    """A borrowing request's fields; returns the items. Raises DomainError naming the field."""
    ids = [int(i) for i in dict.fromkeys(item_ids or []) if i]
    if not ids:
        raise DomainError("请选择要借阅的档案", "items")
    items = db.session.execute(select(ArchiveItem).where(ArchiveItem.id.in_(ids)).order_by(ArchiveItem.id)).scalars().all()
    if len(items) != len(ids):
        raise DomainError("所选档案不存在，请重新选择", "items")
    for item in items:
        if not core.can_see_item(item, user):
            raise DomainError(f"无权借阅档案 {item.archive_no}", "items")
        if item.status != "in_stock":
            raise DomainError(f"档案 {item.archive_no} 当前状态为“{item.status_label}”，只能借阅在库档案", "items")
        other = _open_borrowing_of(item.id, exclude_id)
        if other is not None:
            raise DomainError(f"档案 {item.archive_no} 已在借阅单 {other.borrowing_no}（{other.status_label}）中", "items")
    if not (purpose or "").strip():
        raise DomainError("请填写借阅用途", "purpose")
    today = settings.business_date()
    if expected_return_on is None:
        raise DomainError("请填写预计归还日期", "expected_return_on")
    if expected_return_on < today:
        raise DomainError(f"预计归还日期不能早于营业日期 {today:%Y-%m-%d}", "expected_return_on")
    longest = int(settings.get("archive_borrow_max_days") or 30)
    if expected_return_on > today + timedelta(days=longest):
        raise DomainError(f"借阅期限最长 {longest} 天（预计归还日期最晚 {today + timedelta(days=longest):%Y-%m-%d}）",
                          "expected_return_on")
    return items


@core.transaction
def request_borrowing(user, item_ids, purpose, expected_return_on, opinion=None):
    """借阅申请: check, number and start the ``archive_borrowing`` approval; commits."""
    items = check_borrowing(item_ids, purpose, expected_return_on, user)
    borrowing = ArchiveBorrowing(
        borrowing_no=numbering.next_number(BORROW_PREFIX, settings.business_date()), borrower_id=user.id,
        branch_id=getattr(user, "branch_id", None) or items[0].branch_id, purpose=purpose.strip()[:300],
        expected_return_on=expected_return_on, status="in_approval", submitted_at=datetime.now())
    borrowing.lines = [ArchiveBorrowingItem(item_id=item.id) for item in items]
    db.session.add(borrowing)
    db.session.flush()
    workflow.start("archive_borrowing", borrowing, user, opinion)
    return borrowing


def _borrowing_finished(borrowing, status, user, opinion):
    borrowing.decided_at = datetime.now()
    borrowing.status = {flow.APPROVED: "approved", flow.RETURNED: "returned", flow.REJECTED: "rejected"}[status]


def can_see_borrowing(borrowing, user):
    return borrowing.borrower_id == getattr(user, "id", None) or can_see_branch(borrowing.branch_id, user)


@core.transaction
def lend(borrowing_id, user, on=None):
    """出借 (the archivist): every item of an approved borrowing goes out (出库, 借出)."""
    borrowing = _lock(ArchiveBorrowing, borrowing_id, "借阅单")
    if borrowing.status != "approved":
        raise DomainError(f"借阅单 {borrowing.borrowing_no} 当前状态为“{borrowing.status_label}”，只有审批通过的借阅单可以出借")
    on = core._check_day(on, "出借日期")
    borrower = db.session.get(AppUser, borrowing.borrower_id)
    for line in borrowing.lines:
        item = core.lock_item(line.item_id)
        core.require_movable(item, "出借")
        core.record(item, "check_out", on, user, "lent", purpose="lend", handed_by=core._name(user),
                    received_by=core._name(borrower), reason=f"借阅：{borrowing.purpose}"[:300],
                    borrowing_id=borrowing.id)
        line.lent_on = on
    borrowing.status, borrowing.lent_on, borrowing.lent_by_id = "lent", on, user.id
    return borrowing


@core.transaction
def receive_return(borrowing_id, user, on=None, item_ids=None, condition=None):
    """归还登记 (the archivist): the items given (default: all still out) are back in stock;
    when none is left out the borrowing is 已归还."""
    borrowing = _lock(ArchiveBorrowing, borrowing_id, "借阅单")
    if borrowing.status != "lent":
        raise DomainError(f"借阅单 {borrowing.borrowing_no} 当前状态为“{borrowing.status_label}”，没有待归还的档案")
    on = core._check_day(on, "归还日期", borrowing.lent_on)
    wanted = {int(i) for i in item_ids or [] if i}
    out = [line for line in borrowing.lines if line.returned_on is None]
    chosen = [line for line in out if not wanted or line.item_id in wanted]
    if not chosen:
        raise DomainError("请选择归还的档案", "items")
    borrower = db.session.get(AppUser, borrowing.borrower_id)
    condition = core._clean(condition, 200) or "完好"
    for line in chosen:
        item = core.lock_item(line.item_id)
        if item.status != "lent":
            core._refuse(item, "登记归还")
        core.record(item, "check_in", on, user, "in_stock", handed_by=core._name(borrower), received_by=core._name(user),
                    condition=condition, reason=f"借阅归还（{borrowing.borrowing_no}）", borrowing_id=borrowing.id)
        line.returned_on, line.return_condition = on, condition
    if all(line.returned_on is not None for line in borrowing.lines):
        borrowing.status, borrowing.closed_on = "closed", on
    return borrowing


@core.transaction
def cancel_borrowing(borrowing_id, user):
    """撤销: the borrower drops a returned request or an approved one not yet lent."""
    borrowing = _lock(ArchiveBorrowing, borrowing_id, "借阅单")
    if borrowing.status not in ("returned", "approved"):
        raise DomainError(f"借阅单 {borrowing.borrowing_no} 当前状态为“{borrowing.status_label}”，不能撤销")
    if borrowing.borrower_id != user.id and not core._is_admin(user):
        raise DomainError("只有借阅人可以撤销借阅申请")
    borrowing.status = "cancelled"
    return borrowing


def _overdue_query(as_of):
    return (select(ArchiveBorrowing.id.label("borrowing_id"), ArchiveBorrowing.borrowing_no,
                   ArchiveBorrowing.borrower_id, ArchiveBorrowing.branch_id, ArchiveItem.id.label("item_id"),
                   ArchiveItem.archive_no, ArchiveItem.title, ArchiveBorrowingItem.lent_on,
                   ArchiveBorrowing.expected_return_on.label("due_date"))
            .join(ArchiveBorrowingItem, ArchiveBorrowingItem.borrowing_id == ArchiveBorrowing.id)
            .join(ArchiveItem, ArchiveItem.id == ArchiveBorrowingItem.item_id)
            .where(ArchiveBorrowing.status == "lent", ArchiveBorrowingItem.lent_on.is_not(None),
                   ArchiveBorrowingItem.returned_on.is_(None), ArchiveBorrowing.expected_return_on < as_of)
            .order_by(ArchiveBorrowing.expected_return_on, ArchiveBorrowing.id, ArchiveItem.id))


def overdue_borrowings(as_of=None, user=None):
    """Lent items not returned after the expected return date, in one query: dicts with
    borrowing_id, borrowing_no, borrower_id, branch_id, item_id, archive_no, title, lent_on,
    due_date and days (overdue days on ``as_of``). ``user``: only what they may see."""
    as_of = as_of or settings.business_date()
    query = _overdue_query(as_of)
    if user is not None:
        ids = visible_branch_ids(user)
        if ids is not None:
            query = query.where(ArchiveBorrowing.branch_id.in_(ids) | (ArchiveBorrowing.borrower_id == user.id))
    return [dict(row._mapping, days=(as_of - row.due_date).days) for row in db.session.execute(query)]


def lent_items(as_of=None, user=None, overdue_only=False):
    """借出及逾期: every lent item not yet back (``overdue_only``: past the return date), with
    the borrower and overdue days."""
    as_of = as_of or settings.business_date()
    query = (select(ArchiveBorrowing, ArchiveItem, ArchiveBorrowingItem)
             .join(ArchiveBorrowingItem, ArchiveBorrowingItem.borrowing_id == ArchiveBorrowing.id)
             .join(ArchiveItem, ArchiveItem.id == ArchiveBorrowingItem.item_id)
             .where(ArchiveBorrowing.status == "lent", ArchiveBorrowingItem.lent_on.is_not(None),
                    ArchiveBorrowingItem.returned_on.is_(None))
             .order_by(ArchiveBorrowing.expected_return_on, ArchiveBorrowing.id, ArchiveItem.id))
    if overdue_only:
        query = query.where(ArchiveBorrowing.expected_return_on < as_of)
    ids = visible_branch_ids(user) if user is not None else None
    if ids is not None:
        query = query.where(ArchiveBorrowing.branch_id.in_(ids) | (ArchiveBorrowing.borrower_id == user.id))
    return [{"borrowing": b, "item": i, "line": line, "days": max((as_of - b.expected_return_on).days, 0)}
            for b, i, line in db.session.execute(query).all()]


def lent_workbook(rows, title="借出档案查询"):
    from app.services.excel import Column

    columns = [Column("借阅单号", width=18), Column("档案编号", width=18), Column("档案名称", width=30),
               Column("借阅人", width=12), Column("出借日期", kind="date", width=12),
               Column("预计归还", kind="date", width=12), Column("逾期天数", kind="int", width=10),
               Column("借阅用途", width=30)]
    return core._workbook(title, columns, (
        [r["borrowing"].borrowing_no, r["item"].archive_no, r["item"].title, core._name(r["borrowing"].borrower),
         r["line"].lent_on, r["borrowing"].expected_return_on, r["days"], r["borrowing"].purpose] for r in rows))


def borrowings_workbook(rows, title="档案借阅登记"):
    from app.services.excel import Column

    columns = [Column("借阅单号", width=18), Column("借阅人", width=12), Column("档案", width=36),
               Column("借阅用途", width=30), Column("预计归还", kind="date", width=12), Column("状态", width=10),
               Column("出借日期", kind="date", width=12), Column("归还日期", kind="date", width=12)]
    return core._workbook(title, columns, (
        [b.borrowing_no, core._name(b.borrower), b.items_label, b.purpose, b.expected_return_on, b.status_label,
         b.lent_on, b.closed_on] for b in rows))


# -- 抵质押物提取 -----------------------------------------------------------------------------------
def _open_withdrawal_of(item_id, exclude_id=None):
    query = select(CollateralWithdrawal).where(CollateralWithdrawal.item_id == item_id,
                                               CollateralWithdrawal.status.in_(OPEN_WITHDRAWAL))
    if exclude_id:
        query = query.where(CollateralWithdrawal.id != exclude_id)
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def check_withdrawal(withdrawal, user=None):
    """A withdrawal's fields; fills the loan and collateral from the item."""
    item = withdrawal.item or (db.session.get(ArchiveItem, withdrawal.item_id) if withdrawal.item_id else None)
    if item is None:
        raise DomainError("请选择要提取的抵质押物权证", "item")
    if user is not None and not core.can_see_item(item, user):
        raise DomainError(f"无权办理档案 {item.archive_no}", "item")
    if not core.is_certificate(item):
        raise DomainError(f"档案 {item.archive_no} 不是抵质押物权证，无需提取审批（借阅请走借阅申请）", "item")
    if item.status != "in_stock":
        raise DomainError(f"档案 {item.archive_no} 当前状态为“{item.status_label}”，只能提取在库的权证", "item")
    other = _open_withdrawal_of(item.id, withdrawal.id)
    if other is not None:
        raise DomainError(f"档案 {item.archive_no} 已有未办结的提取申请 {other.withdrawal_no}（{other.status_label}）", "item")
    if withdrawal.purpose not in WITHDRAWAL_PURPOSES:
        raise DomainError("请选择提取用途", "purpose")
    withdrawal.receiver_name = core._clean(withdrawal.receiver_name, 100)
    if not withdrawal.receiver_name:
        raise DomainError("请填写领取人", "receiver_name")
    withdrawal.reason = core._clean(withdrawal.reason, 300)
    if not withdrawal.reason:
        raise DomainError("请填写提取原因", "reason")
    today = settings.business_date()
    if withdrawal.purpose in RETURN_PURPOSES:
        withdrawal.expected_return_on = None
    elif withdrawal.expected_return_on is None:
        raise DomainError("办理登记等临时提取请填写预计回库日期", "expected_return_on")
    elif withdrawal.expected_return_on < today:
        raise DomainError(f"预计回库日期不能早于营业日期 {today:%Y-%m-%d}", "expected_return_on")
    withdrawal.item = item
    withdrawal.item_id = item.id
    withdrawal.loan_id = item.loan_id
    withdrawal.collateral_id = item.collateral_id
    withdrawal.branch_id = item.branch_id
    return item


def _start_withdrawal(withdrawal, user, opinion=None):
    withdrawal.status = "in_approval"
    withdrawal.submitted_at = datetime.now()
    db.session.flush()
    workflow.start("collateral_withdrawal", withdrawal, user, opinion)


def save_withdrawal(withdrawal, user, submit=True):
    """The add form: check, number and (``submit``) start the approval; the caller commits."""
    with db.session.no_autoflush:
        check_withdrawal(withdrawal, user)
    withdrawal.withdrawal_no = numbering.next_number(WITHDRAW_PREFIX, settings.business_date())
    withdrawal.applicant_id = user.id
    withdrawal.status = "draft"
    db.session.add(withdrawal)
    db.session.flush()
    if submit:
        _start_withdrawal(withdrawal, user)
    return withdrawal


@core.transaction
def request_withdrawal(user, item_id, purpose, receiver_name, reason, expected_return_on=None, submit=True):
    """提取申请 (service entry point); commits."""
    return save_withdrawal(CollateralWithdrawal(item_id=item_id, purpose=purpose, receiver_name=receiver_name,
                                                reason=reason, expected_return_on=expected_return_on), user, submit)


@core.transaction
def submit_withdrawal(withdrawal_id, user, opinion=None):
    """提交 a draft (e.g. proposed at settlement), returned or suspended withdrawal."""
    withdrawal = _lock(CollateralWithdrawal, withdrawal_id, "提取申请")
    if withdrawal.status not in ("draft", "returned", "suspended"):
        raise DomainError(f"提取申请 {withdrawal.withdrawal_no} 当前状态为“{withdrawal.status_label}”，不能提交")
    check_withdrawal(withdrawal, user)
    if withdrawal.applicant_id is None:
        withdrawal.applicant_id = user.id
    _start_withdrawal(withdrawal, user, opinion)
    return withdrawal


def _withdrawal_finished(withdrawal, status, user, opinion):
    withdrawal.decided_at = datetime.now()
    withdrawal.status = {flow.APPROVED: "approved", flow.RETURNED: "returned", flow.REJECTED: "rejected"}[status]


@core.transaction
def suspend_withdrawal(withdrawal_id, user, reason):
    """中止 with a reason: before the certificate is handed over. A running approval is closed
    (its open tasks end and the record shows who stopped it and why)."""
    withdrawal = _lock(CollateralWithdrawal, withdrawal_id, "提取申请")
    if withdrawal.status not in ("draft", "in_approval", "returned", "approved"):
        raise DomainError(f"提取申请 {withdrawal.withdrawal_no} 当前状态为“{withdrawal.status_label}”，不能中止")
    reason = core._clean(reason, 300)
    if not reason:
        raise DomainError("请填写中止原因", "reason")
    if withdrawal.status == "in_approval":
        instance = workflow.latest_instance("collateral_withdrawal", withdrawal.id)
        if instance is not None and instance.status == flow.RUNNING:
            instance = _lock(WorkflowInstance, instance.id, "审批记录")
            db.session.add(ApprovalRecord(instance_id=instance.id, step_index=instance.current_index,
                                          step_name="中止审批", actor_id=user.id, action=flow.REJECT,
                                          opinion=f"中止：{reason}"))
            workflow._close_step_tasks(instance)
            instance.status, instance.current_index, instance.finished_at = flow.REJECTED, None, datetime.now()
    withdrawal.status = "suspended"
    withdrawal.suspend_reason = reason
    withdrawal.suspended_at = datetime.now()
    withdrawal.suspended_by_id = user.id
    return withdrawal


@core.transaction
def cancel_withdrawal(withdrawal_id, user):
    withdrawal = _lock(CollateralWithdrawal, withdrawal_id, "提取申请")
    if withdrawal.status not in ("draft", "returned", "suspended"):
        raise DomainError(f"提取申请 {withdrawal.withdrawal_no} 当前状态为“{withdrawal.status_label}”，不能撤销")
    withdrawal.status = "cancelled"
    return withdrawal


@core.transaction
def execute_withdrawal(withdrawal_id, user, on=None, condition=None):
    """提取出库 (the archivist): hand the approved certificate to the receiver; it is 已退还
    for 解押 / 置换, 出库 (to come back) otherwise."""
    withdrawal = _lock(CollateralWithdrawal, withdrawal_id, "提取申请")
    if withdrawal.status != "approved":
        raise DomainError(f"提取申请 {withdrawal.withdrawal_no} 当前状态为“{withdrawal.status_label}”，只有审批通过的申请可以提取")
    item = core.lock_item(withdrawal.item_id)
    core.require_movable(item, "提取")
    last = core.last_movement(item.id)
    on = core._check_day(on, "提取日期", last.occurred_on if last else None)
    target = "returned" if withdrawal.purpose in RETURN_PURPOSES else "out"
    core.record(item, "check_out", on, user, target, purpose="withdraw", handed_by=core._name(user),
                received_by=withdrawal.receiver_name, condition=core._clean(condition, 200) or "完好",
                reason=f"{withdrawal.purpose_label}：{withdrawal.reason}"[:300], withdrawal_id=withdrawal.id)
    withdrawal.status, withdrawal.executed_on, withdrawal.executed_by_id = "done", on, user.id
    return withdrawal


def withdrawals_workbook(rows, title="抵质押物提取登记"):
    from app.services.excel import Column

    columns = [Column("提取单号", width=18), Column("档案编号", width=18), Column("权证名称", width=30),
               Column("项目", width=18), Column("提取用途", width=18), Column("领取人", width=12),
               Column("原因", width=30), Column("状态", width=10), Column("中止原因", width=24),
               Column("提取日期", kind="date", width=12)]
    return core._workbook(title, columns, (
        [w.withdrawal_no, w.item.archive_no, w.item.title, w.loan.loan_no if w.loan else "", w.purpose_label,
         w.receiver_name, w.reason, w.status_label, w.suspend_reason or "", w.executed_on] for w in rows))


def approval_records(code, object_id):
    """Every approval record of an object, across its submissions (a suspended and resubmitted
    withdrawal keeps its 中止 record): for the printed 审批表."""
    return db.session.execute(
        select(ApprovalRecord).join(WorkflowInstance, WorkflowInstance.id == ApprovalRecord.instance_id)
        .where(WorkflowInstance.business_type == code, WorkflowInstance.object_id == object_id)
        .order_by(ApprovalRecord.id)).scalars().all()


# -- settlement: propose returning the certificates ---------------------------------------------------
def propose_certificate_returns(loan, on, user):
    """``repayments.LOAN_CLOSED_HOOKS``: each certificate of the settled loan still in the
    archive gets a draft withdrawal (解押退还权利人) unless one is already open; the loan
    officer is told. Runs in the settlement's transaction (flush only)."""
    certificate_types = core.types_with("certificate") or [""]
    items = db.session.execute(select(ArchiveItem).where(
        ArchiveItem.loan_id == loan.id, ArchiveItem.status == "in_stock",
        (ArchiveItem.collateral_id.is_not(None)) | (ArchiveItem.doc_type.in_(certificate_types)))
        .order_by(ArchiveItem.id)).scalars().all()
    proposed = []
    for item in items:
        if _open_withdrawal_of(item.id) is not None:
            continue
        owner = item.owner_name or (item.collateral.owner_name if item.collateral else None) or loan.customer.name
        withdrawal = CollateralWithdrawal(
            withdrawal_no=numbering.next_number(WITHDRAW_PREFIX, on), item_id=item.id, loan_id=loan.id,
            collateral_id=item.collateral_id, branch_id=item.branch_id, purpose="release", receiver_name=owner,
            reason=f"项目 {loan.loan_no} 已于 {on:%Y-%m-%d} 结清，权证退还权利人", status="draft",
            proposed_at_settlement=True, applicant_id=getattr(user, "id", None))
        db.session.add(withdrawal)
        proposed.append(withdrawal)
    if proposed:
        db.session.flush()
        workflow.notify([loan.officer_id], f"项目 {loan.loan_no} 已结清：{len(proposed)} 份抵质押物权证待提交退还审批",
                        "/archivewithdrawalrequestview/list/?_flt_0_status=draft")
    return proposed


# -- reminders ------------------------------------------------------------------------------------------
def overdue_reminders(as_of):
    """Reminder kind ``archive_borrowing_due``: one reminder a day per overdue borrowing, to
    its borrower (the reminder job records it once per object, kind and day)."""
    from app.services import reminders

    grouped = {}
    for row in overdue_borrowings(as_of):
        grouped.setdefault(row["borrowing_id"], []).append(row)
    result = []
    for borrowing_id, rows in grouped.items():
        first = rows[0]
        numbers = "、".join(r["archive_no"] for r in rows)
        result.append(reminders.Candidate(
            "archive_borrowing_due", "archive_borrowing", borrowing_id,
            f"档案借阅逾期：借阅单 {first['borrowing_no']} 应于 {first['due_date']:%Y-%m-%d} 归还，已逾期 {first['days']} 天"
            f"（{numbers}），请尽快归还档案室", [first["borrower_id"]],
            link=f"/archiveborrowrequestview/show/{borrowing_id}"))
    return result


# -- registration ---------------------------------------------------------------------------------------
def _borrowing_title(b):
    borrower = db.session.get(AppUser, b.borrower_id)
    return f"档案借阅 {b.borrowing_no} {core._name(borrower)}（{len(b.lines)} 件，{b.expected_return_on:%Y-%m-%d} 前归还）"


def _withdrawal_title(w):
    item = w.item or db.session.get(ArchiveItem, w.item_id)
    return f"抵质押物提取 {w.withdrawal_no} {item.title}（{w.purpose_label}，领取人 {w.receiver_name}）"


def _withdrawal_context(w):
    loan = w.loan or (db.session.get(Loan, w.loan_id) if w.loan_id else None)
    return {"purpose": w.purpose, "loan_status": loan.status if loan is not None else ""}


def _register():
    workflow.register(workflow.BusinessType(
        code="archive_borrowing", label="档案借阅审批", model=ArchiveBorrowing,
        context=lambda b: {"items": len(b.lines), "days": (b.expected_return_on - settings.business_date()).days},
        title=_borrowing_title, link=lambda b: _link("ArchiveBorrowRequestView.show", "archiveborrowrequestview", b.id),
        branch_of=lambda b: b.branch_id, on_finish=_borrowing_finished,
        fields={"items": "借阅件数", "days": "借阅天数"}))
    workflow.register(workflow.BusinessType(
        code="collateral_withdrawal", label="抵质押物提取审批", model=CollateralWithdrawal, context=_withdrawal_context,
        title=_withdrawal_title,
        link=lambda w: _link("ArchiveWithdrawalRequestView.show", "archivewithdrawalrequestview", w.id),
        branch_of=lambda w: w.branch_id, on_finish=_withdrawal_finished,
        fields={"purpose": "提取用途（release / substitute / registration / other）",
                "loan_status": "贷款状态（settled 已结清）"}))
    if propose_certificate_returns not in repayments.LOAN_CLOSED_HOOKS:
        repayments.LOAN_CLOSED_HOOKS.append(propose_certificate_returns)
    try:
        from app.services import reminders
    except ImportError:   # the message center is not installed
        return
    if "archive_borrowing_due" not in reminders.KINDS:
        reminders.register_kind(reminders.ReminderKind(
            "archive_borrowing_due", "档案借阅逾期提醒", overdue_reminders, "message", False,
            "借阅档案超过预计归还日期未还，每天提醒借阅人一次"))


_register()
