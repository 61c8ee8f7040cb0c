"""资信评价 and 企业财务分析 (issue #9 parts 4 and 5): statements and ratios through the
screens, a reviewer rating a company with the default card fed by its statement, the
rating on the customer view, read-only submitted ratings, frozen cards and refusals that
save nothing."""
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Customer
from app.models.rating import (
    CreditRating, CreditRatingAnswer, CreditRatingDeduction, FinancialStatement, Scorecard, ScorecardItem,
    ScorecardOption, ScorecardSection, StatementLine, StatementTemplate,
)
from app.services import financial_statements, scorecards

from .test_loans import acting, make_customer, set_setting

pytestmark = pytest.mark.dirty
D = Decimal

#: The hand-worked statement of tests/unit/test_scoring.py (ratios: 资产负债率 40 %, 流动比率
#: 1.60, 速动比率 1.10, 净资产收益率 15 %, 销售净利率 6 %, 应收账款周转率 10 次).
FIGURES = {
    "cash": "200,000.00", "receivables": "300000", "inventory": "250000", "current_assets": "800000",
    "fixed_assets": "1200000", "total_assets": "2000000", "short_term_loans": "400000", "payables": "200000",
    "current_liabilities": "500000", "total_liabilities": "800000", "total_equity": "1200000",
    "revenue": "3000000", "cost_of_sales": "2250000", "net_profit": "180000", "operating_cash_flow": "150000",
}
#: Answers for the qualitative items of the default company card (→ 35.00 weighted points).
CHOICES = {"经营年限": "5–10 年", "行业前景": "平稳", "实际控制人素质": "经验丰富、口碑良好", "征信记录": "无逾期记录"}
_CODES = iter(range(1, 10_000))


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture(autouse=True)
def seeded(app):
    """Business date pinned; statement templates and the default cards seeded (what the
    integrator's setup.seed_reference_data will call)."""
    set_setting(app, "business_date", "2026-03-16")
    with acting(app):
        scorecards.seed_reference_data()
        scorecards.seed_reference_data()  # idempotent
        db.session.commit()


def make_company(app, name="北京星辰科技有限公司", officer="officer_a"):
    from app.services import customers as customer_service

    first17 = f"91110108{next(_CODES):09d}"
    with acting(app, officer) as user:
        customer = Customer(kind="company", name=name, credit_code=first17 + uscc.calc_check_digit(first17),
                            legal_rep_name="王五")
        customer.officer = user
        customer_service.prepare(customer, user)
        db.session.add(customer)
        db.session.commit()
        return customer.id


def line_ids(app):
    with app.app_context():
        return dict(db.session.execute(select(StatementLine.code, StatementLine.id)).all())


def statement_form(app, customer_id, year=2025, figures=FIGURES, **header):
    ids = line_ids(app)
    data = {"customer": str(customer_id), "period_kind": "year", "year": str(year), "period": "",
            "source": "audited", "remarks": ""}
    data.update(header)
    data.update({f"line_{ids[code]}": value for code, value in figures.items()})
    return data


def enter_statement(app, client, customer_id, year=2025, figures=FIGURES, **header):
    response = client.post("/financialstatementview/add", data=statement_form(app, customer_id, year, figures,
                                                                               **header))
    assert response.status_code == 302, text(response)[:3000]
    return int(re.search(r"/show/(\d+)", response.headers["Location"]).group(1))


def company_card_id(app):
    with app.app_context():
        return db.session.execute(select(Scorecard.id).where(Scorecard.code == "COMPANY_STD")).scalar_one()


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count(model.id))).scalar()


