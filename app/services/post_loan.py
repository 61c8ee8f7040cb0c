"""Post-loan management (贷后管理): check tasks, check records, company changes, visits and
the post-loan investigation report (贷后调查报告).

Tasks (DOMAIN.md §8, parameters in 系统参数):
- at disbursement (``DISBURSED_HOOKS``): the first check (首次跟踪检查) due
  ``post_loan_first_days`` days after the payout, then periodic checks every
  ``post_loan_short_interval_months`` months for a loan whose term is at most
  ``post_loan_short_term_months`` months, else every ``post_loan_long_interval_months``
  months, on the disbursement day of month (对日), strictly before maturity (maturity itself
  is the repayment; what follows it is overdue handling);
- nightly (``schedule_special_checks``): a special check (专项检查) for each active loan with
  an overdue installment, once per overdue episode;
- on demand (``flag_collateral``): a special check when a check found the collateral bad.

A task is completed by saving a check against it (``record_check``), in one transaction with
its photos and documents (attachments, owner type ``post_loan_check``).
"""
import io
from datetime import datetime, timedelta

from sqlalchemy import Date, DateTime, and_, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.domain.daycount import add_months
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Customer, Installment, Loan
from app.models.post_loan import (
    BAD_COLLATERAL, CHANGE_TYPES, CHECK_CONCLUSIONS, CHECK_METHODS, COLLATERAL_CONDITIONS, VISIT_METHODS,
    CompanyChange, PostLoanCheck, PostLoanTask, PostLoanVisit,
)
from app.services import attachments, loans, settings
from app.services.scope import can_see_branch, visible_branch_ids

#: Days given for a special check (no system parameter yet: ``post_loan_special_days`` if an
#: administrator adds one).
SPECIAL_CHECK_DAYS = 7
#: Loan statuses on which checks and visits are recorded.
CHECKED_STATUSES = ("active", "written_off")
VISITED_STATUSES = ("active", "settled", "written_off", "closed")
#: Company-type customers whose registration changes are followed.
COMPANY_KINDS = ("company", "sole_trader")
ATTACHMENT_OWNER = "post_loan_check"


def _int_setting(key, default):
    try:
        return int(settings.get(key, default))
    except (TypeError, ValueError):
        return default


def special_check_days():
    return _int_setting("post_loan_special_days", SPECIAL_CHECK_DAYS)


# -- scope -------------------------------------------------------------------------------
def visible_condition(model, user=None):
    """SQL condition on a loan-linked post-loan row: the user's branches or loans granted to
    them (as the loan lists); None when the user sees every branch."""
    from flask import g

    user = user or g.get("user")
    ids = visible_branch_ids(user)
    if ids is None:
        return None
    return or_(model.branch_id.in_(ids), model.loan_id.in_(loans.granted_loan_ids(user)))


# -- task plan ---------------------------------------------------------------------------
def is_short_term(loan, maturity, short_term_months):
    """Term ≤ the short-term limit: months for monthly products, the maturity date otherwise."""
    if loan.product is not None and loan.product.period == "month":
        return int(loan.term) <= short_term_months
    return maturity <= add_months(loan.start_date, short_term_months)


def plan_tasks(disbursed_on, maturity, short_term, first_days, short_interval, long_interval):
    """[(kind, due date)]: the first check, then periodic checks before maturity (pure)."""
    first_due = min(disbursed_on + timedelta(days=first_days), maturity)
    rows = [("first", first_due)]
    interval = short_interval if short_term else long_interval
    k = 1
    while True:
        due = add_months(disbursed_on, k * interval)
        if due >= maturity:
            break
        if due > first_due:
            rows.append(("periodic", due))
        k += 1
    return rows


