"""档案管理: archive items and their registers (入库 / 出库 / 移交 / 代管备案 / 销毁), queries, the
company base-data filing and the Excel workbooks of every list.

Status transitions of an item (everything else is refused with a Chinese message)::

    (new) ──入库──▶ 在库 ──借阅出借──▶ 借出 ──归还──▶ 在库
                    在库 ──其他出库──▶ 出库 ──入库──▶ 在库
                    在库 ──提取（解押 / 置换）或退还──▶ 已退还
                    在库 ──提取（办理登记 / 其他）──▶ 出库
                    在库 ──移交（外部，对方签收）──▶ 已移交 ──入库──▶ 在库
                    在库 ──移交（内部保管人，对方确认）──▶ 在库（新保管人、位置）
                    在库 ──销毁（保管期满）──▶ 已销毁

Every movement appends one ``ArchiveMovement`` row in the same transaction as the status
change; the item row is locked (``FOR UPDATE`` on PostgreSQL) and version-checked, so two
archivists acting on one item at once give one movement and one clear refusal.

Borrowing (档案借阅) and collateral withdrawal (抵质押物提取) are in
app/services/archive_requests.py.
"""
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AppUser, Branch, Collateral, Customer, Loan
from app.models.archive import (
    ArchiveItem, ArchiveMovement, ArchiveTransfer,
)
from app.services import dictionaries, loans, numbering, settings
from app.services.scope import apply_scope, can_see_branch

ITEM_PREFIX = "DA"
TRANSFER_PREFIX = "YJ"
DOC_TYPES = "archive_doc_type"
LEVELS = "archive_level"
#: Check-outs the archivist records directly; lending and collateral withdrawal have their own flows.
DIRECT_CHECK_OUT = ("other", "return_owner")
COMPANY_KINDS = ("company", "sole_trader")


def _postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def _clean(value, limit=None):
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    return (value[:limit] if limit and isinstance(value, str) else value) or None


def _name(user):
    return str(user) if user is not None else ""


def _today():
    return settings.business_date()


def _check_day(on, label="日期", not_before=None):
    on = on or _today()
    if not isinstance(on, date):
        raise DomainError(f"请填写{label}", "occurred_on")
    today = _today()
    if on > today:
        raise DomainError(f"{label}不能晚于营业日期 {today:%Y-%m-%d}", "occurred_on")
    if not_before is not None and on < not_before:
        raise DomainError(f"{label}不能早于 {not_before:%Y-%m-%d}", "occurred_on")
    return on


def commit():
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise DomainError("该档案已被他人同时办理，请刷新后查看最新状态")


def transaction(func_):
    """Run ``func_`` as one use case: commit on success, roll back everything on error."""

    def run(*args, **kwargs):
        try:
            result = func_(*args, **kwargs)
            commit()
            return result
        except Exception:
            db.session.rollback()
            raise

    run.__name__ = func_.__name__
    run.__doc__ = func_.__doc__
    return run


# -- dictionaries -------------------------------------------------------------------------------
def doc_type_label(code):
    return dictionaries.label_of(DOC_TYPES, code)


def level_label(code):
    return dictionaries.label_of(LEVELS, code)


def _dict_rows(code):
    from app.models import DictItem, DictType

    return db.session.execute(select(DictItem).join(DictType).where(DictType.code == code)
                              .order_by(DictItem.sort_order, DictItem.id)).scalars().all()


def types_with(extra):
    """Document type codes whose dictionary ``extra`` is ``extra`` (certificate / company)."""
    return [row.code for row in _dict_rows(DOC_TYPES) if (row.extra or "").strip() == extra]


def company_doc_types():
    return [(row.code, row.label) for row in _dict_rows(DOC_TYPES)
            if (row.extra or "").strip() == "company" and row.is_active]


def retention_years(level):
    """The level's retention in years (dictionary extra), None for 永久."""
    row = dictionaries.item(LEVELS, level)
    if row is None:
        raise DomainError("请选择档案等级", "level")
    extra = (row.extra or "").strip()
    if not extra:
        return None
    try:
        years = int(extra)
    except ValueError:
        raise DomainError(f"档案等级“{row.label}”的保管年限“{extra}”不是整数，请管理员在字典中修正", "level") from None
    return years if years > 0 else None


