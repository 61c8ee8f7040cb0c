"""Customers (客户管理): customers, related persons and parties, partners, the blacklist,
visits with their follow-ups, field investigations and the materials checklist."""
from datetime import datetime

from flask_appbuilder import Model
from markupsafe import Markup
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

CUSTOMER_KINDS = {"person": "个人", "company": "企业", "sole_trader": "个体工商户"}
CUSTOMER_STATUSES = {"active": "正常", "inactive": "停用"}
GENDERS = {"male": "男", "female": "女"}
RELATIONS = {
    "spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹",
    "relative": "其他亲属", "friend": "朋友", "colleague": "同事", "partner": "合伙人",
    "other": "其他",
}
PARTY_RELATIONS = {
    "same_group": "同一集团", "shareholder": "股东", "actual_controller": "实际控制人",
    "legal_rep": "法定代表人", "spouse": "配偶", "family": "近亲属", "guarantee": "相互担保",
    "other": "其他关联",
}
VISIT_STATUSES = {
    "new": "新登记", "following": "跟踪中", "pending_conversion": "待审批建档",
    "approved": "已同意建档", "converted": "已建档", "closed": "已关闭",
}
FOLLOW_UP_METHODS = {"phone": "电话", "visit": "上门", "meeting": "面谈", "wechat": "微信", "other": "其他"}
INVESTIGATION_CONCLUSIONS = {"pass": "建议准入", "conditional": "有条件准入", "reject": "不建议准入"}
BLACKLIST_STATUSES = {"active": "生效", "lifted": "已解除"}


class Customer(Model):
    """客户: one table for persons, companies and sole traders (``kind``)."""

    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_branch_kind", "branch_id", "kind"),
    )
    id = Column(Integer, primary_key=True)
    customer_no = Column(String(32), unique=True, nullable=False)
    kind = Column(String(20), nullable=False, index=True)
    name = Column(String(100), nullable=False, index=True)
    status = Column(String(20), nullable=False, default="active", index=True)
    source = Column(String(50))
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    officer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    officer = relationship("AppUser", foreign_keys=[officer_id])
    intermediary_id = Column(Integer, ForeignKey("intermediary.id"), index=True)
    intermediary = relationship("Intermediary", back_populates="customers")
    # Kept by the blacklist service so that every list can flag it without a join.
    is_blacklisted = Column(Boolean, nullable=False, default=False, index=True)

    # -- person (and sole trader) ----------------------------------------------------
    gender = Column(String(10))
    id_number = Column(String(18), unique=True)
    birth_date = Column(Date)
    mobile = Column(String(20), index=True)
    phone = Column(String(30))
    email = Column(String(120))
    address = Column(String(200))
    household_address = Column(String(200))
    marital_status = Column(String(20))
    education = Column(String(20))
    spouse_name = Column(String(50))
    spouse_id_number = Column(String(18))
    spouse_mobile = Column(String(20))
    dependants = Column(Integer)
    family_annual_income = Column(Numeric(18, 2))
    owns_house = Column(Boolean, nullable=False, default=False)
    house_value = Column(Numeric(18, 2))
    owns_car = Column(Boolean, nullable=False, default=False)
    car_value = Column(Numeric(18, 2))
    employer = Column(String(100))
    job_title = Column(String(50))
    years_employed = Column(Integer)
    monthly_income = Column(Numeric(18, 2))

    # -- company (and sole trader's business) -----------------------------------------
    credit_code = Column(String(18), unique=True)
    business_name = Column(String(100))
    legal_rep_name = Column(String(50))
    legal_rep_id_number = Column(String(18))
    registered_capital = Column(Numeric(18, 2))
    founded_on = Column(Date)
    industry = Column(String(20), index=True)
    business_address = Column(String(200))
    business_scope = Column(Text)
    employees = Column(Integer)
    annual_revenue = Column(Numeric(18, 2))
    contact_name = Column(String(50))

    # -- bank account for disbursement and repayment ----------------------------------
    bank_name = Column(String(100))
    bank_account_name = Column(String(100))
    bank_account_no = Column(String(40))

    remarks = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}

    related_persons = relationship("RelatedPerson", back_populates="customer", cascade="all, delete-orphan",
                                   order_by="RelatedPerson.id")

    @property
    def kind_label(self):
        return CUSTOMER_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self):
        return CUSTOMER_STATUSES.get(self.status, self.status)

    @property
    def gender_label(self):
        return GENDERS.get(self.gender or "", "")

    @property
    def identifier(self):
        """The number that identifies the customer: credit code for a company, else the ID."""
        return self.credit_code if self.kind == "company" else self.id_number

    @property
    def name_flagged(self):
        """The name for lists, in red with a tag when the customer is blacklisted."""
        if self.is_blacklisted:
            return Markup('<span class="ml-blacklisted" title="不良客户">{} <span class="label label-danger">黑名单</span></span>').format(self.name)
        return self.name

    def __str__(self):
        return f"{self.name}（{self.customer_no}）"


