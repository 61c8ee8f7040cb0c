"""Guarantors, collateral and fees of a loan: added, edited and removed only while the
loan is a draft (or returned), by someone who may handle it; each change rebuilds the
loan's fees, LTVs and annualised cost."""
from decimal import Decimal

from app.domain import identity
from app.domain.errors import DomainError
from app.domain.limits import fee_amount
from app.domain.money import ZERO
from app.extensions import db
from app.services import dictionaries, loans


def check_editable(loan, user):
    if loan is None:
        raise DomainError("请从项目详情页添加", "loan")
    if not loan.is_editable:
        raise DomainError(f"项目 {loan.loan_no} 当前状态为“{loan.status_label}”，担保和费用不能再修改")
    if not loans.can_handle(loan, user):
        raise DomainError("只有项目的客户经理或被授权办理的用户可以修改")


def check_guarantor(item, user):
    check_editable(item.loan, user)
    if item.customer is not None:
        if item.customer.id == item.loan.customer_id:
            raise DomainError("借款人本人不能作为保证人", "customer")
        loans.customer_service.ensure_not_blacklisted(item.customer)
        item.kind = "company" if item.customer.kind == "company" else "person"
        item.name = item.customer.name
        item.identifier = item.customer.identifier
        item.mobile = item.mobile or item.customer.mobile
    if not (item.name or "").strip():
        raise DomainError("请填写保证人姓名或名称，或选择已有客户", "name")
    if item.kind == "company":
        item.identifier = identity.normalize_credit_code(item.identifier, "identifier")
    else:
        item.identifier = identity.normalize_id_number(item.identifier, "identifier", "保证人身份证号")
    if item.identifier == item.loan.customer.identifier:
        raise DomainError("借款人本人不能作为保证人", "identifier")
    item.mobile = identity.normalize_mobile(item.mobile, required=False, label="保证人手机号码")
    if item.guaranteed_amount is None or item.guaranteed_amount <= 0:
        raise DomainError("担保金额必须大于 0", "guaranteed_amount")
    if item.period_months is None or item.period_months <= 0:
        raise DomainError("保证期间（月）必须大于 0；未约定时为主债务履行期届满之日起 6 个月", "period_months")


def check_collateral(item, user):
    check_editable(item.loan, user)
    if dictionaries.item("collateral_type", item.collateral_type) is None:
        raise DomainError("请选择抵质押物类型", "collateral_type")
    for key, label in (("name", "抵质押物名称"), ("owner_name", "所有权人")):
        if not (getattr(item, key) or "").strip():
            raise DomainError(f"请填写{label}", key)
    if item.appraised_value is None or item.appraised_value <= 0:
        raise DomainError("评估价值必须大于 0", "appraised_value")
    if item.kind == "pledge" and not (item.custodian or "").strip():
        raise DomainError("质押物须填写保管人（质押自交付时设立）", "custodian")
    if item.collateral_type == "house" and not (item.house_address or "").strip():
        raise DomainError("房产须填写房屋坐落地址", "house_address")
    if item.collateral_type == "vehicle":
        if not (item.vehicle_plate or "").strip():
            raise DomainError("车辆须填写车牌号", "vehicle_plate")
        if item.vehicle_vin and len(item.vehicle_vin.strip()) != 17:
            raise DomainError("车架号（VIN）应为 17 位", "vehicle_vin")
    item.ltv_pct = loans.ltv_pct(item.loan.amount, item.appraised_value)


def check_fee(item, user):
    check_editable(item.loan, user)
    if dictionaries.item("fee_type", item.fee_type) is None:
        raise DomainError("请选择费用类型", "fee_type")
    if item.value is None or item.value < 0:
        raise DomainError("费用金额或比例不能为负数", "value")
    item.amount = fee_amount(item.basis, Decimal(item.value), Decimal(item.loan.amount))


def after_change(loan):
    """Rebuild the schedule-derived figures after a guarantor, collateral or fee changed."""
    loans.rebuild(loan)
    db.session.commit()


def totals(loan):
    rows = loan.installments
    return {
        "principal": sum((r.principal for r in rows), ZERO), "interest": sum((r.interest for r in rows), ZERO),
        "total": sum((r.total for r in rows), ZERO),
        "fees": sum((f.amount for f in loan.fees), ZERO),
        "collateral_value": sum((c.appraised_value for c in loan.collaterals), ZERO),
        "guaranteed": sum((g.guaranteed_amount for g in loan.guarantors), ZERO),
    }
