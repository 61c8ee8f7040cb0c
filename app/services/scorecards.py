"""资信评价: scorecard design (评分卡, 评分模块, 评分项目, 选项, 分段, 等级) and customer
ratings (客户资信评价: draft → submitted, with 资信扣分).

The scoring rule is in app/domain/scoring.py (and on the screens): items score 0–100, an
item contributes score × weight ÷ 100, the weights of a card add up to 100, deductions
are subtracted, the grade is the highest one whose minimum the score reaches, and the
suggested limit = base × the grade's multiplier (base: the customer's net assets from the
statement used, or the card's fixed amount).

A card used by a submitted rating is frozen: only its active flag and description may
change; ``copy_card`` makes the next version to edit. A rating keeps the section and item
names, weights, option texts and scores it was given (CreditRatingAnswer), so neither a
new version nor an edit of a draft's card changes a submitted rating.

``seed_reference_data`` (for setup.seed_reference_data to call; idempotent, flushes,
the caller commits) seeds the standard statement templates and, through
``seed_default_cards``, the default company and person cards whose codes are missing.
"""
from datetime import datetime
from decimal import Decimal
from functools import wraps

from sqlalchemy import func, inspect, select

from app.domain import scoring
from app.domain.errors import DomainError
from app.domain.money import D, round_money
from app.extensions import db
from app.models.customer import CUSTOMER_KINDS
from app.models.rating import (
    ITEM_KINDS, LIMIT_BASES, CreditRating, CreditRatingAnswer, CreditRatingDeduction, Scorecard, ScorecardBand,
    ScorecardGrade, ScorecardItem, ScorecardOption, ScorecardSection,
)
from app.services import financial_statements, numbering, settings
from app.services.scope import can_see_branch

GRADES = (("AAA", "90", "1.0"), ("AA", "80", "0.8"), ("A", "70", "0.6"), ("BBB", "60", "0.4"),
          ("BB", "50", "0.2"), ("B", "40", "0.1"), ("C", "0", "0"))
#: Card fields that may still change once the card is frozen.
FROZEN_EDITABLE = {"is_active", "description", "updated_at"}