def answer_form(app, rating_id, choices=CHOICES, values=None, deductions=(), action="submit", opinion="经营稳健"):
    """The scoring form as the reviewer fills it: options by label, figures as shown."""
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        data = {"action": action, "opinion": opinion, "deduction_points": [], "deduction_reason": []}
        for answer in rating.answers:
            if answer.kind == "qualitative":
                label = choices.get(answer.item_name)
                option = next((o for o in answer.item.options if o.label == label), None)
                data[f"option_{answer.id}"] = str(option.id) if option else ""
            else:
                given = (values or {}).get(answer.ratio_code)
                data[f"value_{answer.id}"] = given if given is not None else (
                    f"{answer.value:.2f}" if answer.value is not None else "")
    for points, reason in deductions:
        data["deduction_points"].append(points)
        data["deduction_reason"].append(reason)
    return data


# --------------------------------------------------------------------------- statements
def test_seed_gives_the_standard_layout_and_default_cards_once(app):
    with app.app_context():
        codes = set(db.session.execute(select(StatementTemplate.code)).scalars())
        assert codes == {"balance_sheet", "income_statement", "cash_flow"}
        names = set(db.session.execute(select(StatementLine.name)).scalars())
        assert {"货币资金", "应收账款", "存货", "流动资产合计", "固定资产", "资产总计", "短期借款", "应付账款",
                "流动负债合计", "负债合计", "所有者权益合计", "营业收入", "营业成本", "净利润",
                "经营活动现金流量净额"} <= names
        cards = db.session.execute(select(Scorecard)).scalars().all()
        assert sorted((c.code, c.customer_kind) for c in cards) == [("COMPANY_STD", "company"),
                                                                    ("PERSON_STD", "person")]
        for card in cards:
            assert scorecards.problems(card) == []          # usable as seeded: weights add up to 100
        company = next(c for c in cards if c.code == "COMPANY_STD")
        assert {i.kind for i in company.items} == {"qualitative", "quantitative"}


def test_officer_enters_statements_and_sees_ratios_side_by_side(app, login_as):
    customer_id = make_company(app)
    officer = login_as("officer_a")
    form = officer.get(f"/financialstatementview/add?customer_id={customer_id}")
    assert form.status_code == 200 and "货币资金" in text(form) and "经营活动现金流量净额" in text(form)
    first = enter_statement(app, officer, customer_id, 2025)
    # A second year whose current liabilities are 0: the ratios that divide by them show "—".
    second = enter_statement(app, officer, customer_id, 2024, dict(FIGURES, current_liabilities="0",
                                                                    total_liabilities="300000",
                                                                    total_equity="1700000"))
    page = text(officer.get(f"/financialstatementview/show/{first}"))
    ratios = dict(re.findall(r'data-ratio="(\w+)"><td>.*?</td><td class="ml-money">([^<]*)</td>', page, re.S))
    assert ratios["debt_ratio"] == "40.00%" and ratios["current_ratio"] == "1.60倍"
    assert ratios["quick_ratio"] == "1.10倍" and ratios["roe"] == "15.00%" and ratios["net_margin"] == "6.00%"
    assert ratios["receivable_turnover"] == "10.00次"
    page = text(officer.get(f"/financialstatementview/show/{second}"))
    ratios = dict(re.findall(r'data-ratio="(\w+)"><td>.*?</td><td class="ml-money">([^<]*)</td>', page, re.S))
    assert ratios["current_ratio"] == "—" and ratios["quick_ratio"] == "—" and ratios["debt_ratio"] == "15.00%"

    analysis = text(officer.get(f"/financialanalysis/?customer={customer_id}"))
    assert analysis.index("2024年") < analysis.index("2025年")          # oldest period first
    row = re.search(r'data-ratio="current_ratio">(.*?)</tr>', analysis, re.S).group(1)
    assert re.findall(r'ml-money">([^<]*)<', row) == ["—", "1.60倍"]
    # The customer view lists the statements.
    profile = text(officer.get(f"/customerview/show/{customer_id}"))
    assert "customer-statements" in profile and "2025年" in profile and "2024年" in profile