def _add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:   # 29 February
        return day.replace(year=day.year + years, day=28)


def is_certificate(item):
    return item.collateral_id is not None or item.doc_type in types_with("certificate")


# -- locking and recording ---------------------------------------------------------------------
def lock_item(item_id):
    query = select(ArchiveItem).where(ArchiveItem.id == item_id).execution_options(populate_existing=True)
    if _postgres():
        query = query.with_for_update()
    item = db.session.execute(query).scalar_one_or_none()
    if item is None:
        raise DomainError("档案不存在")
    return item


def can_see_item(item, user=None):
    return can_see_branch(item.branch_id, user)


def _refuse(item, action):
    raise DomainError(f"档案 {item.archive_no} 当前状态为“{item.status_label}”，不能{action}")


def pending_transfer(item_id):
    return db.session.execute(select(ArchiveTransfer).where(
        ArchiveTransfer.item_id == item_id, ArchiveTransfer.status == "pending")).scalars().first()


def require_movable(item, action):
    """An item in stock without a pending transfer (the common precondition of a move)."""
    if item.status != "in_stock":
        _refuse(item, action)
    transfer = pending_transfer(item.id)
    if transfer is not None:
        raise DomainError(f"档案 {item.archive_no} 有待确认的移交 {transfer.transfer_no}，确认或撤销后才能{action}")


_CURRENT = object()


def record(item, kind, on, user, to_status, from_status=_CURRENT, **fields):
    """Append one register row and move the item to ``to_status`` (the caller checked the rule)."""
    movement = ArchiveMovement(
        item_id=item.id, kind=kind, occurred_on=on, from_status=item.status if from_status is _CURRENT else from_status,
        to_status=to_status, operator_id=user.id, branch_id=item.branch_id, location=item.location, **fields)
    item.status = to_status
    db.session.add(movement)
    db.session.flush()
    return movement


# -- 入库: a new item ---------------------------------------------------------------------------
def check_item(item, user=None):
    """The fields of a new or edited item; fills the links it implies (loan from collateral,
    customer from loan) and the branch. Raises DomainError naming the field."""
    if not item.doc_type or dictionaries.item(DOC_TYPES, item.doc_type) is None:
        raise DomainError("请选择档案类型", "doc_type")
    item.title = _clean(item.title, 200)
    if not item.title:
        raise DomainError("请填写档案名称", "title")
    collateral = item.collateral or (db.session.get(Collateral, item.collateral_id) if item.collateral_id else None)
    loan = item.loan or (db.session.get(Loan, item.loan_id) if item.loan_id else None)
    customer = item.customer or (db.session.get(Customer, item.customer_id) if item.customer_id else None)
    if collateral is not None:
        if loan is not None and collateral.loan_id != loan.id:
            raise DomainError(f"抵质押物“{collateral.name}”不属于项目 {loan.loan_no}", "collateral")
        loan = collateral.loan
        item.collateral = collateral
        if not item.certificate_no and collateral.certificate_no:
            item.certificate_no = collateral.certificate_no
        if not item.owner_name:
            item.owner_name = collateral.owner_name
    if loan is not None:
        if customer is not None and loan.customer_id != customer.id:
            raise DomainError(f"项目 {loan.loan_no} 的借款人不是“{customer.name}”", "loan")
        if user is not None and not loans.can_see(loan, user):
            raise DomainError("无权查看该项目", "loan")
        customer = loan.customer
        item.loan = loan
    if customer is not None:
        if user is not None and loan is None and not can_see_branch(customer.branch_id, user):
            raise DomainError("只能为本机构的客户归档", "customer")
        item.customer = customer
    if item.pieces is None:
        item.pieces = 1
    if item.pieces < 1:
        raise DomainError("份数至少为 1", "pieces")
    if item.pages is not None and item.pages < 0:
        raise DomainError("页数不能为负数", "pages")
    item.room = _clean(item.room, 50)
    if not item.room:
        raise DomainError("请填写存放位置（档案室）", "room")
    item.cabinet, item.shelf, item.box = (_clean(item.cabinet, 50), _clean(item.shelf, 50), _clean(item.box, 50))
    if not item.level:
        raise DomainError("请选择档案等级", "level")
    item.retention_years = retention_years(item.level)
    item.custody = bool(item.custody)
    item.owner_name = _clean(item.owner_name, 100)
    item.certificate_no = _clean(item.certificate_no, 100)
    if item.custody and not item.owner_name:
        raise DomainError("代管的单证请填写权利人（所有人）", "owner_name")
    item.filed_on = item.filed_on or _today()
    if item.filed_on > _today():
        raise DomainError(f"入库日期不能晚于营业日期 {_today():%Y-%m-%d}", "filed_on")
    item.retain_until = (_add_years(item.filed_on, item.retention_years)
                         if item.retention_years is not None else None)
    branch_id = (loan.branch_id if loan is not None else customer.branch_id if customer is not None
                 else item.branch_id or getattr(user, "branch_id", None))
    if branch_id is None:
        raise DomainError("无法确定档案所属机构：请关联客户或项目，或为当前用户设置所属机构")
    item.branch_id = branch_id
    return item


