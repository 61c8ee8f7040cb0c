"""客户管理 use cases: validate and register customers, the blacklist check the loan
service calls, the materials checklist and everything the customer view shows.

``check`` works on a plain mapping of field values so that the form, the REST API and the
Excel import share one set of rules; each failure is a DomainError naming the field.
"""
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select

from app.domain import identity
from app.domain.errors import DomainError
from app.extensions import db
from app.models import (
    Attachment, BlacklistEntry, Customer, CustomerVisit, FieldInvestigation,
    MaterialRequirement, RelatedParty,
)
from app.models.customer import CUSTOMER_KINDS
from app.services import dictionaries, settings
from app.services.numbering import next_number
from app.services.scope import apply_scope, can_see_branch

PERSON_KINDS = ("person", "sole_trader")
# Money and count fields that may not be negative, with their Chinese labels.
_NON_NEGATIVE = {
    "family_annual_income": "家庭年收入", "house_value": "房产价值", "car_value": "车辆价值",
    "monthly_income": "月收入", "registered_capital": "注册资本", "annual_revenue": "年营业收入",
    "dependants": "供养人数", "years_employed": "工作年限", "employees": "员工人数",
}
_MONEY_FIELDS = ("family_annual_income", "house_value", "car_value", "monthly_income",
                 "registered_capital", "annual_revenue")


def _text(values, key):
    value = values.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _require(values, key, label):
    value = _text(values, key)
    if not value:
        raise DomainError(f"请填写{label}", key)
    return value


def _duplicate(column, value, customer_id, label):
    existing = db.session.execute(
        select(Customer).where(column == value, Customer.id != (customer_id or 0))
    ).scalar_one_or_none()
    if existing is not None:
        raise DomainError(
            f"{label} {value} 已登记为客户“{existing.name}”（客户编号 {existing.customer_no}，"
            f"{existing.branch.name if existing.branch else ''}），不能重复建档", column.key)