def create_tasks_at_disbursement(loan, payout, user):
    """DISBURSED_HOOKS entry: the loan's check plan, inside the payout's transaction."""
    disbursed_on = payout.disbursed_on
    maturity = max((i.due_date for i in loan.installments), default=disbursed_on)
    short = is_short_term(loan, maturity, _int_setting("post_loan_short_term_months", 6))
    plan = plan_tasks(disbursed_on, maturity, short, _int_setting("post_loan_first_days", 15),
                      _int_setting("post_loan_short_interval_months", 1),
                      _int_setting("post_loan_long_interval_months", 3))
    for kind, due in plan:
        db.session.add(PostLoanTask(
            loan_id=loan.id, kind=kind, cause="schedule", due_date=due, triggered_on=disbursed_on,
            officer_id=loan.officer_id, branch_id=loan.branch_id, status="open",
            reason="贷后首次跟踪调查" if kind == "first" else "按期贷后检查"))
    db.session.flush()
    return len(plan)


def _register_hook():
    from app.services import disbursement

    if create_tasks_at_disbursement not in disbursement.DISBURSED_HOOKS:
        disbursement.DISBURSED_HOOKS.append(create_tasks_at_disbursement)


_register_hook()


# -- nightly step --------------------------------------------------------------------------
def schedule_special_checks(as_of):
    """Nightly batch step: open a special check (专项检查) for each loan that became overdue.

    Set-based (INSERT … SELECT), idempotent for a date. Returns the number of tasks created.

    A loan qualifies when it is active, has an installment overdue on ``as_of`` (due before
    it, not paid off) and no special task covers it: none open, and none opened for overdue
    since its oldest unpaid installment fell due (one special check per overdue episode; a
    cancelled one is not reopened). Two housekeeping statements run first: open tasks follow
    the loan's current officer and branch, and open tasks of settled loans are cancelled.
    Runs in the caller's transaction (flush only): the batch commits.
    """
    task, loan, item = PostLoanTask.__table__, Loan.__table__, Installment.__table__
    db.session.flush()
    # Open tasks follow a loan handed to another officer (贷款变更).
    moved = select(loan.c.id).where(loan.c.id == task.c.loan_id, or_(
        loan.c.officer_id != task.c.officer_id, loan.c.branch_id != task.c.branch_id))
    db.session.execute(
        update(task).where(task.c.status == "open", exists(moved))
        .values(officer_id=select(loan.c.officer_id).where(loan.c.id == task.c.loan_id).scalar_subquery(),
                branch_id=select(loan.c.branch_id).where(loan.c.id == task.c.loan_id).scalar_subquery()))
    db.session.execute(
        update(task).where(task.c.status == "open",
                           task.c.loan_id.in_(select(loan.c.id).where(loan.c.status.in_(("settled", "closed")))))
        .values(status="cancelled", completed_on=as_of, reason="项目已结清，检查任务自动取消"))

    unpaid = and_(item.c.loan_id == loan.c.id, item.c.due_date < as_of, item.c.paid_off_on.is_(None))
    oldest_due = select(func.min(item.c.due_date)).where(unpaid).correlate(loan).scalar_subquery()
    covered = select(task.c.id).where(
        task.c.loan_id == loan.c.id, task.c.kind == "special",
        or_(task.c.status == "open", and_(task.c.cause == "overdue", task.c.triggered_on > oldest_due)))
    due = as_of + timedelta(days=special_check_days())
    source = select(
        loan.c.id, literal("special"), literal("overdue"), literal(due, Date), literal(as_of, Date),
        loan.c.officer_id, loan.c.branch_id, literal("open"), literal("贷款逾期，须进行专项检查"),
        literal(datetime.now(), DateTime),
    ).where(loan.c.status == "active", exists(select(item.c.id).where(unpaid)), ~exists(covered))
    result = db.session.execute(task.insert().from_select(
        ["loan_id", "kind", "cause", "due_date", "triggered_on", "officer_id", "branch_id", "status", "reason",
         "created_at"], source))
    return result.rowcount or 0


# -- checks --------------------------------------------------------------------------------
def _text(values, key, label=None, required=False):
    value = (values.get(key) or "").strip()
    if required and not value:
        raise DomainError(f"请填写{label}", key)
    return value or None