def test_statement_refusals_save_nothing(app, login_as):
    customer_id = make_company(app)
    person_id = make_customer(app, documents=False)
    officer = login_as("officer_a")
    cases = [
        (statement_form(app, customer_id, figures=dict(FIGURES, cash="12a")), "货币资金格式不正确"),
        (statement_form(app, person_id), "个人客户不录入企业财务报表"),
        (statement_form(app, 999999), "客户不存在或无权访问"),
        (statement_form(app, customer_id, period_kind="quarter", period="5"), "季度应为 1–4"),
        (statement_form(app, customer_id, figures={}), "请至少填写一个"),
    ]
    for data, message in cases:
        response = officer.post("/financialstatementview/add", data=data)
        assert response.status_code == 200 and message in text(response), message
    assert count(app, FinancialStatement) == 0
    enter_statement(app, officer, customer_id, 2025)
    duplicate = officer.post("/financialstatementview/add", data=statement_form(app, customer_id, 2025))
    assert "已有 2025年年报" in text(duplicate)
    assert count(app, FinancialStatement) == 1
    # Another branch's officer neither sees nor writes the company's statements.
    other = login_as("officer_b")
    assert "客户不存在或无权访问" in text(other.post("/financialstatementview/add",
                                                     data=statement_form(app, customer_id, 2023)))
    assert count(app, FinancialStatement) == 1


# --------------------------------------------------------------------------- ratings
def test_reviewer_rates_a_company_with_the_card_fed_by_its_statement(app, login_as):
    customer_id = make_company(app)
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    reviewer = login_as("risk")
    assert reviewer.get(f"/creditratingview/add?customer_id={customer_id}").status_code == 200
    response = reviewer.post("/creditratingview/add", data={"customer": customer_id,
                                                            "scorecard": company_card_id(app)})
    assert response.status_code == 302, text(response)[:2000]
    rating_id = int(re.search(r"/edit/(\d+)", response.headers["Location"]).group(1))
    form = text(reviewer.get(f"/creditratingview/edit/{rating_id}"))
    # 现场采集财务数据: the figures come from the statement, editable.
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        assert rating.status == "draft" and rating.statement is not None
        figures = {a.ratio_code: a.value for a in rating.answers if a.kind == "quantitative"}
        value_inputs = {a.ratio_code: f"value_{a.id}" for a in rating.answers if a.kind == "quantitative"}
    assert figures == {"debt_ratio": D("40.00"), "current_ratio": D("1.60"), "quick_ratio": D("1.10"),
                       "roe": D("15.00"), "net_margin": D("6.00"), "receivable_turnover": D("10.00")}
    assert f'name="{value_inputs["debt_ratio"]}" id="{value_inputs["debt_ratio"]}" value="40.00"' in form

    # Qualitative 35.00 + quantitative 56.00 (ROE 15.00 sits on its band's lower bound: 100)
    # = 91.00; a 2-point deduction gives 89.00 → AA; limit = net assets 1,200,000 × 0.4.
    data = answer_form(app, rating_id, deductions=[("2", "法定代表人涉及一起民事诉讼")])
    response = reviewer.post(f"/creditratingview/edit/{rating_id}", data=data)
    assert response.status_code == 302 and "/show/" in response.headers["Location"], text(response)[:3000]
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        assert rating.status == "submitted" and rating.rated_on.isoformat() == "2026-03-16"
        assert (rating.item_score, rating.deduction_total, rating.score) == (D("91.00"), D("2.00"), D("89.00"))
        assert rating.grade == "AA" and rating.suggested_limit == D("480000.00")
        assert rating.limit_base == D("1200000.00") and rating.rater.username == "risk"
        roe = next(a for a in rating.answers if a.ratio_code == "roe")
        assert (roe.score, roe.weighted_score) == (D("100.00"), D("10.00"))
    page = text(reviewer.get(f"/creditratingview/show/{rating_id}"))
    assert "89.00" in page and "AA" in page and "480,000.00" in page and "法定代表人涉及一起民事诉讼" in page

    # The customer view shows the latest grade, score, date and rater, and the history.
    profile = text(login_as("officer_a").get(f"/customerview/show/{customer_id}"))
    latest = re.search(r'id="customer-latest-rating">(.*?)</p>', profile, re.S).group(1)
    assert "AA" in latest and "89.00" in latest and "2026-03-16" in latest and "480,000.00" in latest
    assert rating.rating_no in profile