class RelatedPerson(Model):
    """关联人: a family member, contact or guarantor candidate of a customer."""

    __tablename__ = "related_person"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer", back_populates="related_persons")
    name = Column(String(50), nullable=False)
    relation = Column(String(20), nullable=False)
    id_number = Column(String(18), index=True)
    mobile = Column(String(20))
    employer = Column(String(100))
    monthly_income = Column(Numeric(18, 2))
    is_guarantor_candidate = Column(Boolean, nullable=False, default=False)
    remarks = Column(String(300))

    @property
    def relation_label(self):
        return RELATIONS.get(self.relation, self.relation)

    def __str__(self):
        return f"{self.name}（{self.relation_label}）"


class RelatedParty(Model):
    """关联方: a link between two customers (same group, shareholder, spouse …). The
    concentration limit (DOMAIN.md §6) reads these links in both directions."""

    __tablename__ = "related_party"
    __table_args__ = (UniqueConstraint("customer_id", "related_customer_id", name="uq_related_party_pair"),)
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer", foreign_keys=[customer_id])
    related_customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    related_customer = relationship("Customer", foreign_keys=[related_customer_id])
    relation = Column(String(20), nullable=False)
    remarks = Column(String(300))

    @property
    def relation_label(self):
        return PARTY_RELATIONS.get(self.relation, self.relation)


class Bank(Model):
    """合作银行."""

    __tablename__ = "bank"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)
    branch_name = Column(String(100))
    contact_name = Column(String(50))
    contact_phone = Column(String(30))
    address = Column(String(200))
    accounts = Column(Text)
    cooperation_notes = Column(Text)
    is_active = Column(Boolean, nullable=False, default=True)

    def __str__(self):
        return f"{self.name}{self.branch_name or ''}"


class Intermediary(Model):
    """中介: a referral agent with a commission rate."""

    __tablename__ = "intermediary"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)
    identifier = Column(String(18))
    contact_name = Column(String(50))
    contact_phone = Column(String(30))
    address = Column(String(200))
    commission_rate = Column(Numeric(8, 4))
    bank_account = Column(String(100))
    branch_id = Column(Integer, ForeignKey("branch.id"), index=True)
    branch = relationship("Branch")
    remarks = Column(Text)
    is_active = Column(Boolean, nullable=False, default=True)
    customers = relationship("Customer", back_populates="intermediary")

    def __str__(self):
        return self.name


