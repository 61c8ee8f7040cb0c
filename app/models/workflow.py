"""审批流程: definitions admins edit, running instances, tasks (to-dos), approval records
and notifications."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.domain.workflow import ACTION_LABELS, ACTOR_KINDS, STATUS_LABELS

step_voter = Table(
    "workflow_step_voter", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("step_id", Integer, ForeignKey("workflow_step.id"), nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("ab_user.id"), nullable=False),
    UniqueConstraint("step_id", "user_id", name="uq_workflow_step_voter"),
)


class Workflow(Model):
    """流程: one business type's approval chain. ``version`` goes up on every edit; running
    flows keep the steps they started with (a snapshot on the instance)."""

    __tablename__ = "workflow"
    id = Column(Integer, primary_key=True)
    business_type = Column(String(40), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    version = Column(Integer, nullable=False, default=1)
    is_active = Column(Boolean, nullable=False, default=True)
    priority = Column(Integer, nullable=False, default=0)
    description = Column(Text)
    steps = relationship("WorkflowStep", back_populates="workflow", cascade="all, delete-orphan",
                         order_by="WorkflowStep.seq")

    def __str__(self):
        return f"{self.name}（v{self.version}）"


class WorkflowStep(Model):
    """流程节点."""

    __tablename__ = "workflow_step"
    id = Column(Integer, primary_key=True)
    workflow_id = Column(Integer, ForeignKey("workflow.id"), nullable=False, index=True)
    workflow = relationship("Workflow", back_populates="steps")
    seq = Column(Integer, nullable=False, default=10)
    name = Column(String(100), nullable=False)
    actor_kind = Column(String(20), nullable=False, default="role")
    role_id = Column(Integer, ForeignKey("ab_role.id"))
    role = relationship("Role")
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("AppUser", foreign_keys=[user_id])
    condition_field = Column(String(40))
    condition_op = Column(String(10))
    condition_value = Column(String(200))
    allow_return = Column(Boolean, nullable=False, default=True)
    return_to = Column(String(20), nullable=False, default="applicant")
    allow_reject = Column(Boolean, nullable=False, default=True)
    opinion_required = Column(Boolean, nullable=False, default=False)
    time_limit_hours = Column(Integer)
    voters = relationship("AppUser", secondary=step_voter)
    quorum = Column(Integer, nullable=False, default=0)
    committee_mode = Column(String(20), nullable=False, default="quorum_veto")

    @property
    def actor_label(self):
        if self.voters:
            return f"贷审会（{len(self.voters)} 人，{self.quorum} 人同意）"
        who = {"role": self.role, "user": self.user}.get(self.actor_kind)
        return f"{ACTOR_KINDS.get(self.actor_kind, self.actor_kind)}{'：' + str(who) if who else ''}"

    def __str__(self):
        return self.name


class WorkflowInstance(Model):
    """One flow in progress (or finished) for one business object."""

    __tablename__ = "workflow_instance"
    __table_args__ = (Index("ix_workflow_instance_object", "business_type", "object_id"),)
    id = Column(Integer, primary_key=True)
    workflow_id = Column(Integer, ForeignKey("workflow.id"), nullable=False, index=True)
    workflow = relationship("Workflow")
    workflow_version = Column(Integer, nullable=False)
    business_type = Column(String(40), nullable=False)
    object_id = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    link = Column(String(200))
    applicant_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    applicant = relationship("AppUser", foreign_keys=[applicant_id])
    branch_id = Column(Integer, ForeignKey("branch.id"), index=True)
    status = Column(String(20), nullable=False, default="running", index=True)
    current_index = Column(Integer)
    steps_snapshot = Column(Text, nullable=False)
    context_snapshot = Column(Text, nullable=False)
    step_entered_at = Column(DateTime)
    started_at = Column(DateTime, default=datetime.now, nullable=False)
    finished_at = Column(DateTime)
    version = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    records = relationship("ApprovalRecord", back_populates="instance", order_by="ApprovalRecord.id")

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)


class WorkflowTask(Model):
    """待办: one open step waiting for a user or for anyone holding a role."""

    __tablename__ = "workflow_task"
    __table_args__ = (
        Index("ix_workflow_task_user_open", "user_id", "is_open"),
        Index("ix_workflow_task_role_open", "role_id", "is_open"),
    )
    id = Column(Integer, primary_key=True)
    instance_id = Column(Integer, ForeignKey("workflow_instance.id"), nullable=False, index=True)
    instance = relationship("WorkflowInstance")
    step_index = Column(Integer, nullable=False)
    step_name = Column(String(100), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("AppUser", foreign_keys=[user_id])
    role_id = Column(Integer, ForeignKey("ab_role.id"))
    role = relationship("Role")
    is_open = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    due_at = Column(DateTime)
    closed_at = Column(DateTime)


class ApprovalRecord(Model):
    """审批记录: one action (submit, approve, return, reject, committee vote) with its opinion."""

    __tablename__ = "approval_record"
    id = Column(Integer, primary_key=True)
    instance_id = Column(Integer, ForeignKey("workflow_instance.id"), nullable=False, index=True)
    instance = relationship("WorkflowInstance", back_populates="records")
    step_index = Column(Integer)
    step_name = Column(String(100))
    actor_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    actor = relationship("AppUser")
    action = Column(String(20), nullable=False)
    is_vote = Column(Boolean, nullable=False, default=False)
    opinion = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False)

    @property
    def action_label(self):
        return ACTION_LABELS.get(self.action, self.action)


class Notification(Model):
    """站内通知: a line on the user's home page (the message center takes these over later)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    title = Column(String(200), nullable=False)
    link = Column(String(200))
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    read_at = Column(DateTime)
