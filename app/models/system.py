"""System tables (系统设置): dictionaries, parameters, LPR, menu overrides and the audit log."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Integer, Numeric, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship


class DictType(Model):
    """字典类别: a named, editable list (loan purposes, industries, fee types …)."""

    __tablename__ = "dict_type"
    id = Column(Integer, primary_key=True)
    code = Column(String(50), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    description = Column(String(300))
    items = relationship("DictItem", back_populates="dict_type", order_by="DictItem.sort_order")

    def __str__(self):
        return self.name


class DictItem(Model):
    """字典项. ``extra`` carries a flag a rule needs, e.g. ``forbidden`` on a loan purpose."""

    __tablename__ = "dict_item"
    __table_args__ = (UniqueConstraint("dict_type_id", "code", name="uq_dict_item_type_code"),)
    id = Column(Integer, primary_key=True)
    dict_type_id = Column(Integer, ForeignKey("dict_type.id"), nullable=False, index=True)
    dict_type = relationship("DictType", back_populates="items")
    code = Column(String(50), nullable=False)
    label = Column(String(100), nullable=False)
    sort_order = Column(Integer, default=0, nullable=False)
    is_active = Column(Boolean, default=True, nullable=False)
    extra = Column(String(200))

    def __str__(self):
        return self.label


class Setting(Model):
    """系统参数: a typed key/value row; read through app.services.settings."""

    __tablename__ = "setting"
    id = Column(Integer, primary_key=True)
    key = Column(String(80), unique=True, nullable=False)
    value = Column(Text, nullable=False, default="")
    value_type = Column(String(20), nullable=False, default="str")
    label = Column(String(100), nullable=False)
    description = Column(String(300))
    group_name = Column(String(50), nullable=False, default="general", index=True)
    min_value = Column(Numeric(18, 4))
    max_value = Column(Numeric(18, 4))
    sort_order = Column(Integer, default=0, nullable=False)

    @property
    def value_type_label(self):
        from app.domain.parameters import VALUE_TYPES

        return VALUE_TYPES.get(self.value_type, self.value_type)

    def __str__(self):
        return self.label


class LprRate(Model):
    """贷款市场报价利率 (LPR) in force from ``effective_date`` until the next row."""

    __tablename__ = "lpr_rate"
    id = Column(Integer, primary_key=True)
    effective_date = Column(Date, unique=True, nullable=False)
    rate_1y = Column(Numeric(8, 4), nullable=False)
    rate_5y = Column(Numeric(8, 4), nullable=False)

    def __str__(self):
        return f"{self.effective_date} {self.rate_1y}%"


class MenuOverride(Model):
    """菜单管理: an admin's label, order or visibility for one FAB menu entry (by name)."""

    __tablename__ = "menu_override"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), unique=True, nullable=False)
    label = Column(String(100))
    sort_order = Column(Integer)
    hidden = Column(Boolean, default=False, nullable=False)

    def __str__(self):
        return self.label or self.name


class AuditLog(Model):
    """日志: append-only record of every change to a business row and of logins."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    user_id = Column(Integer, index=True)
    username = Column(String(128), index=True)
    action = Column(String(20), nullable=False, index=True)
    table_name = Column(String(80), index=True)
    row_id = Column(String(64), index=True)
    changes = Column(Text)
    ip = Column(String(64))

    def __str__(self):
        return f"{self.created_at} {self.username} {self.action} {self.table_name}#{self.row_id}"


class NumberSequence(Model):
    """Counters behind generated numbers (KH…, DK…): one row per prefix and day, bumped by
    an atomic UPDATE so that two clerks saving at once get different numbers."""

    __tablename__ = "number_sequence"
    __table_args__ = (UniqueConstraint("prefix", "day", name="uq_number_sequence_prefix_day"),)
    id = Column(Integer, primary_key=True)
    prefix = Column(String(20), nullable=False)
    day = Column(String(8), nullable=False)
    value = Column(Integer, nullable=False, default=0)
