"""企业财务分析: statement templates (报表类别 and their lines), statements per company
customer and period, and the ratios computed from them (app/domain/scoring.py).

A statement holds the three reports of one period (资产负债表, 利润表, 现金流量表): one value
per line, entered in one form. Ratios are computed on read, never stored; a ratio whose
figures are missing or whose denominator is 0 is None (shown as "—").
"""
import calendar
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.domain import scoring
from app.domain.errors import DomainError
from app.domain.money import D, round_money
from app.extensions import db
from app.models import Customer
from app.models.rating import (
    PERIOD_KINDS, STATEMENT_SOURCES, FinancialStatement, FinancialStatementValue, StatementLine, StatementTemplate,
)
from app.services.scope import apply_scope, can_see_branch

#: Customer kinds that hand in company statements (a sole trader's business may, too).
STATEMENT_KINDS = ("company", "sole_trader")

#: 小企业会计准则 layout, trimmed to what a small-loan review reads:
#: template code → (name, [(line code, name, section, is_subtotal)]).
STANDARD_LAYOUT = {
    "balance_sheet": ("资产负债表", [
        ("cash", "货币资金", "流动资产", False),
        ("notes_receivable", "应收票据", "流动资产", False),
        ("receivables", "应收账款", "流动资产", False),
        ("prepayments", "预付账款", "流动资产", False),
        ("other_receivables", "其他应收款", "流动资产", False),
        ("inventory", "存货", "流动资产", False),
        ("current_assets", "流动资产合计", "流动资产", True),
        ("long_term_investments", "长期股权投资", "非流动资产", False),
        ("fixed_assets", "固定资产", "非流动资产", False),
        ("construction_in_progress", "在建工程", "非流动资产", False),
        ("intangible_assets", "无形资产", "非流动资产", False),
        ("non_current_assets", "非流动资产合计", "非流动资产", True),
        ("total_assets", "资产总计", "资产", True),
        ("short_term_loans", "短期借款", "流动负债", False),
        ("notes_payable", "应付票据", "流动负债", False),
        ("payables", "应付账款", "流动负债", False),
        ("advances_received", "预收账款", "流动负债", False),
        ("wages_payable", "应付职工薪酬", "流动负债", False),
        ("taxes_payable", "应交税费", "流动负债", False),
        ("other_payables", "其他应付款", "流动负债", False),
        ("current_liabilities", "流动负债合计", "流动负债", True),
        ("long_term_loans", "长期借款", "非流动负债", False),
        ("non_current_liabilities", "非流动负债合计", "非流动负债", True),
        ("total_liabilities", "负债合计", "负债", True),
        ("paid_in_capital", "实收资本", "所有者权益", False),
        ("capital_reserve", "资本公积", "所有者权益", False),
        ("surplus_reserve", "盈余公积", "所有者权益", False),
        ("retained_earnings", "未分配利润", "所有者权益", False),
        ("total_equity", "所有者权益合计", "所有者权益", True),
    ]),
    "income_statement": ("利润表", [
        ("revenue", "营业收入", "收入与成本", False),
        ("cost_of_sales", "营业成本", "收入与成本", False),
        ("taxes_and_surcharges", "税金及附加", "收入与成本", False),
        ("selling_expenses", "销售费用", "期间费用", False),
        ("admin_expenses", "管理费用", "期间费用", False),
        ("finance_expenses", "财务费用", "期间费用", False),
        ("operating_profit", "营业利润", "利润", True),
        ("non_operating_income", "营业外收入", "利润", False),
        ("non_operating_expenses", "营业外支出", "利润", False),
        ("total_profit", "利润总额", "利润", True),
        ("income_tax", "所得税费用", "利润", False),
        ("net_profit", "净利润", "利润", True),
    ]),
    "cash_flow": ("现金流量表", [
        ("operating_cash_in", "经营活动现金流入小计", "经营活动", False),
        ("operating_cash_out", "经营活动现金流出小计", "经营活动", False),
        ("operating_cash_flow", "经营活动现金流量净额", "经营活动", True),
        ("investing_cash_flow", "投资活动现金流量净额", "投资活动", True),
        ("financing_cash_flow", "筹资活动现金流量净额", "筹资活动", True),
        ("net_cash_flow", "现金及现金等价物净增加额", "合计", True),
    ]),
}


