"""Organisation rules: the branch tree stays a tree."""
from app.domain.errors import DomainError


def check_branch_parent(branch):
    """A branch may not sit below itself (that would hide it and its subtree)."""
    parent = branch.parent
    while parent is not None:
        if parent.id is not None and parent.id == branch.id:
            raise DomainError("机构不能设为自己或自己下级机构的下级，请选择其他上级机构", "parent")
        parent = parent.parent


def check_branch_deletable(branch):
    if branch.children:
        raise DomainError("该机构下还有下级机构，请先调整或删除下级机构", "parent")
