"""不良客户 (blacklist): list and lift entries, and keep each customer's red flag in step.

An entry is keyed by an ID number or a credit code, so it also blocks a person who is not
(yet) a customer. Lifting keeps the row with its reason: the history stays visible.
"""
from sqlalchemy import or_, select, update

from app.domain import identity
from app.domain.errors import DomainError
from app.extensions import db
from app.models import BlacklistEntry, Customer
from app.services import settings


def normalize_identifier(value):
    """An ID number or a credit code, validated by whichever it looks like."""
    return identity.normalize_identifier(value)


def check_entry(entry, user):
    """Validate a new entry in place (form and API): identifier, reason, date, customer."""
    if entry.customer is not None and not entry.identifier:
        entry.identifier = entry.customer.identifier
    entry.identifier = normalize_identifier(entry.identifier)
    if entry.customer is None:
        entry.customer = db.session.execute(select(Customer).where(or_(
            Customer.id_number == entry.identifier, Customer.credit_code == entry.identifier))).scalar_one_or_none()
    if entry.customer is not None and not entry.name:
        entry.name = entry.customer.name
    if not (entry.name or "").strip():
        raise DomainError("请填写姓名或企业名称", "name")
    if not (entry.reason or "").strip():
        raise DomainError("请填写列入黑名单的原因", "reason")
    existing = db.session.execute(select(BlacklistEntry).where(
        BlacklistEntry.identifier == entry.identifier, BlacklistEntry.status == "active",
        BlacklistEntry.id != (entry.id or 0))).scalar_one_or_none()
    if existing is not None:
        raise DomainError(f"{entry.identifier} 已在黑名单中（{existing.listed_on:%Y-%m-%d} 列入，原因：{existing.reason}）",
                          "identifier")
    entry.listed_on = entry.listed_on or settings.business_date()
    entry.status = "active"
    entry.added_by_id = entry.added_by_id or getattr(user, "id", None)


def add(identifier, name, reason, user, source=None, customer=None, listed_on=None):
    """List an ID number or credit code; returns the committed entry."""
    entry = BlacklistEntry(identifier=identifier, name=name, reason=reason, source=source,
                           customer=customer, listed_on=listed_on)
    check_entry(entry, user)
    db.session.add(entry)
    db.session.flush()
    refresh_flags(entry.identifier)
    db.session.commit()
    return entry


def lift(entry, reason, user):
    """Lift an active entry with a reason; the row stays as history."""
    if entry.status != "active":
        raise DomainError("该黑名单记录已解除，无需重复操作")
    if not (reason or "").strip():
        raise DomainError("请填写解除原因", "lift_reason")
    entry.status = "lifted"
    entry.lift_reason = reason.strip()
    entry.lifted_on = settings.business_date()
    entry.lifted_by_id = getattr(user, "id", None)
    db.session.flush()
    refresh_flags(entry.identifier)
    db.session.commit()
    return entry


def refresh_flags(identifier):
    """Set ``is_blacklisted`` on the customers with this identifier from the active entries."""
    active = db.session.execute(select(BlacklistEntry.id).where(
        BlacklistEntry.identifier == identifier, BlacklistEntry.status == "active").limit(1)).first() is not None
    db.session.execute(
        update(Customer).where(or_(Customer.id_number == identifier, Customer.credit_code == identifier))
        .values(is_blacklisted=active).execution_options(synchronize_session="fetch"))
