"""Organisation (组织): branches, departments and positions."""
from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String
from sqlalchemy.orm import relationship


class Branch(Model):
    """机构: the head office (no parent) and its branches, as a tree."""

    __tablename__ = "branch"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    parent_id = Column(Integer, ForeignKey("branch.id"), index=True)
    parent = relationship("Branch", remote_side=[id], backref="children")
    address = Column(String(200))
    phone = Column(String(30))
    manager_name = Column(String(50))
    sort_order = Column(Integer, default=0, nullable=False)
    is_active = Column(Boolean, default=True, nullable=False)

    def __str__(self):
        return self.name


class Department(Model):
    """部门, inside one branch; its head may be an approval step's actor."""

    __tablename__ = "department"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    head_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    head = relationship("AppUser", foreign_keys=[head_id])
    sort_order = Column(Integer, default=0, nullable=False)
    is_active = Column(Boolean, default=True, nullable=False)

    def __str__(self):
        return f"{self.branch.name if self.branch else ''}/{self.name}"


class Position(Model):
    """岗位: the job post of a user, e.g. 客户经理."""

    __tablename__ = "position"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(50), unique=True, nullable=False)
    description = Column(String(200))

    def __str__(self):
        return self.name