def test_a_figure_corrected_on_site_is_scored_and_kept_with_the_statement_figure(app, login_as):
    customer_id = make_company(app)
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    with acting(app, "risk") as user:
        rating_id = scorecards.start(customer_id, company_card_id(app), user).id
    reviewer = login_as("risk")
    # 资产负债率 corrected to 60 (a band's lower bound: 60 points × 15 % = 9.00 instead of 15.00).
    data = answer_form(app, rating_id, values={"debt_ratio": "60"})
    assert reviewer.post(f"/creditratingview/edit/{rating_id}", data=data).status_code == 302
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        debt = next(a for a in rating.answers if a.ratio_code == "debt_ratio")
        assert (debt.value, debt.statement_value, debt.score, debt.weighted_score) == (
            D("60.0000"), D("40.0000"), D("60.00"), D("9.00"))
        assert debt.is_edited and rating.score == D("85.00") and rating.grade == "AA"


def test_a_submitted_rating_cannot_be_edited(app, login_as):
    customer_id = make_company(app)
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    with acting(app, "risk") as user:
        rating_id = scorecards.start(customer_id, company_card_id(app), user).id
    reviewer = login_as("risk")
    reviewer.post(f"/creditratingview/edit/{rating_id}", data=answer_form(app, rating_id))
    with app.app_context():
        assert db.session.get(CreditRating, rating_id).score == D("91.00")
    # The form now sends the user to the read-only page, and a post changes nothing.
    response = reviewer.get(f"/creditratingview/edit/{rating_id}")
    assert response.status_code == 302 and f"/show/{rating_id}" in response.headers["Location"]
    reviewer.post(f"/creditratingview/edit/{rating_id}", data=answer_form(
        app, rating_id, deductions=[("50", "试图修改")]))
    assert count(app, CreditRatingDeduction) == 0
    with acting(app, "risk") as user:
        with pytest.raises(DomainError, match="已提交，不能修改"):
            scorecards.save(rating_id, user, deductions=[("1", "x")])
        with pytest.raises(DomainError, match="已提交，不能删除"):
            scorecards.delete_draft(db.session.get(CreditRating, rating_id))
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        assert rating.status == "submitted" and rating.score == D("91.00") and rating.deductions == []


def test_rating_refusals_save_nothing(app, login_as):
    customer_id = make_company(app)
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    reviewer = login_as("risk")
    card_id = company_card_id(app)
    # Unknown customer, no card, a card of another customer kind: nothing is created.
    with app.app_context():
        person_card = db.session.execute(select(Scorecard.id).where(Scorecard.code == "PERSON_STD")).scalar_one()
    for data, message in [({"customer": "999999", "scorecard": card_id}, "客户不存在或无权访问"),
                          ({"customer": "", "scorecard": card_id}, "客户不存在或无权访问"),
                          ({"customer": customer_id, "scorecard": ""}, "请选择评分卡"),
                          ({"customer": customer_id, "scorecard": person_card}, "适用于个人客户")]:
        response = reviewer.post("/creditratingview/add", data=data)
        assert response.status_code == 200 and message in text(response), message
    assert count(app, CreditRating) == 0

    with acting(app, "risk") as user:
        rating_id = scorecards.start(customer_id, card_id, user).id
    # Missing answers on submit: refused, naming the item; the chosen options are not kept.
    partial = answer_form(app, rating_id, choices={"经营年限": "10 年以上"})
    response = reviewer.post(f"/creditratingview/edit/{rating_id}", data=partial)
    assert response.status_code == 200 and "请为“经营与管理 · 行业前景”选择一个选项" in text(response)
    # A negative deduction, or one without a reason: refused.
    for deduction, message in [(("-5", "多扣"), "扣分分值必须大于 0"), (("5", ""), "扣分原因")]:
        response = reviewer.post(f"/creditratingview/edit/{rating_id}",
                                 data=answer_form(app, rating_id, deductions=[deduction]))
        assert response.status_code == 200 and message in text(response), message
    # A figure that is not a number: refused.
    response = reviewer.post(f"/creditratingview/edit/{rating_id}",
                             data=answer_form(app, rating_id, values={"roe": "十五"}))
    assert "净资产收益率" in text(response) and "格式不正确" in text(response)
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        assert rating.status == "draft" and rating.deductions == [] and rating.opinion is None
        assert all(a.option_id is None for a in rating.answers if a.kind == "qualitative")
        assert rating.score == D("56.00")      # only the figures from the statement count so far
    assert count(app, CreditRatingDeduction) == 0