def check(values, kind, customer_id=None):
    """Validate one customer's fields; returns the normalised values to store.

    ``values`` maps column names to what the user entered (strings, dates, Decimals or
    related objects). Raises DomainError(message, field) at the first problem.
    """
    if kind not in CUSTOMER_KINDS:
        raise DomainError(f"客户类型“{kind}”无效，应为个人、企业或个体工商户", "kind")
    today = settings.business_date()
    clean = dict(values)
    clean["kind"] = kind
    clean["name"] = _require(values, "name", "企业名称" if kind == "company" else "客户姓名")
    if kind in PERSON_KINDS:
        clean["id_number"] = identity.normalize_id_number(values.get("id_number"))
        # Gender and birth date are read off the ID number, never typed (so they cannot
        # contradict it, and correcting the ID number corrects them).
        clean["gender"] = identity.gender_of(clean["id_number"])
        clean["birth_date"] = identity.birth_date_of(clean["id_number"])
        if identity.age_on(clean["id_number"], today) < 18:
            raise DomainError("客户未满 18 周岁，不能建档", "id_number")
        clean["mobile"] = identity.normalize_mobile(values.get("mobile"))
        if _text(values, "spouse_id_number"):
            clean["spouse_id_number"] = identity.normalize_id_number(
                values["spouse_id_number"], "spouse_id_number", "配偶身份证号")
            if clean["spouse_id_number"] == clean["id_number"]:
                raise DomainError("配偶身份证号不能与客户本人相同", "spouse_id_number")
        clean["spouse_mobile"] = identity.normalize_mobile(
            values.get("spouse_mobile"), "spouse_mobile", required=False, label="配偶手机号码")
        _duplicate(Customer.id_number, clean["id_number"], customer_id, "身份证号")
    else:
        clean["id_number"] = None
        clean["gender"] = clean["birth_date"] = None
        clean["legal_rep_name"] = _require(values, "legal_rep_name", "法定代表人姓名")
        if _text(values, "legal_rep_id_number"):
            clean["legal_rep_id_number"] = identity.normalize_id_number(
                values["legal_rep_id_number"], "legal_rep_id_number", "法定代表人身份证号")
        clean["mobile"] = identity.normalize_mobile(values.get("mobile"), required=False, label="联系电话（手机）")
        identity.check_not_future(values.get("founded_on"), "成立日期", "founded_on", today)
    if kind in ("company", "sole_trader"):
        label = "营业执照号（统一社会信用代码）" if kind == "sole_trader" else "统一社会信用代码"
        clean["credit_code"] = identity.normalize_credit_code(values.get("credit_code"), label=label)
        _duplicate(Customer.credit_code, clean["credit_code"], customer_id, "统一社会信用代码")
        if kind == "sole_trader":
            clean["business_name"] = _require(values, "business_name", "字号（个体工商户名称）")
    else:
        clean["credit_code"] = None
    for key, label in _NON_NEGATIVE.items():
        value = values.get(key)
        if value in (None, ""):
            clean[key] = None
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise DomainError(f"{label}“{value}”不是有效的数字", key)
        if not number.is_finite() or number >= Decimal("1e15"):
            raise DomainError(f"{label}“{value}”不是有效的金额或数量", key)
        if number < 0:
            raise DomainError(f"{label}不能为负数", key)
        clean[key] = number.quantize(Decimal("0.01")) if key in _MONEY_FIELDS else int(number)
    account = _text(values, "bank_account_no")
    if account:
        account = re.sub(r"\s", "", account)
        if not re.fullmatch(r"\d{8,30}", account):
            raise DomainError(f"银行账号“{account}”应为 8 至 30 位数字", "bank_account_no")
        if not _text(values, "bank_name"):
            raise DomainError("填写了银行账号时请同时填写开户银行", "bank_name")
    clean["bank_account_no"] = account
    email = _text(values, "email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise DomainError(f"电子邮箱“{email}”格式不正确", "email")
    for column in Customer.__table__.columns:
        limit = getattr(column.type, "length", None)
        value = clean.get(column.key)
        if limit and isinstance(value, str) and len(value) > limit:
            raise DomainError(f"内容过长：最多 {limit} 个字符，现为 {len(value)} 个（“{value[:20]}…”）", column.key)
    officer = values.get("officer")
    if officer is not None:
        if not getattr(officer, "branch_id", None):
            raise DomainError(f"客户经理“{officer}”未设置所属机构，请先在用户管理中设置", "officer")
        if not can_see_branch(officer.branch_id):
            raise DomainError(f"客户经理“{officer}”不在您的管辖机构内", "officer")
    intermediary = values.get("intermediary")
    if intermediary is not None and intermediary.branch_id and not can_see_branch(intermediary.branch_id):
        raise DomainError(f"中介“{intermediary.name}”不属于您的管辖机构", "intermediary")
    return clean


COLUMNS = [c.key for c in Customer.__table__.columns]


def values_of(customer):
    """A customer's column values and officer as a mapping for ``check``."""
    values = {key: getattr(customer, key) for key in COLUMNS}
    values["officer"] = customer.officer
    values["intermediary"] = customer.intermediary
    return values


def prepare(customer, user):
    """Validate a new or edited customer in place before it is saved (form, API, import)."""
    # No autoflush while the values are read and checked: a query in ``check`` would flush
    # the form's new relations (officer, intermediary), and writing the foreign keys read
    # before it back would undo them (an intermediary picked on the edit form was lost).
    with db.session.no_autoflush:
        clean = check(values_of(customer), customer.kind, customer.id)
        for key, value in clean.items():
            if key in COLUMNS and getattr(customer, key) != value:
                setattr(customer, key, value)
    if customer.officer is None and customer.officer_id is None:
        customer.officer = user
    officer = customer.officer
    customer.branch_id = officer.branch_id if officer is not None else user.branch_id
    if not customer.branch_id:
        raise DomainError("无法确定客户所属机构：请为客户经理设置所属机构", "officer")
    if not customer.customer_no:
        prefix = settings.get("customer_no_prefix") or "KH"
        customer.customer_no = next_number(prefix, settings.business_date())
        customer.created_by_id = getattr(user, "id", None)
    customer.status = customer.status or "active"
    customer.is_blacklisted = active_blacklist_entry(customer) is not None
    return customer


def active_blacklist_entry(customer):
    identifiers = [value for value in (customer.id_number, customer.credit_code) if value]
    if not identifiers:
        return None
    return db.session.execute(
        select(BlacklistEntry).where(BlacklistEntry.identifier.in_(identifiers),
                                     BlacklistEntry.status == "active")
        .order_by(BlacklistEntry.listed_on.desc()).limit(1)
    ).scalar_one_or_none()


def ensure_not_blacklisted(customer):
    """Raise DomainError when the customer's ID number or credit code is blacklisted."""
    entry = active_blacklist_entry(customer)
    if entry is not None:
        raise DomainError(
            f"客户“{customer.name}”（{entry.identifier}）已于 {entry.listed_on:%Y-%m-%d} 列入不良客户名单，"
            f"原因：{entry.reason}。不能办理新贷款；如需办理，请先由管理员解除黑名单。", "customer")


def search(term, limit=20, user=None):
    """Customers in the user's scope whose name, number, ID number, credit code or mobile
    starts with (or, for names, contains) ``term``: the AJAX picker's query."""
    term = (term or "").strip()
    if not term:
        return []
    like = f"{term}%"
    query = select(Customer).where(or_(
        Customer.name.like(f"%{term}%"), Customer.customer_no.like(like), Customer.id_number.like(like.upper()),
        Customer.credit_code.like(like.upper()), Customer.mobile.like(like),
    )).order_by(Customer.name).limit(limit)
    return db.session.execute(apply_scope(query, Customer.branch_id, user)).scalars().all()


def material_checklist(customer):
    """[{doc_type, label, required, received: [Attachment]}] for the customer's kind,
    followed by any other document types already uploaded."""
    labels = dictionaries.labels("document_type")
    requirements = db.session.execute(
        select(MaterialRequirement).where(MaterialRequirement.customer_kind == customer.kind)
        .order_by(MaterialRequirement.sort_order, MaterialRequirement.id)).scalars().all()
    files = db.session.execute(
        select(Attachment).where(Attachment.owner_type == "customer", Attachment.owner_id == customer.id)
        .order_by(Attachment.uploaded_at)).scalars().all()
    by_type = {}
    for attachment in files:
        by_type.setdefault(attachment.doc_type, []).append(attachment)
    rows = [{"doc_type": r.doc_type, "label": labels.get(r.doc_type, r.doc_type), "required": r.is_required,
             "received": by_type.pop(r.doc_type, [])} for r in requirements]
    rows += [{"doc_type": code, "label": labels.get(code, code or "未分类"), "required": False, "received": items}
             for code, items in by_type.items()]
    return rows


def missing_materials(customer):
    return [row["label"] for row in material_checklist(customer) if row["required"] and not row["received"]]


def related_parties(customer):
    """Links in both directions: [(other customer, relation label, link)]."""
    links = db.session.execute(select(RelatedParty).where(or_(
        RelatedParty.customer_id == customer.id, RelatedParty.related_customer_id == customer.id))).scalars().all()
    return [(link.related_customer if link.customer_id == customer.id else link.customer, link.relation_label, link)
            for link in links]


def related_customer_ids(customer_id):
    """Ids of the customers linked to this one, in either direction (concentration limit)."""
    rows = db.session.execute(select(RelatedParty.customer_id, RelatedParty.related_customer_id).where(or_(
        RelatedParty.customer_id == customer_id, RelatedParty.related_customer_id == customer_id))).all()
    return sorted({a if b == customer_id else b for a, b in rows})


def check_related_party(link):
    if not link.customer_id and link.customer is None:
        raise DomainError("请选择客户", "customer")
    if not link.related_customer_id and link.related_customer is None:
        raise DomainError("请选择关联客户", "related_customer")
    first = link.customer or db.session.get(Customer, link.customer_id)
    second = link.related_customer or db.session.get(Customer, link.related_customer_id)
    if first.id == second.id:
        raise DomainError("客户不能与自己建立关联关系", "related_customer")
    if not can_see_branch(first.branch_id):
        raise DomainError("只能为本机构的客户维护关联方", "customer")
    reverse = db.session.execute(select(RelatedParty).where(
        RelatedParty.customer_id == second.id, RelatedParty.related_customer_id == first.id,
        RelatedParty.id != (link.id or 0))).scalar_one_or_none()
    same = db.session.execute(select(RelatedParty).where(
        RelatedParty.customer_id == first.id, RelatedParty.related_customer_id == second.id,
        RelatedParty.id != (link.id or 0))).scalar_one_or_none()
    if reverse is not None or same is not None:
        raise DomainError(f"“{first.name}”与“{second.name}”的关联关系已登记", "related_customer")


def check_related_person(person):
    if person.customer is None and not person.customer_id:
        raise DomainError("请选择客户", "customer")
    if not (person.name or "").strip():
        raise DomainError("请填写姓名", "name")
    if person.id_number:
        person.id_number = identity.normalize_id_number(person.id_number, "id_number", "关联人身份证号")
    person.mobile = identity.normalize_mobile(person.mobile, required=False, label="关联人手机号码")
    customer = person.customer or db.session.get(Customer, person.customer_id)
    if not can_see_branch(customer.branch_id):
        raise DomainError("只能为本机构的客户维护关联人", "customer")


def profile(customer):
    """Everything the customer view (客户视图) shows, gathered in one place."""
    from app.services import attachments as attachment_service

    visits = db.session.execute(select(CustomerVisit).where(CustomerVisit.customer_id == customer.id)).scalars().all()
    investigations = db.session.execute(
        select(FieldInvestigation).where(FieldInvestigation.customer_id == customer.id)
        .order_by(FieldInvestigation.investigated_on.desc())).scalars().all()
    identifiers = [v for v in (customer.id_number, customer.credit_code) if v]
    blacklist = db.session.execute(
        select(BlacklistEntry).where(BlacklistEntry.identifier.in_(identifiers))
        .order_by(BlacklistEntry.created_at.desc())).scalars().all() if identifiers else []
    labels = {code: dictionaries.labels(code)
              for code in ("customer_source", "education", "marital_status", "industry", "document_type")}
    investigation_files = {
        inv.id: attachment_service.for_owner("investigation", inv.id) for inv in investigations}
    return {
        "customer": customer,
        "related_persons": customer.related_persons,
        "related_parties": related_parties(customer),
        "attachments": attachment_service.for_owner("customer", customer.id),
        "materials": material_checklist(customer),
        "visits": visits,
        "investigations": investigations,
        "investigation_files": investigation_files,
        "blacklist": blacklist,
        "labels": labels,
    }


def _register_attachment_owners():
    from app.services.attachments import register_owner

    register_owner("customer", "客户", Customer, lambda customer: customer.branch_id)
    register_owner("investigation", "实地调查", FieldInvestigation, lambda inv: inv.branch_id)


_register_attachment_owners()