class Counterparty(Model):
    """其他往来单位."""

    __tablename__ = "counterparty"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)
    category = Column(String(50))
    credit_code = Column(String(18))
    contact_name = Column(String(50))
    contact_phone = Column(String(30))
    address = Column(String(200))
    bank_account = Column(String(100))
    remarks = Column(Text)
    is_active = Column(Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class BlacklistEntry(Model):
    """不良客户: blocks new loans for an ID number or credit code while ``status`` is
    active. Lifting keeps the row (history); listing again adds a new row."""

    __tablename__ = "blacklist_entry"
    id = Column(Integer, primary_key=True)
    identifier = Column(String(18), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    reason = Column(Text, nullable=False)
    source = Column(String(50))
    listed_on = Column(Date, nullable=False)
    added_by_id = Column(Integer, ForeignKey("ab_user.id"))
    added_by = relationship("AppUser", foreign_keys=[added_by_id])
    status = Column(String(20), nullable=False, default="active", index=True)
    lifted_on = Column(Date)
    lifted_by_id = Column(Integer, ForeignKey("ab_user.id"))
    lifted_by = relationship("AppUser", foreign_keys=[lifted_by_id])
    lift_reason = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def status_label(self):
        return BLACKLIST_STATUSES.get(self.status, self.status)

    def __str__(self):
        return f"{self.name}（{self.identifier}）"


class CustomerVisit(Model):
    """来访登记: a prospect's visit, followed up and possibly converted into a customer."""

    __tablename__ = "customer_visit"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)
    kind = Column(String(20), nullable=False, default="person")
    mobile = Column(String(20), index=True)
    id_number = Column(String(18))
    purpose = Column(String(50))
    amount_wanted = Column(Numeric(18, 2))
    visited_on = Column(Date, nullable=False, index=True)
    intake_by_id = Column(Integer, ForeignKey("ab_user.id"))
    intake_by = relationship("AppUser", foreign_keys=[intake_by_id])
    officer_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    officer = relationship("AppUser", foreign_keys=[officer_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    notes = Column(Text)
    status = Column(String(20), nullable=False, default="new", index=True)
    conversion_requested_by_id = Column(Integer, ForeignKey("ab_user.id"))
    conversion_approved_by_id = Column(Integer, ForeignKey("ab_user.id"))
    conversion_approved_by = relationship("AppUser", foreign_keys=[conversion_approved_by_id])
    conversion_approved_at = Column(DateTime)
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    follow_ups = relationship("VisitFollowUp", back_populates="visit", cascade="all, delete-orphan",
                              order_by="VisitFollowUp.followed_on")

    @property
    def status_label(self):
        return VISIT_STATUSES.get(self.status, self.status)

    @property
    def kind_label(self):
        return CUSTOMER_KINDS.get(self.kind, self.kind)

    def __str__(self):
        return f"{self.name} {self.visited_on}"


class VisitFollowUp(Model):
    """跟踪维护: one follow-up of a visit."""

    __tablename__ = "visit_follow_up"
    id = Column(Integer, primary_key=True)
    visit_id = Column(Integer, ForeignKey("customer_visit.id"), nullable=False, index=True)
    visit = relationship("CustomerVisit", back_populates="follow_ups")
    followed_on = Column(Date, nullable=False)
    method = Column(String(20), nullable=False, default="phone")
    content = Column(Text, nullable=False)
    next_step = Column(String(300))
    next_date = Column(Date)
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("AppUser")

    @property
    def method_label(self):
        return FOLLOW_UP_METHODS.get(self.method, self.method)


class FieldInvestigation(Model):
    """实地调查: a two-person on-site investigation with findings, photos and documents."""

    __tablename__ = "field_investigation"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False, index=True)
    customer = relationship("Customer")
    investigated_on = Column(Date, nullable=False, index=True)
    investigator1_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    investigator1 = relationship("AppUser", foreign_keys=[investigator1_id])
    investigator2_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    investigator2 = relationship("AppUser", foreign_keys=[investigator2_id])
    place = Column(String(200), nullable=False)
    findings = Column(Text, nullable=False)
    conclusion = Column(String(20), nullable=False)
    opinion = Column(Text)
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def conclusion_label(self):
        return INVESTIGATION_CONCLUSIONS.get(self.conclusion, self.conclusion)

    def __str__(self):
        return f"{self.customer.name if self.customer else ''} {self.investigated_on}"


class MaterialRequirement(Model):
    """材料清单: a document (``document_type`` dictionary code) a customer kind must hand in."""

    __tablename__ = "material_requirement"
    __table_args__ = (UniqueConstraint("customer_kind", "doc_type", name="uq_material_kind_doc"),)
    id = Column(Integer, primary_key=True)
    customer_kind = Column(String(20), nullable=False, index=True)
    doc_type = Column(String(50), nullable=False)
    is_required = Column(Boolean, nullable=False, default=True)
    sort_order = Column(Integer, nullable=False, default=0)
    remarks = Column(String(200))

    @property
    def kind_label(self):
        return CUSTOMER_KINDS.get(self.customer_kind, self.customer_kind)