def seed_templates():
    """The standard templates and lines that are missing (an admin's edits stay). Flushes;
    the caller commits (setup.seed_reference_data does)."""
    templates = {t.code: t for t in db.session.execute(select(StatementTemplate)).scalars()}
    have_lines = set(db.session.execute(select(StatementLine.code)).scalars())
    for order, (code, (name, lines)) in enumerate(STANDARD_LAYOUT.items()):
        template = templates.get(code)
        if template is None:
            template = StatementTemplate(code=code, name=name, sort_order=(order + 1) * 10, is_active=True)
            db.session.add(template)
        for line_order, (line_code, line_name, section, subtotal) in enumerate(lines):
            if line_code not in have_lines:
                template.lines.append(StatementLine(code=line_code, name=line_name, section=section,
                                                    is_subtotal=subtotal, sort_order=(line_order + 1) * 10,
                                                    is_active=True))
    db.session.flush()


def layout():
    """[(template, [line…])] of the active templates and lines, in order: the entry form."""
    templates = db.session.execute(
        select(StatementTemplate).where(StatementTemplate.is_active.is_(True))
        .order_by(StatementTemplate.sort_order, StatementTemplate.id)).scalars().all()
    return [(t, [line for line in t.lines if line.is_active]) for t in templates]


# -- template editing checks (the admin's ModelViews) ----------------------------------
def check_template(template):
    template.code = (template.code or "").strip()
    template.name = (template.name or "").strip()
    if not template.code:
        raise DomainError("请填写报表类别代码", "code")
    if not template.name:
        raise DomainError("请填写报表类别名称", "name")
    other = db.session.execute(select(StatementTemplate.id).where(
        StatementTemplate.code == template.code, StatementTemplate.id != (template.id or 0))).scalar()
    if other:
        raise DomainError(f"报表类别代码 {template.code} 已存在", "code")


def check_line(line):
    line.code = (line.code or "").strip()
    line.name = (line.name or "").strip()
    if line.template is None and line.template_id is None:
        raise DomainError("请选择报表类别", "template")
    if not line.code or not line.code.replace("_", "").isalnum() or not line.code.isascii():
        raise DomainError("项目代码只能由英文字母、数字和下划线组成（财务指标按代码取数）", "code")
    if not line.name:
        raise DomainError("请填写项目名称", "name")
    other = db.session.execute(select(StatementLine.id).where(
        StatementLine.code == line.code, StatementLine.id != (line.id or 0))).scalar()
    if other:
        raise DomainError(f"项目代码 {line.code} 已被其他报表项目使用", "code")


def check_line_delete(line):
    used = db.session.execute(select(FinancialStatementValue.id).where(
        FinancialStatementValue.line_id == line.id).limit(1)).scalar()
    if used:
        raise DomainError(f"报表项目“{line.name}”已有报表数据，不能删除；可将其停用", "is_active")


def check_template_delete(template):
    for line in template.lines:
        check_line_delete(line)


# -- statements ------------------------------------------------------------------------
def period_end(kind, year, period):
    if kind == "year":
        return date(year, 12, 31)
    month = period * 3 if kind == "quarter" else period
    return date(year, month, calendar.monthrange(year, month)[1])


def _int(value, label, field):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError(f"请填写{label}", field)
    try:
        return int(str(value).strip())
    except ValueError:
        raise DomainError(f"{label}应为整数", field) from None


def visible_customer(customer_id, user=None):
    """The customer, if it exists and the user's data scope covers it."""
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer is None or not can_see_branch(customer.branch_id, user):
        raise DomainError("客户不存在或无权访问，请重新搜索选择", "customer")
    return customer