def check_in_new(item, user, handed_by=None, condition=None):
    """入库登记 of a new item (the add form's ``pre_add`` and ``create_item``): number it, put it
    in stock with the user as custodian and append the check-in row (and the 代管备案 row for a
    document held on behalf of the customer). The caller commits."""
    if item.id:
        raise DomainError("该档案已入库")
    with db.session.no_autoflush:
        check_item(item, user)
    item.archive_no = numbering.next_number(ITEM_PREFIX, item.filed_on)
    item.status = "in_stock"
    item.custodian_id = item.custodian_id or user.id
    item.created_by_id = user.id
    db.session.add(item)
    db.session.flush()
    record(item, "check_in", item.filed_on, user, "in_stock", from_status=None, handed_by=_clean(handed_by, 100),
           received_by=_name(user), condition=_clean(condition, 200) or "完好", reason="新入库")
    if item.custody:
        record(item, "custody", item.filed_on, user, "in_stock", handed_by=_clean(handed_by, 100),
               received_by=_name(user), reason=f"代管备案：权利人 {item.owner_name}")
    return item


@transaction
def create_item(user, doc_type, title, room, level, customer_id=None, loan_id=None, collateral_id=None, pieces=1,
                pages=None, cabinet=None, shelf=None, box=None, custody=False, owner_name=None, certificate_no=None,
                filed_on=None, handed_by=None, condition=None, remarks=None):
    """Check a new item in (service entry point); commits."""
    item = ArchiveItem(doc_type=doc_type, title=title, room=room, level=level, customer_id=customer_id,
                       loan_id=loan_id, collateral_id=collateral_id, pieces=pieces, pages=pages, cabinet=cabinet,
                       shelf=shelf, box=box, custody=custody, owner_name=owner_name, certificate_no=certificate_no,
                       filed_on=filed_on, remarks=remarks)
    return check_in_new(item, user, handed_by, condition)


def update_item(item, user):
    """Edit the description of an item (not its status, location or links: those move through
    the registers); the caller commits."""
    if item.status in ("returned", "destroyed"):
        _refuse(item, "修改")
    with db.session.no_autoflush:
        check_item(item, user)


# -- 入库 / 出库 of an existing item -------------------------------------------------------------
@transaction
def check_in(item_id, user, on=None, handed_by=None, condition=None, reason=None):
    """回库: an item that was checked out (出库) or handed over (已移交) comes back in stock."""
    item = lock_item(item_id)
    if item.status == "lent":
        raise DomainError(f"档案 {item.archive_no} 借出中，请在借阅单上登记归还")
    if item.status not in ("out", "transferred"):
        _refuse(item, "入库")
    last = last_movement(item.id)
    on = _check_day(on, "入库日期", last.occurred_on if last else None)
    return record(item, "check_in", on, user, "in_stock", handed_by=_clean(handed_by, 100), received_by=_name(user),
                  condition=_clean(condition, 200) or "完好", reason=_clean(reason, 300) or "回库")