def _visible_loan(loan_id, user, statuses, what):
    loan = db.session.get(Loan, loan_id) if loan_id else None
    if loan is None or not loans.can_see(loan, user):
        raise DomainError("请选择项目（项目不存在或无权访问）", "loan")
    if loan.status not in statuses:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能{what}", "loan")
    return loan


def _check_date(value, label, field, loan, today):
    if value is None:
        raise DomainError(f"请填写{label}", field)
    if value > today:
        raise DomainError(f"{label} {value} 不能晚于营业日期 {today}", field)
    if loan.start_date and value < loan.start_date:
        raise DomainError(f"{label} {value} 不能早于放款日期 {loan.start_date}", field)


def _lock_task(task_id):
    postgres = db.session.get_bind().dialect.name == "postgresql"
    return db.session.get(PostLoanTask, task_id, with_for_update=postgres)


def build_check(values, user, today=None):
    """Validate the check form's values (a dict) and return an unsaved PostLoanCheck."""
    today = today or settings.business_date()
    task = None
    if values.get("task_id"):
        task = _lock_task(int(values["task_id"]))
        if task is None or not loans.can_see(task.loan, user):
            raise DomainError("检查任务不存在或无权访问", "task_id")
        if task.status != "open":
            raise DomainError(f"检查任务{task.status_label}，不能再登记检查", "task_id")
        loan_id = task.loan_id
    else:
        loan_id = values.get("loan_id")
    loan = _visible_loan(loan_id, user, CHECKED_STATUSES, "登记贷后检查")
    checked_on = values.get("checked_on")
    _check_date(checked_on, "检查日期", "checked_on", loan, today)
    method = values.get("method")
    if method not in CHECK_METHODS:
        raise DomainError("请选择检查方式（现场、电话或其他）", "method")
    condition = values.get("collateral_condition") or "na"
    if condition not in COLLATERAL_CONDITIONS:
        raise DomainError("请选择抵质押物状况", "collateral_condition")
    conclusion = values.get("conclusion")
    if conclusion not in CHECK_CONCLUSIONS:
        raise DomainError("请选择检查结论（正常、关注或风险）", "conclusion")
    check = PostLoanCheck(
        loan_id=loan.id, task_id=task.id if task else None, checked_on=checked_on, method=method,
        business_operation=_text(values, "business_operation", "经营情况", True),
        use_of_funds=_text(values, "use_of_funds", "资金用途", True),
        collateral_condition=condition, collateral_notes=_text(values, "collateral_notes"),
        repayment_ability=_text(values, "repayment_ability", "还款能力", True),
        risk_signals=_text(values, "risk_signals"), conclusion=conclusion,
        next_actions=_text(values, "next_actions"), checker_id=user.id, branch_id=loan.branch_id)
    if condition in BAD_COLLATERAL and not check.collateral_notes:
        raise DomainError("抵质押物状况异常时请说明具体情况", "collateral_notes")
    if conclusion == "risk" and not check.risk_signals:
        raise DomainError("检查结论为“风险”时请填写风险信号", "risk_signals")
    return check, task


def record_check(values, files, user):
    """Save a check (completing its task, if any) with its files; commits. ``files`` is a
    list of (file name, bytes). Nothing is saved when anything is refused."""
    try:
        check, task = build_check(values, user)
        db.session.add(check)
        db.session.flush()
        for name, data in files:
            is_image = (name or "").lower().rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "gif", "bmp")
            attachments.save(name, data, ATTACHMENT_OWNER, check.id, user, doc_type="photo" if is_image else "other",
                             branch_id=check.branch_id, commit=False)
        if task is not None:
            task.status = "done"
            task.completed_on = check.checked_on
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return check