def save_statement(header, amounts, user, statement_id=None):
    """Create (or, with ``statement_id``, update) a statement; one transaction.

    ``header``: customer_id, period_kind, year, period, source, remarks; ``amounts``:
    {line id: text}, an empty text leaves the line blank. Everything is checked before
    anything is written; a DomainError names the field at fault."""
    statement = None
    if statement_id is not None:
        statement = db.session.get(FinancialStatement, statement_id)
        if statement is None or not can_see_branch(statement.customer.branch_id, user):
            raise DomainError("报表不存在或无权访问")
    customer = visible_customer(header.get("customer_id"), user)
    if customer.kind not in STATEMENT_KINDS:
        raise DomainError("个人客户不录入企业财务报表，请选择企业或个体工商户客户", "customer")
    kind = header.get("period_kind") or "year"
    if kind not in PERIOD_KINDS:
        raise DomainError("请选择报表期间类型（年报、季报或月报）", "period_kind")
    year = _int(header.get("year"), "报表年度", "year")
    if year < 1990 or year > 2100:
        raise DomainError("报表年度应在 1990–2100 之间", "year")
    if kind == "year":
        period = 0
    else:
        period = _int(header.get("period"), "季度" if kind == "quarter" else "月份", "period")
        top = 4 if kind == "quarter" else 12
        if not 1 <= period <= top:
            raise DomainError(f"{'季度应为 1–4' if kind == 'quarter' else '月份应为 1–12'}", "period")
    source = header.get("source") or "onsite"
    if source not in STATEMENT_SOURCES:
        raise DomainError("请选择报表来源", "source")
    duplicate = db.session.execute(select(FinancialStatement).where(
        FinancialStatement.customer_id == customer.id, FinancialStatement.period_kind == kind,
        FinancialStatement.year == year, FinancialStatement.period == period,
        FinancialStatement.id != (statement.id if statement else 0))).scalar()
    if duplicate is not None:
        raise DomainError(f"{customer.name} 已有 {duplicate.period_label}{PERIOD_KINDS[kind]}，请修改原报表", "year")
    lines = {line.id: line for line in db.session.execute(select(StatementLine)).scalars()}
    parsed = {}
    for line_id, raw in (amounts or {}).items():
        line = lines.get(int(line_id))
        if line is None:
            raise DomainError("报表项目不存在", "amounts")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = D(raw, field=f"line_{line.id}", label=line.name)
        except TypeError:
            raise DomainError(f"{line.name}格式不正确", f"line_{line.id}") from None
        if abs(value) >= Decimal("1e16"):
            raise DomainError(f"{line.name}金额过大", f"line_{line.id}")
        parsed[line.id] = round_money(value)
    if not parsed:
        raise DomainError("请至少填写一个报表项目的金额", "amounts")

    if statement is None:
        statement = FinancialStatement(created_by_id=user.id if user else None)
        db.session.add(statement)
    statement.customer_id = customer.id
    statement.customer = customer
    statement.period_kind, statement.year, statement.period = kind, year, period
    statement.period_end = period_end(kind, year, period)
    statement.source = source
    statement.remarks = (header.get("remarks") or "").strip() or None
    existing = {v.line_id: v for v in statement.values}
    for line_id, value in existing.items():
        if line_id not in parsed and lines[line_id].is_active:
            statement.values.remove(value)
    for line_id, amount in parsed.items():
        if line_id in existing:
            existing[line_id].amount = amount
        else:
            statement.values.append(FinancialStatementValue(line_id=line_id, amount=amount))
    db.session.commit()
    return statement


def delete_statement(statement, user=None):
    """Refused while a submitted rating was computed from it (the rating cites it)."""
    from app.models.rating import CreditRating

    if not can_see_branch(statement.customer.branch_id, user):
        raise DomainError("报表不存在或无权访问")
    used = db.session.execute(select(CreditRating.rating_no).where(
        CreditRating.statement_id == statement.id, CreditRating.status == "submitted").limit(1)).scalar()
    if used:
        raise DomainError(f"资信评价 {used} 引用了这份报表，不能删除")
    db.session.execute(
        CreditRating.__table__.update().where(CreditRating.statement_id == statement.id).values(statement_id=None))


def values_of(statement):
    """{line code: Decimal} of a statement."""
    return {v.line.code: v.amount for v in statement.values}


def ratios_of(statement):
    return scoring.compute_ratios(values_of(statement))


def statements_of(customer_id, user=None):
    """The customer's statements, latest period first (within the user's scope)."""
    query = select(FinancialStatement).join(Customer, Customer.id == FinancialStatement.customer_id).where(
        FinancialStatement.customer_id == customer_id).order_by(
        FinancialStatement.period_end.desc(), FinancialStatement.period_kind)
    return db.session.execute(apply_scope(query, Customer.branch_id, user)).scalars().all()


def latest_statement(customer_id, user=None):
    """The statement of the latest period (a year-end report wins over a December month)."""
    rows = statements_of(customer_id, user)
    return rows[0] if rows else None


def analysis(customer_id, user=None, limit=8):
    """财务指标评价: the ratios of the customer's statements side by side, oldest period
    first: {"statements": [...], "rows": [(Ratio, [value…])], "lines": [(name, [amount…])]}."""
    statements = list(reversed(statements_of(customer_id, user)[:limit]))
    per_statement = [values_of(s) for s in statements]
    rows = [(ratio, [scoring.compute_ratio(ratio, values) for values in per_statement]) for ratio in scoring.RATIOS]
    key_lines = ("total_assets", "total_liabilities", "total_equity", "revenue", "net_profit",
                 "operating_cash_flow")
    names = dict(db.session.execute(select(StatementLine.code, StatementLine.name)
                                    .where(StatementLine.code.in_(key_lines))).all())
    lines = [(names.get(code, code), [values.get(code) for values in per_statement])
             for code in key_lines if code in names]
    return {"statements": statements, "rows": rows, "lines": lines,
            "warnings": [scoring.balance_warnings(values) for values in per_statement]}