@transaction
def check_out(item_id, user, purpose, received_by, reason, on=None):
    """出库登记 for another reason than lending or a collateral withdrawal: ``other`` (it comes
    back: 出库) or ``return_owner`` (退还权利人 — not for collateral certificates, which need
    the withdrawal approval)."""
    item = lock_item(item_id)
    if purpose == "lend":
        raise DomainError("借阅出库请通过借阅申请办理：审批通过后在借阅单上出借", "purpose")
    if purpose == "withdraw":
        raise DomainError("抵质押物提取须经审批：请提交抵质押物提取申请", "purpose")
    if purpose not in DIRECT_CHECK_OUT:
        raise DomainError("请选择出库用途", "purpose")
    require_movable(item, "出库")
    if purpose == "return_owner" and is_certificate(item):
        raise DomainError(f"档案 {item.archive_no} 是抵质押物权证，退还须经抵质押物提取审批", "purpose")
    received_by = _clean(received_by, 100)
    if not received_by:
        raise DomainError("请填写领取人", "received_by")
    reason = _clean(reason, 300)
    if not reason:
        raise DomainError("请填写出库原因", "reason")
    last = last_movement(item.id)
    on = _check_day(on, "出库日期", last.occurred_on if last else None)
    target = "returned" if purpose == "return_owner" else "out"
    return record(item, "check_out", on, user, target, purpose=purpose, handed_by=_name(user),
                  received_by=received_by, reason=reason)


@transaction
def destroy(item_id, user, reason, on=None):
    """销毁: only an item in stock whose retention period has ended (never 永久, never a
    document held on behalf of its owner, never one lent or out)."""
    item = lock_item(item_id)
    require_movable(item, "销毁")
    on = _check_day(on, "销毁日期")
    if item.custody:
        raise DomainError(f"档案 {item.archive_no} 为代管单证，应退还权利人，不能销毁")
    if item.retain_until is None:
        raise DomainError(f"档案 {item.archive_no} 为永久保存档案，不能销毁")
    if item.retain_until > on:
        raise DomainError(f"档案 {item.archive_no} 保管期至 {item.retain_until:%Y-%m-%d}，未到期不能销毁")
    reason = _clean(reason, 300)
    if not reason:
        raise DomainError("请填写销毁依据（如销毁审批文号、监销人）", "reason")
    return record(item, "destroy", on, user, "destroyed", handed_by=_name(user), reason=reason)


def last_movement(item_id):
    return db.session.execute(select(ArchiveMovement).where(ArchiveMovement.item_id == item_id)
                              .order_by(ArchiveMovement.id.desc()).limit(1)).scalar_one_or_none()


# -- 移交 --------------------------------------------------------------------------------------
def _is_admin(user):
    from flask import current_app

    return any(r.name == current_app.appbuilder.sm.auth_role_admin for r in getattr(user, "roles", []))


@transaction
def send_transfer(item_id, user, reason, to_user_id=None, to_party=None, to_branch_id=None, to_room=None,
                  to_cabinet=None, to_shelf=None, to_box=None, on=None):
    """移交登记 (the sender's side): to another custodian (``to_user_id``: they confirm, the
    item stays in stock with them) or to an outside recipient (``to_party``: their signature
    is recorded at confirmation and the item becomes 已移交)."""
    item = lock_item(item_id)
    if not can_see_item(item, user):
        raise DomainError("无权办理该档案")
    require_movable(item, "移交")
    to_party = _clean(to_party, 100)
    if bool(to_user_id) == bool(to_party):
        raise DomainError("请选择接收保管人，或填写外部接收单位（二者选一）", "to_user")
    if to_user_id:
        receiver = db.session.get(AppUser, int(to_user_id))
        if receiver is None or not receiver.active:
            raise DomainError("接收人不存在或已停用", "to_user")
        if receiver.id == user.id:
            raise DomainError("接收人不能是移交人本人", "to_user")
    if to_branch_id and db.session.get(Branch, int(to_branch_id)) is None:
        raise DomainError("接收机构不存在", "to_branch")
    reason = _clean(reason, 300)
    if not reason:
        raise DomainError("请填写移交原因", "reason")
    on = _check_day(on, "移交日期")
    transfer = ArchiveTransfer(
        transfer_no=numbering.next_number(TRANSFER_PREFIX, on), item_id=item.id, branch_id=item.branch_id,
        from_user_id=user.id, to_user_id=int(to_user_id) if to_user_id else None, to_party=to_party,
        to_branch_id=int(to_branch_id) if to_branch_id else None, to_room=_clean(to_room, 50),
        to_cabinet=_clean(to_cabinet, 50), to_shelf=_clean(to_shelf, 50), to_box=_clean(to_box, 50), reason=reason,
        status="pending", sent_on=on)
    db.session.add(transfer)
    db.session.flush()
    if transfer.to_user_id:
        from app.services import workflow

        workflow.notify([transfer.to_user_id], f"档案移交待确认：{item.archive_no} {item.title}（移交人 {_name(user)}）",
                        f"/archivetransferview/show/{transfer.id}")
    return transfer