def flag_collateral(check_id, user):
    """抵质押物预警: a check found the collateral impaired or lost → a special check for the
    loan (or the reason added to its open special check); commits. Returns the task."""
    try:
        check = db.session.get(PostLoanCheck, check_id)
        if check is None or not loans.can_see(check.loan, user):
            raise DomainError("检查记录不存在或无权访问")
        if not check.collateral_is_bad:
            raise DomainError("只有抵质押物状况为异常或灭失的检查记录才能发起抵质押物预警")
        if check.collateral_flagged_on is not None:
            raise DomainError(f"该检查记录已于 {check.collateral_flagged_on} 发起过抵质押物预警")
        loan = check.loan
        if loan.status not in CHECKED_STATUSES:
            raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，不能发起专项检查")
        today = settings.business_date()
        reason = f"抵质押物{check.collateral_label}（{check.checked_on} 检查发现）"
        task = db.session.execute(select(PostLoanTask).where(
            PostLoanTask.loan_id == loan.id, PostLoanTask.kind == "special", PostLoanTask.status == "open")
        ).scalar_one_or_none()
        if task is None:
            task = PostLoanTask(loan_id=loan.id, kind="special", cause="collateral", triggered_on=today,
                                due_date=today + timedelta(days=special_check_days()), officer_id=loan.officer_id,
                                branch_id=loan.branch_id, status="open", reason=reason)
            db.session.add(task)
        else:
            task.reason = f"{task.reason or ''}；{reason}".strip("；")[:300]
        check.collateral_flagged_on = today
        try:
            db.session.commit()
        except IntegrityError:   # another user opened the loan's special check meanwhile
            raise DomainError("该项目刚刚生成了专项检查任务，请刷新页面后重试") from None
        return task
    except Exception:
        db.session.rollback()
        raise


def cancel_task(task_id, user, reason):
    """Cancel an open task with a reason (e.g. loan settled early); commits."""
    reason = (reason or "").strip()
    task = db.session.get(PostLoanTask, task_id)
    if task is None or not loans.can_see(task.loan, user):
        raise DomainError("检查任务不存在或无权访问")
    if task.status != "open":
        raise DomainError(f"检查任务{task.status_label}，不能取消")
    if not reason:
        raise DomainError("请填写取消原因", "reason")
    task.status = "cancelled"
    task.completed_on = settings.business_date()
    task.reason = f"{task.reason or ''}；取消：{reason}".strip("；")[:300]
    db.session.commit()
    return task


# -- company changes and visits -------------------------------------------------------------
def check_company_change(item, user):
    """Validate a 企业信息变动 record in place (form and service)."""
    customer = item.customer
    if customer is None:
        raise DomainError("请选择企业客户", "customer")
    if not can_see_branch(customer.branch_id, user):
        raise DomainError("只能登记本机构客户的信息变动", "customer")
    if customer.kind not in COMPANY_KINDS:
        raise DomainError(f"客户“{customer.name}”不是企业或个体工商户，无需登记企业信息变动", "customer")
    if item.change_type not in CHANGE_TYPES:
        raise DomainError("请选择变动类型", "change_type")
    today = settings.business_date()
    if item.changed_on is None:
        raise DomainError("请填写变动日期", "changed_on")
    if item.changed_on > today:
        raise DomainError(f"变动日期不能晚于营业日期 {today}", "changed_on")
    item.new_value = (item.new_value or "").strip()
    if not item.new_value:
        raise DomainError("请填写变动后的内容", "new_value")
    item.source = (item.source or "").strip()
    if not item.source:
        raise DomainError("请填写信息来源（如国家企业信用信息公示系统、裁判文书网、客户告知）", "source")
    if item.change_type == "litigation":
        item.is_flagged = True   # 涉诉 is always a risk signal
    item.is_flagged = bool(item.is_flagged)
    item.branch_id = customer.branch_id
    item.recorded_by_id = item.recorded_by_id or getattr(user, "id", None)


