"""资信评价 and 企业财务分析 screens (risk management, issue #9 parts 4 and 5).

View names follow the role rules in app/security.py: ``Scorecard…View`` (card design:
risk reviewers and admins), ``CreditRating…View`` (ratings: reviewers rate, officers,
approvers and managers read), ``FinancialStatement…View`` (templates, statements and the
财务指标评价 page: officers and reviewers edit, managers read).

All rules live in app/services/scorecards.py and app/services/financial_statements.py;
the pages only collect input and show what the services computed.
"""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms import DecimalField
from wtforms.validators import NumberRange, Optional

from app.domain import scoring
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Customer
from app.models.customer import CUSTOMER_KINDS
from app.models.rating import (
    ITEM_KINDS, LIMIT_BASES, PERIOD_KINDS, STATEMENT_SOURCES, CreditRating, FinancialStatement,
    Scorecard, ScorecardBand, ScorecardGrade, ScorecardItem, ScorecardOption, ScorecardSection, StatementLine,
    StatementTemplate,
)
from app.services import financial_statements as statements_service
from app.services import scorecards as service
from app.services import settings
from app.services.scope import can_see_branch, customer_scope_filters
from app.views.base import AppInterface, AppModelView, like_term
from app.views.widgets import ChoiceField, MoneyField

#: The scoring rule, shown on the card and rating pages.
SCORING_RULE = _l("Each item scores 0–100 points (qualitative: the option chosen; quantitative: the band the "
                  "figure falls in, lower bound included, upper bound excluded). An item contributes score × "
                  "weight ÷ 100; the weights of a card add up to 100%, so the total is on 0–100. Deductions are "
                  "subtracted (never below 0). The grade is the highest one whose minimum score is reached.")
LIMIT_RULE = _l("Suggested limit = base × the grade's multiplier. The base is the customer's net assets "
                "(total owners' equity of the statement used) or the card's fixed base amount.")