def _lock_transfer(transfer_id):
    query = select(ArchiveTransfer).where(ArchiveTransfer.id == transfer_id).execution_options(populate_existing=True)
    if _postgres():
        query = query.with_for_update()
    transfer = db.session.execute(query).scalar_one_or_none()
    if transfer is None:
        raise DomainError("移交记录不存在")
    if transfer.status != "pending":
        raise DomainError(f"移交 {transfer.transfer_no} 当前状态为“{transfer.status_label}”，无需再处理")
    return transfer


def can_confirm(transfer, user):
    if transfer.status != "pending":
        return False
    if transfer.to_user_id:
        return transfer.to_user_id == user.id or _is_admin(user)
    return True


@transaction
def confirm_transfer(transfer_id, user, receiver_name=None, on=None):
    """The receiver's side: the receiving custodian confirms (or, for an outside recipient,
    the archivist records who signed for it). Appends the 移交 row."""
    transfer = _lock_transfer(transfer_id)
    item = lock_item(transfer.item_id)
    if transfer.to_user_id:
        if not can_confirm(transfer, user):
            raise DomainError(f"只有接收人“{transfer.to_user}”本人可以确认接收")
        receiver_name = _name(transfer.to_user)
    else:
        receiver_name = _clean(receiver_name, 100)
        if not receiver_name:
            raise DomainError("请填写对方签收人", "receiver_name")
    if item.status != "in_stock":
        _refuse(item, "移交")
    on = _check_day(on, "接收日期", transfer.sent_on)
    transfer.status, transfer.confirmed_on, transfer.confirmed_by_id = "confirmed", on, user.id
    transfer.receiver_name = receiver_name
    if transfer.to_user_id:
        item.custodian_id = transfer.to_user_id
        if transfer.to_branch_id:
            item.branch_id = transfer.to_branch_id
        if transfer.to_room:
            item.room, item.cabinet, item.shelf, item.box = (
                transfer.to_room, transfer.to_cabinet, transfer.to_shelf, transfer.to_box)
        target = "in_stock"
    else:
        target = "transferred"
    return record(item, "transfer", on, user, target, handed_by=_name(transfer.from_user), received_by=receiver_name,
                  reason=transfer.reason, transfer_id=transfer.id)


@transaction
def cancel_transfer(transfer_id, user):
    transfer = _lock_transfer(transfer_id)
    if transfer.from_user_id != user.id and not _is_admin(user):
        raise DomainError("只有移交人可以撤销移交")
    transfer.status = "cancelled"
    return transfer