def test_officer_reads_ratings_but_does_not_rate(app, login_as):
    officer = login_as("officer_a")
    assert officer.get("/creditratingview/list/").status_code == 200
    assert officer.get("/creditratingview/add").status_code == 403
    assert officer.get("/scorecardview/list/").status_code == 403
    assert officer.get("/financialstatementview/add").status_code == 200
    assert login_as("risk").get("/scorecardview/list/").status_code == 200


# --------------------------------------------------------------------------- card design
def test_a_card_used_by_a_submitted_rating_is_frozen_and_copied_to_a_new_version(app, login_as):
    customer_id = make_company(app)
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    card_id = company_card_id(app)
    with acting(app, "risk") as user:
        rating_id = scorecards.start(customer_id, card_id, user).id
    reviewer = login_as("risk")
    # While only a draft uses it, the card can still change.
    page = text(reviewer.get(f"/scorecardview/show/{card_id}"))
    assert "scorecard-frozen" not in page and 'id="weight-total">100.00<' in page
    reviewer.post(f"/creditratingview/edit/{rating_id}", data=answer_form(app, rating_id))

    with app.app_context():
        option_id = db.session.execute(select(ScorecardOption.id).where(ScorecardOption.label == "无逾期记录")
                                       .join(ScorecardOption.item).where(ScorecardOption.score == 100)).scalars().first()
    response = reviewer.post(f"/scorecardoptionview/edit/{option_id}", data={"label": "无逾期记录", "score": "50",
                                                                               "sort_order": "10"})
    assert response.status_code in (200, 302)
    page = text(reviewer.get(f"/scorecardview/show/{card_id}"))
    assert "scorecard-frozen" in page
    with app.app_context():
        assert db.session.get(ScorecardOption, option_id).score == D("100.00")   # refused: still 100
        card = db.session.get(Scorecard, card_id)
        card.name = "改名"
        with pytest.raises(DomainError, match="不能修改"):
            scorecards.check_card(card)
        db.session.rollback()

    # 复制为新版本: V2 is editable, V1 is retired, the submitted rating keeps its texts and scores.
    response = reviewer.post(f"/scorecardview/copy/{card_id}")
    assert response.status_code == 302
    with app.app_context():
        v2 = db.session.execute(select(Scorecard).where(Scorecard.code == "COMPANY_STD", Scorecard.version == 2)
                                ).scalar_one()
        assert not db.session.get(Scorecard, card_id).is_active and v2.is_active
        option = next(o for i in v2.items for o in i.options if o.label == "无逾期记录")
        option.score = D("90")
        scorecards.check_part(option)
        db.session.commit()
        answers = db.session.execute(select(CreditRatingAnswer).where(CreditRatingAnswer.rating_id == rating_id)
                                     ).scalars().all()
        credit = next(a for a in answers if a.item_name == "征信记录")
        assert credit.option_label == "无逾期记录" and credit.score == D("100.00")
        assert db.session.get(CreditRating, rating_id).score == D("91.00")
    # New ratings use the active version only.
    response = reviewer.post("/creditratingview/add", data={"customer": customer_id, "scorecard": card_id})
    assert "已停用" in text(response)
    # A frozen card may still be switched on or off from its edit form (nothing else changes).
    form = {"code": "COMPANY_STD", "name": "企业客户资信评价标准卡", "customer_kind": "company",
            "limit_base": "net_assets", "base_amount": "", "is_active": "y", "description": ""}
    assert reviewer.post(f"/scorecardview/edit/{card_id}", data=form).status_code == 302
    reviewer.post(f"/scorecardview/edit/{card_id}", data=dict(form, name="改名"))
    with app.app_context():
        card = db.session.get(Scorecard, card_id)
        assert card.is_active and card.name == "企业客户资信评价标准卡"


