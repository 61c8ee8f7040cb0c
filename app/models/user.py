"""The FAB user extended with the organisation fields (GLOSSARY: 用户)."""
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String
from sqlalchemy.orm import relationship


class AppUser(User):
    """Single-table extension of FAB's ``ab_user``.

    Named AppUser, not User, because FAB's own relationships resolve the string "User".
    """

    __tablename__ = "ab_user"
    real_name = Column(String(64))
    mobile = Column(String(20), index=True)
    branch_id = Column(Integer, ForeignKey("branch.id"), index=True)
    branch = relationship("Branch", foreign_keys=[branch_id])
    department_id = Column(Integer, ForeignKey("department.id", name="fk_ab_user_department_id", use_alter=True), index=True)
    department = relationship("Department", foreign_keys=[department_id])
    position_id = Column(Integer, ForeignKey("position.id"), index=True)
    position = relationship("Position", foreign_keys=[position_id])
    # Set for the initial admin: the first login must change the password.
    must_change_password = Column(Boolean, default=False, nullable=False, server_default="0")

    @property
    def display_name(self):
        return self.real_name or f"{self.last_name or ''}{self.first_name or ''}" or self.username

    def __str__(self):
        return self.display_name