# -- 企业基础资料归档 ------------------------------------------------------------------------------
@transaction
def file_company_documents(customer_id, user, doc_types, room, level, cabinet=None, shelf=None, box=None,
                           handed_by=None, on=None, pieces=1):
    """File a company customer's base documents in one step: one item per document type,
    each checked in. Refuses a type already filed and in the archive (no duplicates)."""
    customer = db.session.get(Customer, customer_id)
    if customer is None or not can_see_branch(customer.branch_id, user):
        raise DomainError("客户不存在或无权访问")
    if customer.kind not in COMPANY_KINDS:
        raise DomainError(f"客户“{customer.name}”不是企业或个体工商户，不能办理企业基础资料归档")
    labels = dict(company_doc_types())
    chosen = [code for code in dict.fromkeys(doc_types or []) if code]
    if not chosen:
        raise DomainError("请至少选择一种基础资料", "doc_types")
    unknown = [code for code in chosen if code not in labels]
    if unknown:
        raise DomainError(f"“{'、'.join(unknown)}”不是企业基础资料类型", "doc_types")
    existing = db.session.execute(select(ArchiveItem).where(
        ArchiveItem.customer_id == customer.id, ArchiveItem.doc_type.in_(chosen),
        ArchiveItem.status.in_(("in_stock", "lent", "out")))).scalars().all()
    if existing:
        listed = "、".join(f"{labels.get(i.doc_type, i.doc_type)}（{i.archive_no}）" for i in existing)
        raise DomainError(f"以下资料已归档，请勿重复归档：{listed}", "doc_types")
    items = []
    for code in chosen:
        item = ArchiveItem(doc_type=code, title=f"{customer.name} {labels[code]}", customer_id=customer.id,
                           room=room, cabinet=cabinet, shelf=shelf, box=box, level=level, pieces=pieces,
                           filed_on=on)
        items.append(check_in_new(item, user, handed_by or _name(customer.officer), "完好"))
    return items


def customer_items(customer_id):
    return db.session.execute(select(ArchiveItem).where(ArchiveItem.customer_id == customer_id)
                              .order_by(ArchiveItem.id.desc())).scalars().all()


# -- queries ------------------------------------------------------------------------------------
def _scoped(query, user):
    """Only the items of the branches ``user`` sees (``None``: no restriction, for jobs and tests)."""
    return query if user is None else apply_scope(query, ArchiveItem.branch_id, user)


def search_items(term, user=None, statuses=("in_stock",), certificates=False, limit=20):
    """AJAX picker: items in scope by number, title, certificate number, customer or loan."""
    term = (term or "").strip()
    query = (select(ArchiveItem).outerjoin(Customer, Customer.id == ArchiveItem.customer_id)
             .outerjoin(Loan, Loan.id == ArchiveItem.loan_id).order_by(ArchiveItem.id.desc()).limit(limit))
    if statuses:
        query = query.where(ArchiveItem.status.in_(statuses))
    if certificates:
        query = query.where(or_(ArchiveItem.collateral_id.is_not(None),
                                ArchiveItem.doc_type.in_(types_with("certificate") or [""])))
    if term:
        like = f"%{term}%"
        query = query.where(or_(ArchiveItem.archive_no.like(f"{term}%"), ArchiveItem.title.like(like),
                                ArchiveItem.certificate_no.like(like), Customer.name.like(like),
                                Loan.loan_no.like(f"{term}%")))
    return db.session.execute(_scoped(query, user)).scalars().all()


def search_collaterals(term, user=None, limit=20):
    """AJAX picker of collaterals (by name, certificate number, loan number or owner) of loans
    the user sees."""
    term = (term or "").strip()
    if not term:
        return []
    like = f"%{term}%"
    query = (select(Collateral).join(Loan, Loan.id == Collateral.loan_id)
             .where(or_(Collateral.name.like(like), Collateral.certificate_no.like(like),
                        Collateral.owner_name.like(like), Loan.loan_no.like(f"{term}%")))
             .order_by(Collateral.id.desc()).limit(limit))
    condition = loans.visible_condition(user)
    if condition is not None:
        query = query.where(condition)
    return db.session.execute(query).scalars().all()


def due_for_destruction_query(as_of=None):
    """Items in stock whose retention period has ended (not held on behalf of an owner)."""
    as_of = as_of or _today()
    return select(ArchiveItem).where(ArchiveItem.status == "in_stock", ArchiveItem.retain_until.is_not(None),
                                     ArchiveItem.retain_until <= as_of, ArchiveItem.custody.is_(False))


