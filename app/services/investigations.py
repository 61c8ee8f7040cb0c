"""实地调查: two different investigators, a date not in the future, a customer in scope."""
from app.domain import identity
from app.domain.errors import DomainError
from app.services import settings
from app.services.scope import can_see_branch


def check_investigation(investigation, user):
    customer = investigation.customer
    if customer is None:
        raise DomainError("请选择被调查的客户", "customer")
    if not can_see_branch(customer.branch_id):
        raise DomainError("只能调查本机构的客户", "customer")
    first, second = investigation.investigator1, investigation.investigator2
    if first is None or second is None:
        raise DomainError("实地调查须由两名调查人共同完成（双人调查），请选择两名调查人", "investigator2")
    if first.id == second.id:
        raise DomainError("两名调查人不能是同一人（双人调查）", "investigator2")
    today = settings.business_date()
    investigation.investigated_on = investigation.investigated_on or today
    identity.check_not_future(investigation.investigated_on, "调查日期", "investigated_on", today)
    for key, label in (("place", "调查地点"), ("findings", "调查情况")):
        if not (getattr(investigation, key) or "").strip():
            raise DomainError(f"请填写{label}", key)
    investigation.branch_id = customer.branch_id