def _atomic(func):
    """A refused use case leaves nothing behind: the session is rolled back on DomainError."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise
    return wrapper


# -- default cards ---------------------------------------------------------------------
# Item: (name, weight, guidance, options [(label, score)]) for qualitative,
#       (name, weight, guidance, ratio code, bands [(lower, upper, score)]) for quantitative.
DEFAULT_CARDS = [
    {
        "code": "COMPANY_STD", "name": "企业客户资信评价标准卡", "customer_kind": "company",
        "limit_base": "net_assets", "base_amount": None,
        "description": "适用于企业客户：定性 40%（经营与信用），定量 60%（取自最近一期财务报表的财务指标）。"
                       "建议额度 = 净资产（所有者权益合计）× 等级倍数。",
        "grades": (("AAA", "90", "0.5"), ("AA", "80", "0.4"), ("A", "70", "0.3"), ("BBB", "60", "0.2"),
                   ("BB", "50", "0.1"), ("B", "40", "0.05"), ("C", "0", "0")),
        "sections": [
            ("经营与管理", [
                ("经营年限", "10", "自成立至今的持续经营年限",
                 [("10 年以上", "100"), ("5–10 年", "80"), ("3–5 年", "60"), ("1–3 年", "40"), ("不足 1 年", "10")]),
                ("行业前景", "10", "所处行业的景气度与政策导向",
                 [("国家鼓励、前景良好", "100"), ("平稳", "70"), ("波动较大", "40"), ("限制类或衰退行业", "0")]),
                ("实际控制人素质", "10", "从业经验、品行与管理能力",
                 [("经验丰富、口碑良好", "100"), ("一般", "60"), ("经验不足或有不良传闻", "20")]),
            ]),
            ("信用状况", [
                ("征信记录", "10", "企业及实际控制人的人民银行征信记录",
                 [("无逾期记录", "100"), ("偶有逾期已结清", "60"), ("有当前逾期或不良", "0")]),
            ]),
            ("财务状况", [
                ("资产负债率", "15", "负债合计 ÷ 资产总计 × 100%", "debt_ratio",
                 [(None, "50", "100"), ("50", "60", "80"), ("60", "70", "60"), ("70", "80", "30"), ("80", None, "0")]),
                ("流动比率", "10", "流动资产合计 ÷ 流动负债合计", "current_ratio",
                 [("2", None, "100"), ("1.5", "2", "80"), ("1", "1.5", "60"), ("0.5", "1", "30"), (None, "0.5", "0")]),
                ("速动比率", "10", "（流动资产 − 存货）÷ 流动负债", "quick_ratio",
                 [("1", None, "100"), ("0.7", "1", "70"), ("0.5", "0.7", "40"), (None, "0.5", "10")]),
                ("净资产收益率", "10", "净利润 ÷ 所有者权益合计 × 100%", "roe",
                 [("15", None, "100"), ("10", "15", "80"), ("5", "10", "60"), ("0", "5", "30"), (None, "0", "0")]),
                ("销售净利率", "10", "净利润 ÷ 营业收入 × 100%", "net_margin",
                 [("10", None, "100"), ("5", "10", "80"), ("2", "5", "60"), ("0", "2", "30"), (None, "0", "0")]),
                ("应收账款周转率", "5", "营业收入 ÷ 应收账款（次）", "receivable_turnover",
                 [("8", None, "100"), ("4", "8", "70"), ("2", "4", "40"), (None, "2", "10")]),
            ]),
        ],
    },
    {
        "code": "PERSON_STD", "name": "个人客户资信评价标准卡", "customer_kind": "person",
        "limit_base": "fixed", "base_amount": "200000.00",
        "description": "适用于个人客户：全部为定性项目。建议额度 = 200,000 元 × 等级倍数。",
        "grades": GRADES,
        "sections": [
            ("基本情况", [
                ("年龄", "10", "", [("30–50 岁", "100"), ("25–30 岁或 50–60 岁", "70"), ("其他", "40")]),
                ("婚姻与家庭", "10", "", [("已婚有子女", "100"), ("已婚", "80"), ("未婚", "60"), ("离异或其他", "40")]),
                ("住房情况", "15", "", [("自有住房无贷款", "100"), ("自有住房有按揭", "70"), ("租房", "30"), ("其他", "20")]),
            ]),
            ("收入与职业", [
                ("职业稳定性", "20", "现单位工作年限与单位性质",
                 [("公职或大型企业 3 年以上", "100"), ("稳定就业 1 年以上", "70"), ("自由职业", "40"), ("无固定职业", "0")]),
                ("月收入水平", "20", "", [("2 万元以上", "100"), ("1–2 万元", "80"), ("5 千–1 万元", "60"),
                                         ("5 千元以下", "30")]),
            ]),
            ("信用状况", [
                ("征信记录", "25", "人民银行个人征信记录",
                 [("无逾期记录", "100"), ("偶有逾期已结清", "60"), ("有当前逾期或不良", "0")]),
            ]),
        ],
    },
]


def _d(value):
    return None if value is None else Decimal(value)


def _build_card(spec):
    card = Scorecard(code=spec["code"], version=1, name=spec["name"], customer_kind=spec["customer_kind"],
                     is_active=True, limit_base=spec["limit_base"], base_amount=_d(spec["base_amount"]),
                     description=spec["description"])
    for s_order, (section_name, items) in enumerate(spec["sections"]):
        section = ScorecardSection(name=section_name, sort_order=(s_order + 1) * 10)
        for i_order, item_spec in enumerate(items):
            if len(item_spec) == 4:
                name, weight, guidance, options = item_spec
                item = ScorecardItem(name=name, kind="qualitative", weight=Decimal(weight), guidance=guidance or None,
                                     sort_order=(i_order + 1) * 10)
                for o_order, (label, score) in enumerate(options):
                    item.options.append(ScorecardOption(label=label, score=Decimal(score), sort_order=(o_order + 1) * 10))
            else:
                name, weight, guidance, ratio_code, bands = item_spec
                item = ScorecardItem(name=name, kind="quantitative", ratio_code=ratio_code, weight=Decimal(weight),
                                     guidance=guidance or None, sort_order=(i_order + 1) * 10)
                for b_order, (lower, upper, score) in enumerate(bands):
                    item.bands.append(ScorecardBand(lower=_d(lower), upper=_d(upper), score=Decimal(score),
                                                    sort_order=(b_order + 1) * 10))
            section.items.append(item)
        card.sections.append(section)
    for grade, minimum, multiplier in spec["grades"]:
        card.grades.append(ScorecardGrade(grade=grade, min_score=Decimal(minimum), limit_multiplier=Decimal(multiplier)))
    return card


def seed_default_cards():
    """The default company and person cards, when no card has their code (idempotent; an
    admin's edits and versions stay). Flushes; the caller commits."""
    have = set(db.session.execute(select(Scorecard.code)).scalars())
    for spec in DEFAULT_CARDS:
        if spec["code"] not in have:
            db.session.add(_build_card(spec))
    db.session.flush()


def seed_reference_data():
    """What setup.seed_reference_data should call: statement templates and default cards."""
    financial_statements.seed_templates()
    seed_default_cards()


# -- card design checks ----------------------------------------------------------------
def submitted_count(card_id):
    if card_id is None:
        return 0
    return db.session.execute(select(func.count(CreditRating.id)).where(
        CreditRating.scorecard_id == card_id, CreditRating.status == "submitted")).scalar()


def is_frozen(card):
    return card is not None and submitted_count(card.id) > 0


def _refuse_if_frozen(card):
    if card is not None and card.id is not None:
        count = submitted_count(card.id)
        if count:
            raise DomainError(f"评分卡“{card}”已被 {count} 份已提交的资信评价使用，不能修改；"
                              "请在评分卡页面“复制为新版本”后修改新版本")


def check_card(card):
    """The card's own fields; a frozen card may only change its active flag and description."""
    with db.session.no_autoflush:
        _check_card(card)


def _check_card(card):
    if card.id is not None:
        state = inspect(card)
        changed = {attr.key for attr in state.attrs if attr.history.has_changes()} - FROZEN_EDITABLE
        if changed:
            _refuse_if_frozen(card)
    card.name = (card.name or "").strip()
    card.code = (card.code or "").strip().upper()
    if not card.code:
        raise DomainError("请填写评分卡代码", "code")
    if not card.name:
        raise DomainError("请填写评分卡名称", "name")
    if card.customer_kind not in CUSTOMER_KINDS:
        raise DomainError("请选择适用的客户类型", "customer_kind")
    if card.limit_base not in LIMIT_BASES:
        raise DomainError("请选择建议额度的计算基数", "limit_base")
    if card.base_amount is not None:
        card.base_amount = round_money(D(card.base_amount, "base_amount", "固定基数"))
    if card.limit_base == "fixed" and (card.base_amount is None or card.base_amount <= 0):
        raise DomainError("按固定基数计算建议额度时，请填写大于 0 的固定基数（元）", "base_amount")
    card.version = card.version or 1
    other = db.session.execute(select(Scorecard.id).where(
        Scorecard.code == card.code, Scorecard.version == card.version, Scorecard.id != (card.id or 0))).scalar()
    if other:
        raise DomainError(f"评分卡代码 {card.code} 的第 {card.version} 版已存在", "code")


def check_card_delete(card):
    used = db.session.execute(select(func.count(CreditRating.id)).where(CreditRating.scorecard_id == card.id)).scalar()
    if used:
        raise DomainError(f"评分卡“{card}”已有 {used} 份资信评价，不能删除；可将其停用")


def _card_of(part):
    if isinstance(part, ScorecardSection):
        return part.scorecard or (db.session.get(Scorecard, part.scorecard_id) if part.scorecard_id else None)
    if isinstance(part, ScorecardItem):
        section = part.section or (db.session.get(ScorecardSection, part.section_id) if part.section_id else None)
        return _card_of(section) if section else None
    if isinstance(part, (ScorecardOption, ScorecardBand)):
        item = part.item or (db.session.get(ScorecardItem, part.item_id) if part.item_id else None)
        return _card_of(item) if item else None
    if isinstance(part, ScorecardGrade):
        return part.scorecard or (db.session.get(Scorecard, part.scorecard_id) if part.scorecard_id else None)
    return None


def _previous_card(part):
    """The card a stored part belongs to in the database (moving a part out of a frozen card
    is an edit of that card too); read without flushing the pending change."""
    if part.id is None:
        return None
    parent = {ScorecardSection: (ScorecardSection.scorecard_id, Scorecard),
              ScorecardGrade: (ScorecardGrade.scorecard_id, Scorecard),
              ScorecardItem: (ScorecardItem.section_id, ScorecardSection),
              ScorecardOption: (ScorecardOption.item_id, ScorecardItem),
              ScorecardBand: (ScorecardBand.item_id, ScorecardItem)}.get(type(part))
    if parent is None:
        return None
    column, model = parent
    with db.session.no_autoflush:
        parent_id = db.session.execute(select(column).where(type(part).id == part.id)).scalar()
        owner = db.session.get(model, parent_id) if parent_id else None
        return owner if isinstance(owner, Scorecard) else (_card_of(owner) if owner else None)


def check_part(part):
    """A section, item, option, band or grade about to be saved: values, then the freeze.
    Runs without autoflush: the new part is not in the session yet."""
    with db.session.no_autoflush:
        _check_part(part)


def _check_part(part):
    if isinstance(part, ScorecardSection):
        part.name = (part.name or "").strip()
        if part.scorecard is None and part.scorecard_id is None:
            raise DomainError("请选择评分卡", "scorecard")
        if not part.name:
            raise DomainError("请填写模块名称", "name")
    elif isinstance(part, ScorecardItem):
        part.name = (part.name or "").strip()
        if part.section is None and part.section_id is None:
            raise DomainError("请选择评分模块", "section")
        if not part.name:
            raise DomainError("请填写项目名称", "name")
        if part.kind not in ITEM_KINDS:
            raise DomainError("请选择项目类型（定性或定量）", "kind")
        part.weight = scoring.check_weight(part.weight)
        if part.kind == "quantitative":
            if part.ratio_code not in scoring.RATIO_BY_CODE:
                raise DomainError("定量项目请选择一个财务指标", "ratio_code")
        else:
            part.ratio_code = None
    elif isinstance(part, ScorecardOption):
        part.label = (part.label or "").strip()
        if part.item is None and part.item_id is None:
            raise DomainError("请选择评分项目", "item")
        item = part.item or db.session.get(ScorecardItem, part.item_id)
        if item.kind != "qualitative":
            raise DomainError("选项只属于定性项目；定量项目请设置分段", "item")
        if not part.label:
            raise DomainError("请填写选项内容", "label")
        part.score = scoring.check_score(part.score)
    elif isinstance(part, ScorecardBand):
        if part.item is None and part.item_id is None:
            raise DomainError("请选择评分项目", "item")
        item = part.item or db.session.get(ScorecardItem, part.item_id)
        if item.kind != "quantitative":
            raise DomainError("分段只属于定量项目；定性项目请设置选项", "item")
        part.score = scoring.check_score(part.score)
        if part.lower is None and part.upper is None:
            raise DomainError("下限和上限至少填写一个", "lower")
        if part.lower is not None and part.upper is not None and part.lower >= part.upper:
            raise DomainError("下限必须小于上限（区间含下限、不含上限）", "upper")
        mine = scoring.Band(part.lower, part.upper, part.score)
        for other in item.bands:
            if other is part or (part.id is not None and other.id == part.id):
                continue
            if scoring.overlapping_bands([mine, scoring.Band(other.lower, other.upper, other.score)]):
                raise DomainError(f"与已有分段 {other.range_label} 重叠", "lower")
    elif isinstance(part, ScorecardGrade):
        part.grade = (part.grade or "").strip().upper()
        if part.scorecard is None and part.scorecard_id is None:
            raise DomainError("请选择评分卡", "scorecard")
        if not part.grade:
            raise DomainError("请填写等级名称", "grade")
        part.min_score = scoring.check_score(part.min_score, "最低分", "min_score")
        if part.limit_multiplier is None or part.limit_multiplier < 0:
            raise DomainError("额度倍数不能为空或小于 0", "limit_multiplier")
        card = _card_of(part)
        other = db.session.execute(select(ScorecardGrade.id).where(
            ScorecardGrade.scorecard_id == card.id, ScorecardGrade.grade == part.grade,
            ScorecardGrade.id != (part.id or 0))).scalar()
        if other:
            raise DomainError(f"等级 {part.grade} 已存在", "grade")
    _refuse_if_frozen(_card_of(part))
    _refuse_if_frozen(_previous_card(part))


def check_part_delete(part):
    """Deleting a part of a frozen card is refused; drafts lose their answers to a deleted item."""
    _refuse_if_frozen(_card_of(part))
    items = []
    if isinstance(part, ScorecardItem):
        items = [part]
    elif isinstance(part, ScorecardSection):
        items = list(part.items)
    if items:
        ids = [i.id for i in items]
        for answer in db.session.execute(select(CreditRatingAnswer).where(CreditRatingAnswer.item_id.in_(ids))).scalars():
            db.session.delete(answer)
    options = [part] if isinstance(part, ScorecardOption) else [o for i in items for o in i.options]
    if options:
        db.session.execute(CreditRatingAnswer.__table__.update().where(
            CreditRatingAnswer.option_id.in_([o.id for o in options])).values(option_id=None))


def problems(card):
    """Why the card cannot be used for a rating yet (empty when it can)."""
    items = [{"name": item.name, "kind": item.kind, "weight": item.weight, "ratio_code": item.ratio_code,
              "options": [o.score for o in item.options],
              "bands": [scoring.Band(b.lower, b.upper, b.score) for b in item.bands]}
             for item in card.items]
    return scoring.card_problems(items, _grades(card))


def _grades(card):
    return [scoring.Grade(g.grade, g.min_score, g.limit_multiplier) for g in card.grades]


@_atomic
def copy_card(card_id, user=None):
    """复制为新版本: the next version of the card with everything in it; the old version is
    deactivated (its ratings keep pointing at it)."""
    card = db.session.get(Scorecard, card_id)
    if card is None:
        raise DomainError("评分卡不存在")
    latest = db.session.execute(select(func.max(Scorecard.version)).where(Scorecard.code == card.code)).scalar()
    new = Scorecard(code=card.code, version=latest + 1, name=card.name, customer_kind=card.customer_kind,
                    is_active=True, limit_base=card.limit_base, base_amount=card.base_amount,
                    description=card.description)
    for section in card.sections:
        copy = ScorecardSection(name=section.name, sort_order=section.sort_order)
        for item in section.items:
            new_item = ScorecardItem(name=item.name, kind=item.kind, ratio_code=item.ratio_code, weight=item.weight,
                                     sort_order=item.sort_order, guidance=item.guidance)
            new_item.options = [ScorecardOption(label=o.label, score=o.score, sort_order=o.sort_order)
                                for o in item.options]
            new_item.bands = [ScorecardBand(lower=b.lower, upper=b.upper, score=b.score, sort_order=b.sort_order)
                              for b in item.bands]
            copy.items.append(new_item)
        new.sections.append(copy)
    new.grades = [ScorecardGrade(grade=g.grade, min_score=g.min_score, limit_multiplier=g.limit_multiplier,
                                 description=g.description) for g in card.grades]
    card.is_active = False
    db.session.add(new)
    db.session.commit()
    return new


def usable_cards(customer_kind=None):
    """Active cards (of a customer kind), for the new-rating form."""
    query = select(Scorecard).where(Scorecard.is_active.is_(True)).order_by(Scorecard.customer_kind, Scorecard.code,
                                                                            Scorecard.version.desc())
    if customer_kind:
        query = query.where(Scorecard.customer_kind == customer_kind)
    return db.session.execute(query).scalars().all()


# -- ratings ---------------------------------------------------------------------------
def _visible_rating(rating_id, user, lock=False):
    rating = db.session.get(CreditRating, rating_id,
                            with_for_update=lock and db.session.get_bind().dialect.name == "postgresql")
    if rating is None or not can_see_branch(rating.customer.branch_id, user):
        raise DomainError("资信评价不存在或无权访问")
    return rating


def _check_card_for(card, customer):
    if card is None:
        raise DomainError("请选择评分卡", "scorecard")
    if not card.is_active:
        raise DomainError(f"评分卡“{card}”已停用，请选择在用的评分卡", "scorecard")
    if card.customer_kind != customer.kind:
        raise DomainError(f"评分卡“{card}”适用于{card.kind_label}客户，{customer.name}是{customer.kind_label}客户",
                          "scorecard")
    found = problems(card)
    if found:
        raise DomainError(f"评分卡“{card}”尚未设计完整：{'；'.join(found)}", "scorecard")


@_atomic
def start(customer_id, scorecard_id, user):
    """新建资信评价 (draft): one answer per item; quantitative figures filled from the
    customer's latest statement."""
    customer = financial_statements.visible_customer(customer_id, user)
    card = db.session.get(Scorecard, scorecard_id) if scorecard_id else None
    _check_card_for(card, customer)
    today = settings.business_date()
    rating = CreditRating(rating_no=numbering.next_number("PJ", today), customer=customer, scorecard=card,
                          card_name=str(card), status="draft", rater_id=user.id)
    db.session.add(rating)
    _sync_answers(rating)
    _fill_figures(rating, financial_statements.latest_statement(customer.id, user))
    _compute(rating)
    db.session.commit()
    return rating


def _sync_answers(rating):
    """A draft's answers follow its card: new items get an answer, removed items lose
    theirs, names and weights are copied again."""
    answers = {a.item_id: a for a in rating.answers}
    order = 0
    live = set()
    for section in rating.scorecard.sections:
        for item in section.items:
            order += 1
            answer = answers.get(item.id)
            if answer is None:
                answer = CreditRatingAnswer(item=item, item_id=item.id)
                rating.answers.append(answer)
            live.add(item.id)
            answer.sort_order = order
            answer.section_name, answer.item_name = section.name, item.name
            answer.kind, answer.ratio_code, answer.weight = item.kind, item.ratio_code, item.weight
            if item.kind == "qualitative":
                answer.value = answer.statement_value = None
                if answer.option_id and answer.option_id not in {o.id for o in item.options}:
                    answer.option_id = None
            else:
                answer.option_id = None
    for answer in list(rating.answers):
        if answer.item_id not in live:
            rating.answers.remove(answer)


def _fill_figures(rating, statement):
    """Quantitative figures from ``statement`` (None: figures left for the reviewer)."""
    rating.statement = statement
    rating.statement_id = statement.id if statement else None
    ratios = financial_statements.ratios_of(statement) if statement else {}
    for answer in rating.answers:
        if answer.kind == "quantitative":
            answer.statement_value = ratios.get(answer.ratio_code)
            answer.value = answer.statement_value


@_atomic
def refresh_figures(rating_id, user):
    """重新取数: take the figures again from the customer's latest statement."""
    rating = _visible_rating(rating_id, user, lock=True)
    _refuse_submitted(rating)
    _sync_answers(rating)
    _fill_figures(rating, financial_statements.latest_statement(rating.customer_id, user))
    _compute(rating)
    db.session.commit()
    return rating


def _refuse_submitted(rating):
    if rating.status != "draft":
        raise DomainError(f"资信评价 {rating.rating_no} 已提交，不能修改")


def _limit_base(rating):
    card = rating.scorecard
    if card.limit_base == "fixed":
        return card.base_amount, f"固定基数 {card.base_amount:,.2f} 元" if card.base_amount is not None else "固定基数"
    if rating.statement is None:
        return None, "净资产（无财务报表）"
    equity = financial_statements.values_of(rating.statement).get(scoring.NET_ASSETS_LINE)
    label = f"{rating.statement.period_label}净资产"
    return equity, label


def _compute(rating):
    """Score, grade and suggested limit of the answers given so far (missing answers score 0)."""
    contributions = []
    for answer in rating.answers:
        score, band = None, None
        if answer.kind == "qualitative":
            option = db.session.get(ScorecardOption, answer.option_id) if answer.option_id else None
            answer.option_label = option.label if option else None
            score = option.score if option else None
        elif answer.value is not None:
            item = answer.item
            bands = [scoring.Band(b.lower, b.upper, b.score) for b in item.bands] if item else []
            score = scoring.band_score(answer.value, bands)
            band = next((b.label for b in bands if b.contains(answer.value)), "不在任何分段，得 0 分")
            score = score if score is not None else Decimal("0.00")
        answer.band_label = band
        answer.score = score
        answer.weighted_score = scoring.weighted(score, answer.weight) if score is not None else None
        if answer.weighted_score is not None:
            contributions.append(answer.weighted_score)
    gross, deducted, final = scoring.total_score(contributions, [d.points for d in rating.deductions])
    rating.item_score, rating.deduction_total, rating.score = gross, deducted, final
    grade = scoring.grade_for(final, _grades(rating.scorecard))
    rating.grade = grade.grade if grade else None
    rating.limit_multiplier = grade.multiplier if grade else None
    rating.limit_base, rating.limit_base_label = _limit_base(rating)
    rating.suggested_limit = scoring.suggested_limit(rating.limit_base, rating.limit_multiplier)


def _parse_answers(rating, answers):
    """{answer id: {"option_id", "value"}} → checked {answer id: (option_id, value)}."""
    parsed = {}
    by_id = {a.id: a for a in rating.answers}
    for answer_id, given in (answers or {}).items():
        answer = by_id.get(int(answer_id))
        if answer is None:
            raise DomainError("评分项目不属于这份评价，请刷新页面", "answers")
        field = f"answer_{answer.id}"
        if answer.kind == "qualitative":
            raw = given.get("option_id")
            if raw in (None, ""):
                parsed[answer.id] = (None, None)
                continue
            try:
                option_id = int(raw)
            except (TypeError, ValueError):
                raise DomainError(f"“{answer.item_name}”的选项无效", field) from None
            if answer.item is None or option_id not in {o.id for o in answer.item.options}:
                raise DomainError(f"“{answer.item_name}”的选项无效，请重新选择", field)
            parsed[answer.id] = (option_id, None)
        else:
            raw = given.get("value")
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                parsed[answer.id] = (None, None)
                continue
            try:
                value = D(raw, field=field, label=f"“{answer.item_name}”的数值")
            except TypeError:
                raise DomainError(f"“{answer.item_name}”的数值格式不正确", field) from None
            if abs(value) >= Decimal("1e12"):
                raise DomainError(f"“{answer.item_name}”的数值过大", field)
            parsed[answer.id] = (None, value.quantize(Decimal("0.0001")))
    return parsed


@_atomic
def save(rating_id, user, answers=None, deductions=None, opinion=None, submit=False):
    """Save a draft's answers, deductions and opinion; with ``submit`` every item must be
    answered and the rating becomes read-only. Everything is checked before anything is
    written: a refusal leaves the rating as it was."""
    rating = _visible_rating(rating_id, user, lock=True)
    _refuse_submitted(rating)
    _sync_answers(rating)
    parsed = _parse_answers(rating, answers)
    cleaned = []
    for row in deductions or []:
        points, reason = (row.get("points"), row.get("reason")) if isinstance(row, dict) else row
        if (points in (None, "") or (isinstance(points, str) and not points.strip())) and not (reason or "").strip():
            continue
        cleaned.append(scoring.check_deduction(points, reason))
    opinion = (opinion or "").strip() or None
    if submit:
        _check_card_for(rating.scorecard, rating.customer)
        for answer in rating.answers:
            option_id, value = parsed.get(answer.id, (answer.option_id, answer.value))
            if answer.kind == "qualitative" and option_id is None:
                raise DomainError(f"请为“{answer.section_name} · {answer.item_name}”选择一个选项", f"answer_{answer.id}")
            if answer.kind == "quantitative" and value is None:
                raise DomainError(f"请填写“{answer.section_name} · {answer.item_name}”的数值（报表无法计算时请现场采集）",
                                  f"answer_{answer.id}")
    for answer in rating.answers:
        if answer.id in parsed:
            option_id, value = parsed[answer.id]
            if answer.kind == "qualitative":
                answer.option_id = option_id
            else:
                answer.value = value
    rating.deductions = [CreditRatingDeduction(points=points, reason=reason[:300]) for points, reason in cleaned]
    rating.opinion = opinion
    _compute(rating)
    if submit:
        rating.status = "submitted"
        rating.rated_on = settings.business_date()
        rating.submitted_at = datetime.now()
        rating.rater_id = user.id
    db.session.commit()
    return rating


def delete_draft(rating):
    if rating.status != "draft":
        raise DomainError(f"资信评价 {rating.rating_no} 已提交，不能删除")


def history(customer_id, user=None, submitted_only=False):
    """The customer's ratings, latest first."""
    query = select(CreditRating).where(CreditRating.customer_id == customer_id)
    if submitted_only:
        query = query.where(CreditRating.status == "submitted")
    rows = db.session.execute(query.order_by(CreditRating.created_at.desc(), CreditRating.id.desc())).scalars().all()
    return [r for r in rows if can_see_branch(r.customer.branch_id, user)]


def latest(customer_id, user=None):
    """The latest submitted rating of a customer, or None."""
    rows = history(customer_id, user, submitted_only=True)
    return max(rows, key=lambda r: (r.rated_on, r.submitted_at or r.created_at, r.id)) if rows else None
