"""Archive management (档案管理): archive items, movements, borrowing and collateral withdrawal (issue #12).

- ``ArchiveItem`` (档案 / 重要资料): one physical document or collateral certificate in the safe,
  with its number, type (dictionary ``archive_doc_type``), links to a customer / loan /
  collateral, location (room, cabinet, shelf, box), archive level (dictionary
  ``archive_level``, with a retention period) and status.
- ``ArchiveMovement``: the registers (登记薄) — one append-only row per check-in (入库),
  check-out (出库), transfer (移交), custody filing (代管备案) and destruction (销毁). Rows are
  never updated or deleted (the ORM refuses it); an item's history is its rows in order.
- ``ArchiveBorrowing`` / ``ArchiveBorrowingItem`` (档案借阅): a request through the
  ``archive_borrowing`` workflow; the archivist lends the items and records their return.
- ``CollateralWithdrawal`` (抵质押物提取): taking a collateral certificate out, through the
  ``collateral_withdrawal`` workflow; may be suspended (中止) with a reason; proposed
  automatically when a loan is settled.
- ``ArchiveTransfer`` (移交): from one custodian to another (or to an outside recipient), confirmed
  by both sides.

``branch_id`` is the branch whose archive holds the item (data scope).
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event,
)
from sqlalchemy.orm import relationship

ITEM_STATUSES = {
    "in_stock": "在库", "lent": "借出", "out": "出库（待回库）", "transferred": "已移交",
    "returned": "已退还", "destroyed": "已销毁",
}
#: Statuses in which the item is no longer ours to move (a new check-in may bring it back
#: only from ``out``, ``lent`` through its borrowing, and ``transferred``).
FINAL_STATUSES = ("returned", "destroyed")
MOVEMENT_KINDS = {"check_in": "入库", "check_out": "出库", "transfer": "移交", "custody": "代管备案",
                  "destroy": "销毁"}
CHECK_OUT_PURPOSES = {"lend": "借阅出库", "withdraw": "抵质押物提取", "return_owner": "退还权利人",
                      "other": "其他出库（待回库）"}
BORROWING_STATUSES = {
    "in_approval": "审批中", "returned": "已退回", "rejected": "已否决", "approved": "待出借",
    "lent": "借出中", "closed": "已归还", "cancelled": "已撤销",
}
WITHDRAWAL_STATUSES = {
    "draft": "待提交", "in_approval": "审批中", "returned": "已退回", "rejected": "已否决",
    "approved": "待提取", "suspended": "已中止", "done": "已提取", "cancelled": "已撤销",
}
#: 提取用途: the first two end with the certificate given back to its owner (已退还).
WITHDRAWAL_PURPOSES = {"release": "解押退还权利人", "substitute": "置换抵质押物（退还）",
                       "registration": "办理登记手续（需回库）", "other": "其他（需回库）"}
RETURN_PURPOSES = ("release", "substitute")
TRANSFER_STATUSES = {"pending": "待接收确认", "confirmed": "已确认", "cancelled": "已撤销"}


class ArchiveItem(Model):
    """档案 / 重要资料: one physical document or certificate and where it is."""

    __tablename__ = "archive_item"
    __table_args__ = (
        UniqueConstraint("archive_no", name="uq_archive_item_no"),
        Index("ix_archive_item_status_type", "status", "doc_type"),
        Index("ix_archive_item_location", "room", "cabinet", "shelf", "box"),
    )
    id = Column(Integer, primary_key=True)
    archive_no = Column(String(32), nullable=False)
    doc_type = Column(String(50), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    customer_id = Column(Integer, ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    loan_id = Column(Integer, ForeignKey("loan.id"), index=True)
    loan = relationship("Loan")
    collateral_id = Column(Integer, ForeignKey("collateral.id"), index=True)
    collateral = relationship("Collateral")
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    pieces = Column(Integer, nullable=False, default=1)          # 份数 / 件数
    pages = Column(Integer)                                     # 页数
    room = Column(String(50), nullable=False)                   # 档案室
    cabinet = Column(String(50))                                # 柜
    shelf = Column(String(50))                                  # 层 / 架
    box = Column(String(50))                                    # 盒
    level = Column(String(20), nullable=False, index=True)      # 档案等级 (dictionary archive_level)
    retention_years = Column(Integer)                           # None: 永久
    retain_until = Column(Date, index=True)                     # 保管期满日
    status = Column(String(20), nullable=False, default="in_stock", index=True)
    custody = Column(Boolean, nullable=False, default=False, index=True)   # 代管: held for the customer
    owner_name = Column(String(100))                            # 权利人 / 所有人
    certificate_no = Column(String(100), index=True)            # 权证编号
    custodian_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    custodian = relationship("AppUser", foreign_keys=[custodian_id])
    filed_on = Column(Date, nullable=False, index=True)         # 入库日期
    remarks = Column(Text)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("AppUser", foreign_keys=[created_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    movements = relationship("ArchiveMovement", back_populates="item", order_by="ArchiveMovement.id")

    @property
    def status_label(self):
        return ITEM_STATUSES.get(self.status, self.status)

    @property
    def location(self):
        return " / ".join(p for p in (self.room, self.cabinet, self.shelf, self.box) if p)

    @property
    def custody_label(self):
        return "代管" if self.custody else ""

    @property
    def retention_label(self):
        return "永久" if self.retention_years is None else f"{self.retention_years} 年"

    def __str__(self):
        return f"{self.archive_no} {self.title}"


class ArchiveMovement(Model):
    """登记薄: one movement of one item (append-only)."""

    __tablename__ = "archive_movement"
    __table_args__ = (Index("ix_archive_movement_kind_date", "kind", "occurred_on"),)
    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("archive_item.id"), nullable=False, index=True)
    item = relationship("ArchiveItem", back_populates="movements")
    kind = Column(String(20), nullable=False)
    purpose = Column(String(20))                                # check-out purpose
    occurred_on = Column(Date, nullable=False, index=True)
    from_status = Column(String(20))
    to_status = Column(String(20), nullable=False)
    handed_by = Column(String(100))                             # 交出人 / 移交人
    received_by = Column(String(100))                           # 接收人 / 领取人
    condition = Column(String(200))                             # 完好情况
    reason = Column(String(300))
    location = Column(String(200))                              # where the item is after the movement
    borrowing_id = Column(Integer, ForeignKey("archive_borrowing.id"), index=True)
    borrowing = relationship("ArchiveBorrowing")
    withdrawal_id = Column(Integer, ForeignKey("collateral_withdrawal.id"), index=True)
    withdrawal = relationship("CollateralWithdrawal")
    transfer_id = Column(Integer, ForeignKey("archive_transfer.id"), index=True)
    transfer = relationship("ArchiveTransfer")
    operator_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    operator = relationship("AppUser", foreign_keys=[operator_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def kind_label(self):
        return MOVEMENT_KINDS.get(self.kind, self.kind)

    @property
    def purpose_label(self):
        return CHECK_OUT_PURPOSES.get(self.purpose, self.purpose or "")

    @property
    def to_status_label(self):
        return ITEM_STATUSES.get(self.to_status, self.to_status)

    @property
    def from_status_label(self):
        return ITEM_STATUSES.get(self.from_status, self.from_status or "")

    @property
    def archive_no(self):
        return self.item.archive_no if self.item is not None else ""

    @property
    def item_title(self):
        return self.item.title if self.item is not None else ""


def _append_only(mapper, connection, target):
    from app.domain.errors import DomainError

    raise DomainError("档案登记薄只能追加，不能修改或删除已登记的记录")


event.listen(ArchiveMovement, "before_update", _append_only)
event.listen(ArchiveMovement, "before_delete", _append_only)


class ArchiveBorrowing(Model):
    """档案借阅 (业务档案借阅审批表): items, purpose, expected return date, approval, lending."""

    __tablename__ = "archive_borrowing"
    __table_args__ = (UniqueConstraint("borrowing_no", name="uq_archive_borrowing_no"),
                      Index("ix_archive_borrowing_status_due", "status", "expected_return_on"))
    id = Column(Integer, primary_key=True)
    borrowing_no = Column(String(32), nullable=False)
    borrower_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    borrower = relationship("AppUser", foreign_keys=[borrower_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    purpose = Column(String(300), nullable=False)
    expected_return_on = Column(Date, nullable=False)
    status = Column(String(20), nullable=False, default="in_approval", index=True)
    submitted_at = Column(DateTime)
    decided_at = Column(DateTime)
    lent_on = Column(Date)
    lent_by_id = Column(Integer, ForeignKey("ab_user.id"))
    lent_by = relationship("AppUser", foreign_keys=[lent_by_id])
    closed_on = Column(Date)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    lines = relationship("ArchiveBorrowingItem", back_populates="borrowing", cascade="all, delete-orphan",
                         order_by="ArchiveBorrowingItem.id")

    @property
    def status_label(self):
        return BORROWING_STATUSES.get(self.status, self.status)

    @property
    def items_label(self):
        return "、".join(line.item.archive_no for line in self.lines if line.item is not None)

    def __str__(self):
        return self.borrowing_no or ""


class ArchiveBorrowingItem(Model):
    """One item of a borrowing, with when it was lent and returned."""

    __tablename__ = "archive_borrowing_item"
    __table_args__ = (UniqueConstraint("borrowing_id", "item_id", name="uq_archive_borrowing_item"),)
    id = Column(Integer, primary_key=True)
    borrowing_id = Column(Integer, ForeignKey("archive_borrowing.id", ondelete="CASCADE"), nullable=False, index=True)
    borrowing = relationship("ArchiveBorrowing", back_populates="lines")
    item_id = Column(Integer, ForeignKey("archive_item.id"), nullable=False, index=True)
    item = relationship("ArchiveItem")
    lent_on = Column(Date)
    returned_on = Column(Date, index=True)
    return_condition = Column(String(200))


class CollateralWithdrawal(Model):
    """抵质押物提取 (抵质押物提取审批表 / 中止审批): taking a collateral certificate out."""

    __tablename__ = "collateral_withdrawal"
    __table_args__ = (UniqueConstraint("withdrawal_no", name="uq_collateral_withdrawal_no"),)
    id = Column(Integer, primary_key=True)
    withdrawal_no = Column(String(32), nullable=False)
    item_id = Column(Integer, ForeignKey("archive_item.id"), nullable=False, index=True)
    item = relationship("ArchiveItem")
    loan_id = Column(Integer, ForeignKey("loan.id"), index=True)
    loan = relationship("Loan")
    collateral_id = Column(Integer, ForeignKey("collateral.id"), index=True)
    collateral = relationship("Collateral")
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch")
    purpose = Column(String(20), nullable=False)
    receiver_name = Column(String(100), nullable=False)         # 领取人
    reason = Column(String(300), nullable=False)
    expected_return_on = Column(Date)                           # purposes that bring it back
    status = Column(String(20), nullable=False, default="draft", index=True)
    proposed_at_settlement = Column(Boolean, nullable=False, default=False)
    applicant_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    applicant = relationship("AppUser", foreign_keys=[applicant_id])
    submitted_at = Column(DateTime)
    decided_at = Column(DateTime)
    suspend_reason = Column(String(300))
    suspended_at = Column(DateTime)
    suspended_by_id = Column(Integer, ForeignKey("ab_user.id"))
    suspended_by = relationship("AppUser", foreign_keys=[suspended_by_id])
    executed_on = Column(Date)
    executed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    executed_by = relationship("AppUser", foreign_keys=[executed_by_id])
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self):
        return WITHDRAWAL_STATUSES.get(self.status, self.status)

    @property
    def purpose_label(self):
        return WITHDRAWAL_PURPOSES.get(self.purpose, self.purpose)

    def __str__(self):
        return self.withdrawal_no or ""


class ArchiveTransfer(Model):
    """移交登记: the sender records it, the receiver confirms it."""

    __tablename__ = "archive_transfer"
    __table_args__ = (UniqueConstraint("transfer_no", name="uq_archive_transfer_no"),)
    id = Column(Integer, primary_key=True)
    transfer_no = Column(String(32), nullable=False)
    item_id = Column(Integer, ForeignKey("archive_item.id"), nullable=False, index=True)
    item = relationship("ArchiveItem")
    branch_id = Column(Integer, ForeignKey("branch.id"), nullable=False, index=True)
    branch = relationship("Branch", foreign_keys=[branch_id])
    from_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    from_user = relationship("AppUser", foreign_keys=[from_user_id])
    to_user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)        # another custodian
    to_user = relationship("AppUser", foreign_keys=[to_user_id])
    to_party = Column(String(100))                                            # or an outside recipient
    to_branch_id = Column(Integer, ForeignKey("branch.id"), index=True)
    to_branch = relationship("Branch", foreign_keys=[to_branch_id])
    to_room = Column(String(50))
    to_cabinet = Column(String(50))
    to_shelf = Column(String(50))
    to_box = Column(String(50))
    reason = Column(String(300), nullable=False)
    status = Column(String(20), nullable=False, default="pending", index=True)
    sent_on = Column(Date, nullable=False, index=True)
    confirmed_on = Column(Date)
    confirmed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    confirmed_by = relationship("AppUser", foreign_keys=[confirmed_by_id])
    receiver_name = Column(String(100))                         # who signed for it
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def status_label(self):
        return TRANSFER_STATUSES.get(self.status, self.status)

    @property
    def receiver_label(self):
        return str(self.to_user) if self.to_user is not None else (self.to_party or "")

    @property
    def to_location(self):
        return " / ".join(p for p in (self.to_room, self.to_cabinet, self.to_shelf, self.to_box) if p)

    def __str__(self):
        return self.transfer_no or ""
