"""流程配置 (admins), 待办 (to-do lists) and the approval actions every business page posts to."""
from datetime import datetime

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.extensions import db
from app.models.workflow import Workflow, WorkflowInstance, WorkflowStep
from app.services import workflow as workflow_service
from app.services.home import register_section
from app.views.base import AppInterface, CheckedModelView
from app.views.widgets import ChoiceField, CountField


def _business_types():
    return {code: kind.label for code, kind in workflow_service.BUSINESS_TYPES.items()}


def _condition_fields():
    fields = {"": "（无条件）"}
    for kind in workflow_service.BUSINESS_TYPES.values():
        fields.update(kind.fields)
    return fields


class WorkflowStepView(CheckedModelView):
    datamodel = AppInterface(WorkflowStep)
    list_title = _l("Workflow steps")
    show_title = add_title = edit_title = _l("Workflow step")
    label_columns = {
        "workflow": _l("Workflow"), "seq": _l("Order"), "name": _l("Step name"), "actor_kind": _l("Who acts"),
        "actor_label": _l("Who acts"), "role": _l("Role"), "user": _l("User"), "condition_field": _l("Condition field"),
        "condition_op": _l("Condition operator"), "condition_value": _l("Condition value"),
        "allow_return": _l("May return"), "return_to": _l("Return to"), "allow_reject": _l("May reject"),
        "opinion_required": _l("Opinion required"), "time_limit_hours": _l("Time limit (hours)"),
        "voters": _l("Committee voters"), "quorum": _l("Quorum"), "committee_mode": _l("Voting rule"),
    }
    list_columns = ["workflow", "seq", "name", "actor_label", "condition_field", "condition_op", "condition_value",
                    "opinion_required", "time_limit_hours"]
    add_columns = edit_columns = show_columns = [
        "workflow", "seq", "name", "actor_kind", "role", "user", "condition_field", "condition_op", "condition_value",
        "allow_return", "return_to", "allow_reject", "opinion_required", "time_limit_hours", "voters", "quorum",
        "committee_mode"]
    search_columns = ["workflow", "name"]
    base_order = ("seq", "asc")
    description_columns = {
        "condition_value": _l("The step is skipped unless the condition holds, e.g. amount ≥ 300000; "
                              "for 'in' list values separated by commas"),
        "voters": _l("Choose voters to make this a committee (贷审会) step; leave empty for a single approver"),
        "quorum": _l("Committee: approvals needed"),
    }

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "actor_kind": ChoiceField(_l("Who acts"), flow.ACTOR_KINDS),
            "condition_field": ChoiceField(_l("Condition field"), _condition_fields),
            "condition_op": ChoiceField(_l("Condition operator"), flow.CONDITION_OPERATORS, blank=True),
            "return_to": ChoiceField(_l("Return to"), flow.RETURN_TARGETS),
            "committee_mode": ChoiceField(_l("Voting rule"), flow.COMMITTEE_MODES),
            "time_limit_hours": CountField(_l("Time limit (hours)")),
            "quorum": CountField(_l("Quorum")),
        }
        super().__init__(**kwargs)

    def pre_add(self, item):
        workflow_service.check_step(item)

    pre_update = pre_add

    def post_add(self, item):
        # The step may be deleted and detached: reload its workflow by id.
        workflow_service.bump_version(db.session.get(Workflow, item.workflow_id))
        db.session.commit()

    post_update = post_delete = post_add

    def post_add_redirect(self):
        workflow_id = request.args.get("_flt_0_workflow", type=int)
        if workflow_id:
            return redirect(url_for("WorkflowView.show", pk=workflow_id))
        return redirect(self.get_redirect())

    post_edit_redirect = post_delete_redirect = post_add_redirect


class WorkflowView(CheckedModelView):
    """流程管理: one active flow per business type (the highest priority wins)."""

    datamodel = AppInterface(Workflow)
    list_title = _l("Workflows")
    show_title = add_title = edit_title = _l("Workflow")
    label_columns = {"business_type": _l("Business type"), "name": _l("Name"), "version": _l("Version"),
                     "is_active": _l("Active"), "priority": _l("Priority"), "description": _l("Description"),
                     "steps": _l("Steps")}
    list_columns = ["business_type", "name", "version", "is_active", "priority"]
    add_columns = edit_columns = ["business_type", "name", "is_active", "priority", "description"]
    show_columns = ["business_type", "name", "version", "is_active", "priority", "description"]
    search_columns = ["business_type", "name", "is_active"]
    related_views = [WorkflowStepView]
    formatters_columns = {"business_type": lambda code: _business_types().get(code, code)}

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "business_type": ChoiceField(_l("Business type"), _business_types)}
        super().__init__(**kwargs)

    def pre_add(self, item):
        workflow_service.check_workflow(item, require_steps=False)

    def pre_update(self, item):
        workflow_service.check_workflow(item, require_steps=bool(item.steps))
        workflow_service.bump_version(item)


class TodoView(BaseView):
    """待办: 本人待签批, 本人已签批, 将来待办, 退回."""

    route_base = "/todo"
    default_view = "waiting"

    def _render(self, tab, rows):
        return self.render_template("microloan/todo.html", title=_l("To-do"), tab=tab, rows=rows,
                                    counts=workflow_service.counts(g.user), now=datetime.now())

    @expose("/waiting")
    @has_access
    @permission_name("todo")
    def waiting(self):
        return self._render("waiting", [(t.instance, t.step_name, t.due_at) for t in workflow_service.waiting(g.user)])

    @expose("/done")
    @has_access
    @permission_name("todo")
    def done(self):
        return self._render("done", [(i, i.status_label, None) for i in workflow_service.done(g.user)])

    @expose("/future")
    @has_access
    @permission_name("todo")
    def future(self):
        return self._render("future", [(i, step.name, None) for i, step in workflow_service.future(g.user)])

    @expose("/returned")
    @has_access
    @permission_name("todo")
    def returned(self):
        return self._render("returned", [(i, i.status_label, None) for i in workflow_service.returned(g.user)])


class ApprovalView(BaseView):
    """The action endpoint of every approval panel (approve / return / reject)."""

    route_base = "/approval"

    @expose("/act/<int:instance_id>", methods=["POST"])
    @has_access
    @permission_name("act")
    def act(self, instance_id):
        instance = db.session.get(WorkflowInstance, instance_id)
        if instance is None:
            abort(404)
        action = request.form.get("action", "")
        try:
            workflow_service.act(instance_id, g.user, action, request.form.get("opinion"),
                                 expected_index=request.form.get("step_index", type=int))
        except DomainError as exc:
            db.session.rollback()
            flash(f"操作未完成：{exc.message}", "danger")
        else:
            flash(f"已{flow.ACTION_LABELS.get(action, action)}：{instance.title}", "success")
        return redirect(instance.link or url_for("TodoView.waiting"))


@register_section
def _todo_section(user):
    """Home page: what waits for me, and my unread notifications."""
    if not user.is_authenticated:
        return None
    def link(title, href):
        return Markup('<a href="{}">{}</a>').format(href, title) if href else title

    rows = [[link(t.instance.title, t.instance.link), t.step_name, t.created_at.strftime("%Y-%m-%d %H:%M")]
            for t in workflow_service.waiting(user)[:10]]
    rows += [[link(n.title, n.link), "通知", n.created_at.strftime("%Y-%m-%d %H:%M")]
             for n in workflow_service.unread_notifications(user, 5)]
    if not rows:
        return None
    return {"id": "todo", "title": "我的待办与通知", "headers": ["事项", "步骤", "时间"], "rows": rows,
            "link": "/todo/waiting", "empty": ""}

