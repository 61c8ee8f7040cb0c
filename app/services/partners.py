"""合作机构 rules shared by the screens and the APIs: intermediaries and counterparties."""
from app.domain import identity
from app.domain.errors import DomainError
from app.services.scope import can_see_branch


def check_intermediary(item, user):
    """Name required, identifier validated, branch defaults to the user's and must be in scope."""
    if not (item.name or "").strip():
        raise DomainError("请填写中介名称", "name")
    item.name = item.name.strip()
    if item.identifier:
        item.identifier = identity.normalize_identifier(item.identifier)
    if item.branch is None and not item.branch_id:
        item.branch = getattr(user, "branch", None)
    branch_id = item.branch.id if item.branch is not None else item.branch_id
    if branch_id is None or not can_see_branch(branch_id, user):
        raise DomainError("只能为本机构登记中介", "branch")


def check_counterparty(item):
    if not (item.name or "").strip():
        raise DomainError("请填写单位名称", "name")
    if item.credit_code:
        item.credit_code = identity.normalize_credit_code(item.credit_code)
