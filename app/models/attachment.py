"""附件: one uploaded file linked to any record by (owner_type, owner_id)."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import relationship


class Attachment(Model):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)
    id = Column(Integer, primary_key=True)
    owner_type = Column(String(50), nullable=False)
    owner_id = Column(Integer, nullable=False)
    doc_type = Column(String(50), index=True)
    # FAB's name sanitising strips Chinese, so the original name is kept here.
    original_name = Column(String(255), nullable=False)
    stored_name = Column(String(100), unique=True, nullable=False)
    size = Column(BigInteger, nullable=False)
    mime_type = Column(String(100), nullable=False)
    sha256 = Column(String(64), nullable=False, index=True)
    branch_id = Column(Integer, ForeignKey("branch.id"), index=True)
    branch = relationship("Branch")
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    uploaded_by = relationship("AppUser", foreign_keys=[uploaded_by_id])
    uploaded_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    remarks = Column(String(300))

    @property
    def download_link(self):
        """HTML link for list and show pages (the view checks permission and scope)."""
        from flask import url_for
        from flask_babel import gettext
        from markupsafe import Markup

        return Markup('<a href="{}"><i class="fa fa-download"></i> {}</a>').format(
            url_for("AttachmentView.file", pk=self.id), gettext("Download"))

    def __str__(self):
        return self.original_name