def test_card_design_checks(app, login_as):
    reviewer = login_as("risk")
    response = reviewer.post("/scorecardview/add", data={
        "code": "sme", "name": "小微企业卡", "customer_kind": "company", "limit_base": "fixed", "base_amount": "",
        "is_active": "y", "description": ""})
    # FAB flashes the service's refusal and goes back to the list; nothing is saved.
    assert response.status_code == 302
    assert "请填写大于 0 的固定基数" in text(reviewer.get(response.headers["Location"]))
    assert count(app, Scorecard) == 2
    response = reviewer.post("/scorecardview/add", data={
        "code": "sme", "name": "小微企业卡", "customer_kind": "company", "limit_base": "fixed",
        "base_amount": "300000", "is_active": "y", "description": ""})
    assert response.status_code == 302
    with app.app_context():
        card = db.session.execute(select(Scorecard).where(Scorecard.code == "SME")).scalar_one()
        card_id = card.id
    # An incomplete card is shown with its problems and cannot be used for a rating.
    page = text(reviewer.get(f"/scorecardview/show/{card_id}"))
    assert "评分卡还没有评分项目" in page and "评分卡还没有等级" in page
    customer_id = make_company(app)
    response = reviewer.post("/creditratingview/add", data={"customer": customer_id, "scorecard": card_id})
    assert "尚未设计完整" in text(response)
    assert count(app, CreditRating) == 0

    # Designed through the screens: a section, a qualitative and a quantitative item, their
    # option and bands, a grade table; each saved part leads back to the card.
    assert reviewer.get(f"/scorecardsectionview/add?_flt_0_scorecard={card_id}").status_code == 200
    response = reviewer.post(f"/scorecardsectionview/add?_flt_0_scorecard={card_id}",
                             data={"name": "综合", "sort_order": "10"})
    assert response.headers["Location"].endswith(f"/scorecardview/show/{card_id}")
    with app.app_context():
        section_id = db.session.execute(select(ScorecardSection.id).where(ScorecardSection.scorecard_id == card_id)
                                        ).scalar_one()
    add_item = f"/scorecarditemview/add?_flt_0_section={section_id}"
    assert reviewer.get(add_item).status_code == 200
    reviewer.post(add_item, data={"name": "征信", "kind": "qualitative", "ratio_code": "", "weight": "40",
                                  "sort_order": "10", "guidance": ""})
    reviewer.post(add_item, data={"name": "资产负债率", "kind": "quantitative", "ratio_code": "debt_ratio",
                                  "weight": "60", "sort_order": "20", "guidance": ""})
    # A quantitative item without a ratio is refused.
    reviewer.post(add_item, data={"name": "无指标", "kind": "quantitative", "ratio_code": "", "weight": "10",
                                  "sort_order": "30", "guidance": ""})
    with app.app_context():
        items = dict(db.session.execute(select(ScorecardItem.name, ScorecardItem.id)
                                        .where(ScorecardItem.section_id == section_id)).all())
    assert set(items) == {"征信", "资产负债率"}
    reviewer.post(f"/scorecardoptionview/add?_flt_0_item={items['征信']}",
                  data={"label": "无逾期", "score": "100", "sort_order": "10"})
    band = f"/scorecardbandview/add?_flt_0_item={items['资产负债率']}"
    reviewer.post(band, data={"lower": "", "upper": "60", "score": "100", "sort_order": "10"})
    reviewer.post(band, data={"lower": "60", "upper": "", "score": "20", "sort_order": "20"})
    reviewer.post(band, data={"lower": "50", "upper": "70", "score": "50", "sort_order": "30"})   # overlaps
    reviewer.post(band, data={"lower": "", "upper": "", "score": "120", "sort_order": "40"})      # > 100
    reviewer.post(f"/scorecardgradeview/add?_flt_0_scorecard={card_id}",
                  data={"grade": "A", "min_score": "60", "limit_multiplier": "1", "description": ""})
    reviewer.post(f"/scorecardgradeview/add?_flt_0_scorecard={card_id}",
                  data={"grade": "c", "min_score": "0", "limit_multiplier": "0", "description": ""})
    with app.app_context():
        card = db.session.get(Scorecard, card_id)
        assert scorecards.problems(card) == []
        assert [(b.range_label, b.score) for i in card.items for b in i.bands] == [
            ("[-∞, 60)", D("100.00")), ("[60, +∞)", D("20.00"))]
        assert [g.grade for g in card.grades] == ["A", "C"]
    enter_statement(app, login_as("officer_a"), customer_id, 2025)
    response = reviewer.post("/creditratingview/add", data={"customer": customer_id, "scorecard": card_id})
    assert response.status_code == 302
    with app.app_context():
        rating = db.session.execute(select(CreditRating)).scalar_one()
        assert rating.score == D("60.00") and rating.grade == "A"   # 资产负债率 40 → 100 × 60 %
        assert rating.suggested_limit == D("300000.00")             # fixed base × 1