def check_visit(item, user):
    """Validate a 贷后回访 record in place (form and service)."""
    loan = item.loan
    if loan is None or not loans.can_see(loan, user):
        raise DomainError("请选择项目（项目不存在或无权访问）", "loan")
    if loan.status not in VISITED_STATUSES:
        raise DomainError(f"项目 {loan.loan_no} 尚未放款，不能登记贷后回访", "loan")
    _check_date(item.visited_on, "回访日期", "visited_on", loan, settings.business_date())
    item.person_visited = (item.person_visited or "").strip()
    if not item.person_visited:
        raise DomainError("请填写回访对象", "person_visited")
    if item.method not in VISIT_METHODS:
        raise DomainError("请选择回访方式", "method")
    for field, label in (("content", "回访内容"), ("result", "回访结果")):
        value = (getattr(item, field) or "").strip()
        if not value:
            raise DomainError(f"请填写{label}", field)
        setattr(item, field, value)
    item.branch_id = loan.branch_id
    item.visitor_id = item.visitor_id or getattr(user, "id", None)


# -- reading -------------------------------------------------------------------------------
def my_due_tasks(user, as_of=None, days=7, limit=10):
    """(rows, count): the user's open tasks that are overdue or due within ``days`` days."""
    as_of = as_of or settings.business_date()
    where = and_(PostLoanTask.officer_id == user.id, PostLoanTask.status == "open",
                 PostLoanTask.due_date <= as_of + timedelta(days=days))
    count = db.session.execute(select(func.count()).select_from(PostLoanTask).where(where)).scalar_one()
    rows = db.session.execute(
        select(PostLoanTask.id, PostLoanTask.kind, PostLoanTask.due_date, Loan.id.label("loan_id"), Loan.loan_no,
               Customer.name.label("customer_name"))
        .join(Loan, Loan.id == PostLoanTask.loan_id).join(Customer, Customer.id == Loan.customer_id)
        .where(where).order_by(PostLoanTask.due_date, PostLoanTask.id).limit(limit)).all() if count else []
    return rows, count


def loan_overview(loan):
    """What the loan page's 贷后检查 tab shows: tasks, checks (with files) and visits."""
    tasks = db.session.execute(select(PostLoanTask).where(PostLoanTask.loan_id == loan.id)
                               .order_by(PostLoanTask.due_date, PostLoanTask.id)).scalars().all()
    checks = db.session.execute(select(PostLoanCheck).where(PostLoanCheck.loan_id == loan.id)
                                .order_by(PostLoanCheck.checked_on.desc(), PostLoanCheck.id.desc())).scalars().all()
    visits = db.session.execute(select(PostLoanVisit).where(PostLoanVisit.loan_id == loan.id)
                                .order_by(PostLoanVisit.visited_on.desc())).scalars().all()
    return {"tasks": tasks, "checks": checks, "visits": visits, "as_of": settings.business_date()}


def flagged_changes(customer):
    """A customer's flagged 企业信息变动, newest first (the customer page's risk flag)."""
    return db.session.execute(select(CompanyChange).where(
        CompanyChange.customer_id == customer.id, CompanyChange.is_flagged.is_(True))
        .order_by(CompanyChange.changed_on.desc())).scalars().all()


# -- 贷后调查报告 ----------------------------------------------------------------------------
def _money(value):
    return f"{value:,.2f}" if value is not None else ""