def due_for_destruction(as_of=None, user=None, limit=500):
    query = due_for_destruction_query(as_of).order_by(ArchiveItem.retain_until, ArchiveItem.id).limit(limit)
    return db.session.execute(_scoped(query, user)).scalars().all()


def history(item):
    """The item's full history: every register row, oldest first."""
    return db.session.execute(select(ArchiveMovement).where(ArchiveMovement.item_id == item.id)
                              .order_by(ArchiveMovement.id)).scalars().all()


def status_counts(user=None):
    query = select(ArchiveItem.status, func.count()).group_by(ArchiveItem.status)
    return dict(db.session.execute(_scoped(query, user)).all())


# -- Excel ----------------------------------------------------------------------------------------
def _workbook(title, columns, rows):
    from app.services import excel

    data = list(rows)
    return excel.write_workbook(columns, data, title=title, constant_memory=len(data) > 5000,
                                params=[("导出日期", _today().isoformat()), ("记录数", str(len(data)))])


def items_workbook(items, title="档案清单"):
    from app.services.excel import Column

    columns = [Column("档案编号", width=18), Column("档案类型", width=16), Column("档案名称", width=30),
               Column("客户", width=20), Column("项目", width=18), Column("权证编号", width=24),
               Column("份数", kind="int", width=8), Column("页数", kind="int", width=8),
               Column("存放位置", width=24), Column("档案等级", width=10), Column("保管期满", kind="date", width=12),
               Column("状态", width=12), Column("代管", width=8), Column("权利人", width=14),
               Column("保管人", width=12), Column("所属机构", width=14), Column("入库日期", kind="date", width=12)]
    return _workbook(title, columns, (
        [i.archive_no, doc_type_label(i.doc_type), i.title, i.customer.name if i.customer else "",
         i.loan.loan_no if i.loan else "", i.certificate_no or "", i.pieces, i.pages, i.location,
         level_label(i.level), i.retain_until, i.status_label, i.custody_label, i.owner_name or "",
         _name(i.custodian), str(i.branch or ""), i.filed_on] for i in items))


def movements_workbook(movements, title="档案登记薄"):
    from app.services.excel import Column

    columns = [Column("日期", kind="date", width=12), Column("登记类型", width=10), Column("档案编号", width=18),
               Column("档案名称", width=30), Column("出库用途", width=14), Column("原状态", width=10),
               Column("新状态", width=10), Column("交出人", width=12), Column("接收人", width=12),
               Column("完好情况", width=14), Column("事由", width=30), Column("位置", width=22),
               Column("经办人", width=12)]
    return _workbook(title, columns, (
        [m.occurred_on, m.kind_label, m.archive_no, m.item_title, m.purpose_label, m.from_status_label,
         m.to_status_label, m.handed_by or "", m.received_by or "", m.condition or "", m.reason or "",
         m.location or "", _name(m.operator)] for m in movements))


def transfers_workbook(transfers, title="档案移交登记"):
    from app.services.excel import Column

    columns = [Column("移交编号", width=18), Column("档案编号", width=18), Column("档案名称", width=30),
               Column("移交日期", kind="date", width=12), Column("移交人", width=12), Column("接收人", width=16),
               Column("接收机构", width=14), Column("新位置", width=20), Column("原因", width=30),
               Column("状态", width=12), Column("确认日期", kind="date", width=12), Column("签收人", width=12)]
    return _workbook(title, columns, (
        [t.transfer_no, t.item.archive_no, t.item.title, t.sent_on, _name(t.from_user), t.receiver_label,
         str(t.to_branch or ""), t.to_location, t.reason, t.status_label, t.confirmed_on, t.receiver_name or ""]
        for t in transfers))


def labels_of(ids, user=None):
    """Items for the label sheet (ids in scope, in the order given)."""
    if not ids:
        return []
    rows = db.session.execute(_scoped(select(ArchiveItem).where(ArchiveItem.id.in_(ids)), user)).scalars().all()
    order = {item_id: n for n, item_id in enumerate(ids)}
    return sorted(rows, key=lambda i: order.get(i.id, 0))



from app.services import archive_requests  # noqa: E402,F401  (registers the flows and hooks)