def test_person_rating_uses_the_fixed_base(app):
    person_id = make_customer(app, documents=False)
    with app.app_context():
        card_id = db.session.execute(select(Scorecard.id).where(Scorecard.code == "PERSON_STD")).scalar_one()
    with acting(app, "risk") as user:
        rating = scorecards.start(person_id, card_id, user)
        answers = {}
        for answer in rating.answers:
            best = max(answer.item.options, key=lambda o: o.score)
            answers[answer.id] = {"option_id": str(best.id)}
        rating = scorecards.save(rating.id, user, answers=answers, submit=True)
        assert rating.score == D("100.00") and rating.grade == "AAA"
        assert rating.suggested_limit == D("200000.00") and rating.statement is None
        assert scorecards.latest(person_id).id == rating.id


def test_figures_are_taken_again_from_the_latest_statement(app, login_as):
    customer_id = make_company(app)
    officer = login_as("officer_a")
    enter_statement(app, officer, customer_id, 2024, dict(FIGURES, total_liabilities="1000000",
                                                           total_equity="1000000"))
    with acting(app, "risk") as user:
        rating_id = scorecards.start(customer_id, company_card_id(app), user).id
    with app.app_context():
        debt = next(a for a in db.session.get(CreditRating, rating_id).answers if a.ratio_code == "debt_ratio")
        assert debt.value == D("50.0000")
    enter_statement(app, officer, customer_id, 2025)
    response = login_as("risk").post(f"/creditratingview/edit/{rating_id}", data={"action": "refresh"})
    assert response.status_code == 302
    with app.app_context():
        rating = db.session.get(CreditRating, rating_id)
        assert rating.statement.year == 2025
        assert next(a for a in rating.answers if a.ratio_code == "debt_ratio").value == D("40.0000")
    with acting(app, "risk"):
        assert financial_statements.latest_statement(customer_id).year == 2025
    with acting(app, "officer_b"):   # another branch's user does not see them
        assert financial_statements.latest_statement(customer_id) is None