def report_docx(loan_id, user):
    """The 贷后调查报告 of a loan as .docx bytes: the loan, its repayment position on the
    business date, every check with its findings, the visits and company changes."""
    from docx import Document
    from docx.shared import Pt

    from app.domain.schedule import METHOD_LABELS
    from app.services import repayments

    loan = db.session.get(Loan, loan_id)
    if loan is None or not loans.can_see(loan, user):
        raise DomainError("项目不存在或无权访问")
    if loan.status not in VISITED_STATUSES:
        raise DomainError(f"项目 {loan.loan_no} 尚未放款，没有贷后资料")
    today = settings.business_date()
    data = loan_overview(loan)
    summary = repayments.summary(loan, today)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    document.add_heading("贷后调查报告", level=0)
    document.add_paragraph(f"业务编号：{loan.loan_no}　　报告日期：{today}　　编制人：{user}")

    def table(rows):
        grid = document.add_table(rows=0, cols=4)
        grid.style = "Table Grid"
        for index in range(0, len(rows), 2):
            cells = grid.add_row().cells
            for offset, (label, value) in enumerate(rows[index:index + 2]):
                cells[offset * 2].text = label
                cells[offset * 2 + 1].text = "" if value is None else str(value)
        return grid

    document.add_heading("一、贷款基本情况", level=1)
    unit = "个月" if loan.product.period == "month" else "天"
    table([("借款人", loan.customer.name), ("客户编号", loan.customer.customer_no),
           ("贷款金额（元）", _money(loan.amount)), ("期限", f"{loan.term} {unit}"),
           ("年利率（%）", f"{loan.annual_rate.normalize():f}"), ("还款方式", METHOD_LABELS.get(loan.method, loan.method)),
           ("放款日期", loan.start_date), ("到期日期", loan.maturity_date), ("担保方式", loan.guarantee_label),
           ("客户经理", loan.officer), ("机构", loan.branch), ("状态", loan.status_label)])
    document.add_heading("二、还款情况", level=1)
    table([("统计日期", today), ("贷款余额（元）", _money(summary.principal_outstanding)),
           ("逾期本金（元）", _money(summary.overdue_principal)), ("逾期利息（元）", _money(summary.overdue_interest)),
           ("罚息（元）", _money(summary.penalty)), ("复利（元）", _money(summary.compound)),
           ("逾期天数", summary.overdue_days), ("已还本金（元）", _money(summary.principal_paid))])

    document.add_heading("三、贷后检查情况", level=1)
    tasks = data["tasks"]
    done = sum(1 for t in tasks if t.status == "done")
    late = sum(1 for t in tasks if t.is_overdue(today))
    document.add_paragraph(f"检查任务 {len(tasks)} 项，已完成 {done} 项，逾期未完成 {late} 项；"
                           f"检查记录 {len(data['checks'])} 份。")
    for number, check in enumerate(data["checks"], 1):
        document.add_heading(f"{number}. {check.checked_on} {check.kind_label}（{check.method_label}）", level=2)
        table([("检查人", check.checker), ("检查结论", check.conclusion_label),
               ("经营情况", check.business_operation), ("资金用途", check.use_of_funds),
               ("抵质押物状况", check.collateral_label), ("抵质押物说明", check.collateral_notes or ""),
               ("还款能力", check.repayment_ability), ("风险信号", check.risk_signals or "无"),
               ("后续措施", check.next_actions or ""),
               ("附件", "、".join(a.original_name for a in attachments.for_owner(ATTACHMENT_OWNER, check.id)) or "无")])
    if not data["checks"]:
        document.add_paragraph("尚无检查记录。")

    document.add_heading("四、贷后回访", level=1)
    for visit in data["visits"]:
        document.add_paragraph(f"{visit.visited_on} {visit.method_label}，回访对象：{visit.person_visited}。"
                               f"内容：{visit.content}　结果：{visit.result}")
    if not data["visits"]:
        document.add_paragraph("尚无回访记录。")
    if loan.customer.kind in COMPANY_KINDS:
        document.add_heading("五、企业信息变动情况", level=1)
        changes = db.session.execute(select(CompanyChange).where(CompanyChange.customer_id == loan.customer_id)
                                     .order_by(CompanyChange.changed_on)).scalars().all()
        for change in changes:
            flag = "【风险】" if change.is_flagged else ""
            document.add_paragraph(f"{flag}{change.changed_on} {change.change_type_label}：{change.old_value or '—'} → "
                                   f"{change.new_value}（来源：{change.source}）")
        if not changes:
            document.add_paragraph("无变动记录。")

    document.add_heading("检查结论", level=1)
    latest = data["checks"][0] if data["checks"] else None
    document.add_paragraph(f"最近一次检查（{latest.checked_on}）结论为“{latest.conclusion_label}”。"
                           if latest else "尚无检查结论。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), f"贷后调查报告_{loan.loan_no}_{today:%Y%m%d}.docx"


def _register_attachment_owner():
    attachments.register_owner(ATTACHMENT_OWNER, "贷后检查记录", PostLoanCheck, lambda check: check.branch_id)


_register_attachment_owner()