def _fmt_dt(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _money(value):
    return f"{value:,.2f}" if value is not None else "—"


class CustomerNameFilter(BaseFilter):
    """Rows whose customer's name, number or credit code contains the text typed (no drop-down)."""

    name = "包含"
    arg_name = "cnm"

    def apply(self, query, value):
        term = like_term(value)
        return query.filter(self.model.customer_id.in_(select(Customer.id).where(or_(
            Customer.name.like(term), Customer.customer_no.like(term), Customer.credit_code.like(term),
            Customer.id_number.like(term)))))


def _search_customer_by_name(view):
    by_name = [CustomerNameFilter("customer_id", view.datamodel)]
    view._filters.get_search_filters()["customer_id"] = by_name
    view._filters._all_filters["customer_id"] = by_name


class _ServiceChecked:
    """pre_add / pre_update / pre_delete call a service check; a refusal rolls back and
    reaches the user as FAB's flash message."""

    check = staticmethod(lambda item: None)
    check_delete = staticmethod(lambda item: None)

    def _guard(self, func, item):
        try:
            func(item)
        except DomainError:
            db.session.rollback()
            raise

    def pre_add(self, item):
        self._guard(self.check, item)

    def pre_update(self, item):
        self._guard(self.check, item)

    def pre_delete(self, item):
        self._guard(self.check_delete, item)


# == 资信评价模板 (scorecards) ============================================================
CARD_LABELS = {
    "code": _l("Card code"), "version": _l("Version"), "name": _l("Card name"), "customer_kind": _l("Customer type"),
    "kind_label": _l("Customer type"), "is_active": _l("In use"), "limit_base": _l("Suggested limit base"),
    "limit_base_label": _l("Suggested limit base"), "base_amount": _l("Fixed base amount (yuan)"),
    "description": _l("Description"), "updated_at": _l("Updated at"),
    "scorecard": _l("Scorecard"), "section": _l("Section"), "item": _l("Item"), "sort_order": _l("Sort order"),
    "kind": _l("Item type"), "ratio_code": _l("Financial ratio"), "weight": _l("Weight (%)"),
    "guidance": _l("Guidance"), "label": _l("Option"), "score": _l("Score (0–100)"),
    "lower": _l("Lower bound (included)"), "upper": _l("Upper bound (excluded)"), "range_label": _l("Range"),
    "grade": _l("Grade"), "min_score": _l("Minimum score"), "limit_multiplier": _l("Limit multiplier"),
}
RATIO_CHOICES = {r.code: f"{r.name}（{r.formula}）" for r in scoring.RATIOS}


def _card_id_of(part):
    card = service._card_of(part)
    return card.id if card else None


class _CardPartView(_ServiceChecked, AppModelView):
    """A part of a card (section, item, option, band, grade): saved, it goes back to the card."""

    datamodel = None
    label_columns = CARD_LABELS
    check = staticmethod(service.check_part)

    def pre_delete(self, item):
        g._rating_card_id = _card_id_of(item)
        self._guard(service.check_part_delete, item)

    def _back(self, item=None):
        card_id = _card_id_of(item) if item is not None else g.get("_rating_card_id")
        if card_id:
            return redirect(url_for("ScorecardView.show", pk=card_id))
        return redirect(self.get_redirect())

    def post_add(self, item):
        g._rating_card_id = _card_id_of(item)

    post_update = post_add

    def post_add_redirect(self):
        return self._back()

    post_edit_redirect = post_delete_redirect = post_add_redirect


class ScorecardSectionView(_CardPartView):
    datamodel = AppInterface(ScorecardSection)
    list_title = _l("Scorecard sections")
    show_title = add_title = edit_title = _l("Scorecard section")
    list_columns = ["scorecard", "name", "sort_order"]
    add_columns = edit_columns = show_columns = ["scorecard", "name", "sort_order"]
    search_columns = ["scorecard", "name"]
    base_order = ("scorecard_id", "asc")


class ScorecardItemView(_CardPartView):
    datamodel = AppInterface(ScorecardItem)
    list_title = _l("Scorecard items")
    show_title = add_title = edit_title = _l("Scorecard item")
    list_columns = ["section", "name", "kind_label", "ratio_code", "weight", "sort_order"]
    add_columns = edit_columns = show_columns = ["section", "name", "kind", "ratio_code", "weight", "sort_order",
                                                 "guidance"]
    search_columns = ["section", "name", "kind", "ratio_code"]
    base_order = ("section_id", "asc")
    description_columns = {
        "weight": _l("Percent of the total; the weights of all items of a card add up to 100."),
        "ratio_code": _l("Quantitative items only: the ratio computed from the customer's latest statement."),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": ChoiceField(_l("Item type"), ITEM_KINDS),
        "ratio_code": ChoiceField(_l("Financial ratio"), RATIO_CHOICES, blank=True, validators=[Optional()]),
        "weight": DecimalField(_l("Weight (%)"), places=2, validators=[
            NumberRange(min=0.01, max=100, message="权重应大于 0 且不超过 100（%）")]),
    }


class ScorecardOptionView(_CardPartView):
    datamodel = AppInterface(ScorecardOption)
    list_title = _l("Scorecard options")
    show_title = add_title = edit_title = _l("Scorecard option")
    list_columns = ["item", "label", "score", "sort_order"]
    add_columns = edit_columns = show_columns = ["item", "label", "score", "sort_order"]
    search_columns = ["item", "label"]
    base_order = ("item_id", "asc")
    add_form_query_rel_fields = edit_form_query_rel_fields = {"item": [["kind", FilterEqual, "qualitative"]]}
    add_form_extra_fields = edit_form_extra_fields = {
        "score": DecimalField(_l("Score (0–100)"), places=2, validators=[
            NumberRange(min=0, max=100, message="得分应在 0–100 分之间")]),
    }


class ScorecardBandView(_CardPartView):
    datamodel = AppInterface(ScorecardBand)
    list_title = _l("Scorecard bands")
    show_title = add_title = edit_title = _l("Scorecard band")
    list_columns = ["item", "range_label", "score", "sort_order"]
    add_columns = edit_columns = show_columns = ["item", "lower", "upper", "score", "sort_order"]
    search_columns = ["item"]
    base_order = ("item_id", "asc")
    add_form_query_rel_fields = edit_form_query_rel_fields = {"item": [["kind", FilterEqual, "quantitative"]]}
    description_columns = {"lower": _l("Leave empty for no lower bound."),
                           "upper": _l("Leave empty for no upper bound.")}
    add_form_extra_fields = edit_form_extra_fields = {
        "lower": DecimalField(_l("Lower bound (included)"), places=4, validators=[Optional()]),
        "upper": DecimalField(_l("Upper bound (excluded)"), places=4, validators=[Optional()]),
        "score": DecimalField(_l("Score (0–100)"), places=2, validators=[
            NumberRange(min=0, max=100, message="得分应在 0–100 分之间")]),
    }


class ScorecardGradeView(_CardPartView):
    datamodel = AppInterface(ScorecardGrade)
    list_title = _l("Scorecard grades")
    show_title = add_title = edit_title = _l("Scorecard grade")
    list_columns = ["scorecard", "grade", "min_score", "limit_multiplier", "description"]
    add_columns = edit_columns = show_columns = ["scorecard", "grade", "min_score", "limit_multiplier", "description"]
    search_columns = ["scorecard", "grade"]
    base_order = ("scorecard_id", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "min_score": DecimalField(_l("Minimum score"), places=2, validators=[
            NumberRange(min=0, max=100, message="最低分应在 0–100 分之间")]),
        "limit_multiplier": DecimalField(_l("Limit multiplier"), places=4, validators=[
            NumberRange(min=0, message="额度倍数不能小于 0")]),
    }


class ScorecardView(_ServiceChecked, AppModelView):
    """资信评价模板: the cards; the card page shows its sections, items, options, bands and grades."""

    datamodel = AppInterface(Scorecard)
    list_title = _l("Scorecards")
    show_title = add_title = edit_title = _l("Scorecard")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_copy"]
    label_columns = CARD_LABELS
    list_columns = ["code", "version", "name", "kind_label", "limit_base_label", "is_active", "updated_at"]
    add_columns = edit_columns = ["code", "name", "customer_kind", "limit_base", "base_amount", "is_active",
                                  "description"]
    search_columns = ["code", "name", "customer_kind", "is_active"]
    order_columns = ["code", "version", "name", "updated_at"]
    base_order = ("code", "asc")
    formatters_columns = {"updated_at": _fmt_dt}
    add_form_extra_fields = edit_form_extra_fields = {
        "customer_kind": ChoiceField(_l("Customer type"), CUSTOMER_KINDS),
        "limit_base": ChoiceField(_l("Suggested limit base"), LIMIT_BASES),
        "base_amount": MoneyField(_l("Fixed base amount (yuan)"),
                                  description=_l("Used when the base is the fixed amount.")),
    }
    check = staticmethod(service.check_card)
    check_delete = staticmethod(service.check_card_delete)

    def post_add_redirect(self):
        return redirect(url_for("ScorecardView.show", pk=g._rating_card_id)) if g.get("_rating_card_id") else \
            redirect(self.get_redirect())

    def post_add(self, item):
        g._rating_card_id = item.id

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        card = db.session.get(Scorecard, pk)
        if card is None:
            abort(404)
        sm = self.appbuilder.sm
        return self.render_template(
            "microloan/rating_scorecard_show.html", title=_l("Scorecard"), card=card, problems=service.problems(card),
            frozen=service.submitted_count(card.id), ratios=scoring.RATIO_BY_CODE, rule=SCORING_RULE,
            limit_rule=LIMIT_RULE, can_edit=sm.has_access("can_edit", "ScorecardView"),
            can_copy=sm.has_access("can_copy", "ScorecardView"), money=_money,
            weight_total=sum((i.weight for i in card.items), scoring.ZERO))

    @expose("/copy/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("copy")
    def copy(self, pk):
        try:
            new = service.copy_card(pk, g.user)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("ScorecardView.show", pk=pk))
        flash(f"已复制为 {new}，原版本已停用", "success")
        return redirect(url_for("ScorecardView.show", pk=new.id))


# == 客户资信评价 (ratings) ==============================================================
RATING_LABELS = {
    "rating_no": _l("Rating no."), "customer": _l("Customer"), "customer_id": _l("Customer"),
    "scorecard": _l("Scorecard"), "card_name": _l("Scorecard"), "status": _l("Status"),
    "status_label": _l("Status"), "score": _l("Score"), "grade": _l("Grade"),
    "suggested_limit": _l("Suggested limit (yuan)"), "rated_on": _l("Rating date"), "rater": _l("Rater"),
    "created_at": _l("Created at"),
}


def _posted_answers(form):
    answers = {}
    for key, value in form.items():
        kind, _, answer_id = key.partition("_")
        if kind in ("option", "value") and answer_id.isdigit():
            answers.setdefault(int(answer_id), {})["option_id" if kind == "option" else "value"] = value
    return answers


def _posted_deductions(form):
    points, reasons = form.getlist("deduction_points"), form.getlist("deduction_reason")
    return [{"points": p, "reason": r} for p, r in zip(points, reasons)]


class CreditRatingView(AppModelView):
    """客户资信评价: new (customer + card), the scoring form (draft), the read-only page."""

    datamodel = AppInterface(CreditRating)
    list_title = _l("Credit ratings")
    show_title = _l("Credit rating")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    base_filters = customer_scope_filters()
    label_columns = RATING_LABELS
    list_columns = ["rating_no", "customer", "card_name", "score", "grade", "suggested_limit", "status_label",
                    "rated_on", "rater"]
    search_columns = ["rating_no", "customer_id", "grade", "status", "rated_on", "created_at"]
    order_columns = ["rating_no", "score", "rated_on", "created_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {"suggested_limit": _money}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        _search_customer_by_name(self)

    def _get(self, pk):
        rating = db.session.get(CreditRating, pk)
        if rating is None or not can_see_branch(rating.customer.branch_id):
            abort(404)
        return rating

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        error, customer = None, None
        if request.method == "POST":
            try:
                rating = service.start(request.form.get("customer", type=int), request.form.get("scorecard", type=int),
                                       g.user)
            except DomainError as exc:
                error = exc
                customer = db.session.get(Customer, request.form.get("customer", type=int) or 0)
            else:
                flash(f"资信评价 {rating.rating_no} 已创建，请逐项评分", "success")
                return redirect(url_for("CreditRatingView.edit", pk=rating.id))
        elif request.args.get("customer_id", type=int):
            customer = db.session.get(Customer, request.args.get("customer_id", type=int))
        if customer is not None and not can_see_branch(customer.branch_id):
            customer = None
        return self.render_template(
            "microloan/rating_new.html", title=_l("New credit rating"), error=error, customer=customer,
            cards=service.usable_cards(), selected=request.form.get("scorecard", type=int), rule=SCORING_RULE,
            limit_rule=LIMIT_RULE)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        rating = self._get(pk)
        if not rating.is_draft:
            flash(f"资信评价 {rating.rating_no} 已提交，不能修改", "warning")
            return redirect(url_for("CreditRatingView.show", pk=rating.id))
        error, posted = None, None
        if request.method == "POST":
            action = request.form.get("action", "save")
            try:
                if action == "refresh":
                    service.refresh_figures(rating.id, g.user)
                    flash("已按最新一期财务报表重新取数", "success")
                else:
                    service.save(rating.id, g.user, answers=_posted_answers(request.form),
                                 deductions=_posted_deductions(request.form), opinion=request.form.get("opinion"),
                                 submit=action == "submit")
            except DomainError as exc:
                error, posted = exc, request.form
            else:
                if action == "submit":
                    flash(f"资信评价 {rating.rating_no} 已提交", "success")
                    return redirect(url_for("CreditRatingView.show", pk=rating.id))
                if action == "save":
                    flash("已保存草稿并重新计算得分", "success")
                return redirect(url_for("CreditRatingView.edit", pk=rating.id))
            rating = self._get(pk)
        return self.render_template(
            "microloan/rating_form.html", title=_l("Credit rating"), rating=rating, error=error, posted=posted,
            deductions=(_posted_deductions(posted) if posted is not None else
                        [{"points": d.points, "reason": d.reason} for d in rating.deductions]),
            items={i.id: i for i in rating.scorecard.items}, ratios=scoring.RATIO_BY_CODE, rule=SCORING_RULE,
            limit_rule=LIMIT_RULE, money=_money)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        rating = self._get(pk)
        return self.render_template(
            "microloan/rating_show.html", title=_l("Credit rating"), rating=rating, ratios=scoring.RATIO_BY_CODE,
            rule=SCORING_RULE, limit_rule=LIMIT_RULE, money=_money,
            can_edit=rating.is_draft and self.appbuilder.sm.has_access("can_edit", "CreditRatingView"))

    def pre_delete(self, item):
        service.delete_draft(item)


# == 企业财务报表 (statements) ===========================================================
STATEMENT_LABELS = {
    "customer": _l("Customer"), "customer_id": _l("Customer"), "period_kind": _l("Period type"),
    "kind_label": _l("Period type"), "year": _l("Year"), "period": _l("Quarter / month"),
    "period_label": _l("Period"), "period_end": _l("Period end"), "source": _l("Source"),
    "source_label": _l("Source"), "remarks": _l("Remarks"), "created_by": _l("Entered by"),
    "updated_at": _l("Updated at"),
    "code": _l("Code"), "name": _l("Name"), "sort_order": _l("Sort order"), "is_active": _l("In use"),
    "template": _l("Statement type"), "section": _l("Group"), "is_subtotal": _l("Subtotal line"),
}


class FinancialStatementLineView(_ServiceChecked, AppModelView):
    """报表项目: the lines of a statement type (code is what the ratios use)."""

    datamodel = AppInterface(StatementLine)
    list_title = _l("Statement lines")
    show_title = add_title = edit_title = _l("Statement line")
    label_columns = STATEMENT_LABELS
    list_columns = ["template", "sort_order", "code", "name", "section", "is_subtotal", "is_active"]
    add_columns = edit_columns = show_columns = ["template", "code", "name", "section", "sort_order", "is_subtotal",
                                                 "is_active"]
    search_columns = ["template", "code", "name", "is_active"]
    base_order = ("sort_order", "asc")
    description_columns = {"code": _l("Letters, digits and underscores; ratios find their figures by code.")}
    check = staticmethod(statements_service.check_line)
    check_delete = staticmethod(statements_service.check_line_delete)


class FinancialStatementTemplateView(_ServiceChecked, AppModelView):
    """报表类别: 资产负债表, 利润表, 现金流量表 with their lines."""

    datamodel = AppInterface(StatementTemplate)
    list_title = _l("Statement types")
    show_title = add_title = edit_title = _l("Statement type")
    label_columns = STATEMENT_LABELS
    list_columns = ["sort_order", "code", "name", "is_active"]
    add_columns = edit_columns = show_columns = ["code", "name", "sort_order", "is_active"]
    search_columns = ["code", "name", "is_active"]
    base_order = ("sort_order", "asc")
    related_views = [FinancialStatementLineView]
    check = staticmethod(statements_service.check_template)
    check_delete = staticmethod(statements_service.check_template_delete)


def _statement_header(form):
    return {"customer_id": form.get("customer", type=int), "period_kind": form.get("period_kind"),
            "year": form.get("year"), "period": form.get("period"), "source": form.get("source"),
            "remarks": form.get("remarks")}


def _statement_amounts(form):
    return {int(key[5:]): value for key, value in form.items() if key.startswith("line_") and key[5:].isdigit()}


class FinancialStatementView(_ServiceChecked, AppModelView):
    """企业财务报表: one form per period with one input per line; the page shows the ratios."""

    datamodel = AppInterface(FinancialStatement)
    list_title = _l("Financial statements")
    show_title = _l("Financial statement")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    base_filters = customer_scope_filters()
    label_columns = STATEMENT_LABELS
    list_columns = ["customer", "period_label", "kind_label", "source_label", "created_by", "updated_at"]
    search_columns = ["customer_id", "period_kind", "year", "source", "period_end"]
    order_columns = ["updated_at"]
    base_order = ("period_end", "desc")
    formatters_columns = {"updated_at": _fmt_dt}
    check_delete = staticmethod(lambda item: statements_service.delete_statement(item, g.user))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        _search_customer_by_name(self)

    def _get(self, pk):
        statement = db.session.get(FinancialStatement, pk)
        if statement is None or not can_see_branch(statement.customer.branch_id):
            abort(404)
        return statement

    def _form(self, statement=None):
        error = None
        form = request.form
        if request.method == "POST":
            try:
                statement = statements_service.save_statement(
                    _statement_header(form), _statement_amounts(form), g.user,
                    statement_id=statement.id if statement else None)
            except DomainError as exc:
                db.session.rollback()
                error = exc
            else:
                flash(f"{statement} 财务报表已保存", "success")
                return redirect(url_for("FinancialStatementView.show", pk=statement.id))
        if request.method == "POST":
            values = {"customer": db.session.get(Customer, form.get("customer", type=int) or 0),
                      "period_kind": form.get("period_kind"), "year": form.get("year", ""),
                      "period": form.get("period", ""), "source": form.get("source"), "remarks": form.get("remarks", ""),
                      "amounts": {k: v for k, v in _statement_amounts(form).items()}}
        elif statement is not None:
            values = {"customer": statement.customer, "period_kind": statement.period_kind, "year": statement.year,
                      "period": statement.period or "", "source": statement.source,
                      "remarks": statement.remarks or "", "amounts": {v.line_id: v.amount for v in statement.values}}
        else:
            customer = db.session.get(Customer, request.args.get("customer_id", type=int) or 0)
            values = {"customer": customer, "period_kind": "year", "year": settings.business_date().year - 1,
                      "period": "", "source": "onsite", "remarks": "", "amounts": {}}
        if values["customer"] is not None and not can_see_branch(values["customer"].branch_id):
            values["customer"] = None
        return self.render_template(
            "microloan/rating_statement_form.html", title=_l("Financial statement"), statement=statement,
            values=values, error=error, layout=statements_service.layout(), period_kinds=PERIOD_KINDS,
            sources=STATEMENT_SOURCES)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return self._form()

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return self._form(self._get(pk))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        statement = self._get(pk)
        values = statements_service.values_of(statement)
        ratios = statements_service.ratios_of(statement)
        return self.render_template(
            "microloan/rating_statement_show.html", title=_l("Financial statement"), statement=statement,
            layout=statements_service.layout(), values=values, ratios=[(r, ratios[r.code]) for r in scoring.RATIOS],
            warnings=scoring.balance_warnings(values), fmt=scoring.format_ratio, money=_money,
            can_edit=self.appbuilder.sm.has_access("can_edit", "FinancialStatementView"))


class FinancialStatementAnalysisView(BaseView):
    """财务指标评价: a customer's ratios side by side across periods."""

    route_base = "/financialanalysis"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("show")
    def index(self):
        customer_id = request.args.get("customer", type=int)
        customer, data = None, None
        if customer_id:
            customer = db.session.get(Customer, customer_id)
            if customer is None or not can_see_branch(customer.branch_id):
                abort(404)
            data = statements_service.analysis(customer.id, g.user)
        return self.render_template(
            "microloan/rating_analysis.html", title=_l("Financial ratio analysis"), customer=customer, data=data,
            fmt=scoring.format_ratio, money=_money)


# == the customer page's section ========================================================
def customer_section(customer):
    """资信评价 and 财务报表 of a customer, for the customer view's "Loans and credit" tab."""
    sm = current_app.appbuilder.sm
    if not (sm.has_access("can_list", "CreditRatingView") or sm.has_access("can_list", "FinancialStatementView")):
        return None
    ratings = service.history(customer.id)
    statements = statements_service.statements_of(customer.id) if customer.kind in \
        statements_service.STATEMENT_KINDS else []
    return {"template": "microloan/rating_customer_section.html", "ratings": ratings,
            "latest_rating": service.latest(customer.id), "statements": statements, "money": _money}


def register_views(appbuilder):
    """Add this module's views and menu entries (category "Risk")."""
    add = appbuilder.add_view
    add(CreditRatingView, "Credit ratings", label=_l("Credit ratings"), icon="fa-star-half-o", category="Risk")
    add(FinancialStatementView, "Financial statements", label=_l("Financial statements"), icon="fa-table",
        category="Risk")
    add(FinancialStatementAnalysisView, "Financial ratio analysis", label=_l("Financial ratio analysis"),
        icon="fa-line-chart", category="Risk")
    add(ScorecardView, "Scorecards", label=_l("Scorecards"), icon="fa-list-ol", category="Risk")
    add(FinancialStatementTemplateView, "Statement types", label=_l("Statement types"), icon="fa-th-list",
        category="Risk")
    for view in (ScorecardSectionView, ScorecardItemView, ScorecardOptionView, ScorecardBandView, ScorecardGradeView,
                 FinancialStatementLineView):
        appbuilder.add_view_no_menu(view)
    try:
        from app.views.customers import PROFILE_SECTIONS
    except ImportError:  # the customer view has no section registry (yet)
        return
    if customer_section not in PROFILE_SECTIONS:
        PROFILE_SECTIONS.append(customer_section)
