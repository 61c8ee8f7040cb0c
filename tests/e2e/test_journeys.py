"""Browser-tested user journeys (issue #14 §1), in the Chinese UI, clicking and typing as a
person would. One flow through a loan's life, in order:

(a) the admin sets up a branch, five users with their roles and a two-step approval flow
    for loan applications (初审 by one approver, 终审 by another);
(b) the loan officer registers a person customer, hands in the required materials, creates
    a mortgage (抵押) loan with a guarantor and a collateral, and submits it;
(c) the two approvers approve it from their to-do lists (待办);
(d) the officer confirms the signed contract; finance requests the disbursement approval and
    signs its first step, an approver reviews it, finance pays out, posts a repayment and
    exports the project ledger (an .xlsx that openpyxl opens and that names the loan);
(e) the manager reads the dashboard (KPI cards with the payout; the charts draw a canvas).

Each step is a test and runs only when the steps before it passed. After the set-up (capital
paid into the bank account through the ledger service, so that there is money to lend)
nothing is written to the database behind the browser's back. Each milestone is saved as
``test-results/e2e/<test>/NN-name.png`` (and ``failure-<user>.png`` when a step fails).
Every page is watched: a CSP violation, a script or console error or a 5xx response fails
the step that met it. The database goes back to the baseline when the module ends.
"""
import contextlib
import io
import re
import shutil
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tests.conftest import TEST_PASSWORD, png_bytes
from tests.e2e.conftest import RESULTS

sync_api = pytest.importorskip("playwright.sync_api")
expect, PlaywrightError = sync_api.expect, sync_api.Error
expect.set_options(timeout=10_000)

PASSWORD = "Journey#2026"   # the new users' password (the policy wants a letter, a digit and a symbol)
BRANCH = SimpleNamespace(code="GZ", name="广州分公司", address="广州市天河区天河路 385 号", phone="020-38880000",
                         manager="林国栋")
# username → (family name, given name, role, position, branch)
USERS = {
    "gz_officer": ("林", "晓峰", "客户经理", "客户经理", BRANCH.name),
    "gz_approver1": ("陈", "志远", "审批人", "审批人", BRANCH.name),
    "gz_approver2": ("郑", "国华", "审批人", "总经理", "总公司"),
    "gz_finance": ("何", "丽娟", "财务", "财务", BRANCH.name),
    "gz_manager": ("梁", "建新", "管理层", "总经理", "总公司"),
}
FLOW_NAME = "广州分公司贷款两级审批"
CUSTOMER = SimpleNamespace(name="黄志强", id_first17="44010619850315123", mobile="13925001234",
                           address="广州市天河区体育西路 103 号", bank="中国工商银行广州天河支行",
                           account="6222023602012345678")
GUARANTOR = SimpleNamespace(name="吴美玲", id_first17="44010419800720242", mobile="13925005678")
COLLATERAL = "天河区体育西路住宅"
AMOUNT = Decimal("200000")
CAPITAL = Decimal("5000000")

# Installed before any page script: CSP violations are also reported as DOM events.
WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
});"""


def real_name(username):
    family, given = USERS[username][:2]
    return family + given


def id_number(first17):
    """A valid 18-digit ID number (GB 11643 check digit), as the customer form requires."""
    from app.domain.identity import complete_id_number

    return complete_id_number(first17)


def money(value):
    return f"{value:,.2f}"


# -------------------------------------------------------------------------- the journey
class Journey:
    """What the steps share: the server, one browser context per signed-in user, what the
    steps learnt (loan number, figures) and which steps completed."""

    def __init__(self, server, browser):
        self.server = server
        self.browser = browser
        self.sessions = {}        # username → browser context
        self.completed = set()
        self.test = None          # the running step's test name (screenshot folder)
        self.shots = 0
        self.loan_no = self.principal_repaid = None

    def login(self, username, password=PASSWORD):
        """A fresh browser (context) in which ``username`` signs in through the login form."""
        self.logout(username)
        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900},
                                           accept_downloads=True)
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH)
        self.sessions[username] = context
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda err: page.problems.append(f"script error: {err}"))
        page.on("console", lambda msg: page.problems.append(f"console error: {msg.text} {msg.location}")
                if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico") else None)
        page.on("response", lambda r: page.problems.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 500 else None)
        page.goto(self.server + "/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        through(page.locator("input[type=submit]"))
        assert "/login/" not in page.url, f"{username} could not sign in: {alerts(page)}"
        return page

    def logout(self, username):
        context = self.sessions.pop(username, None)
        if context is not None:
            context.close()

    def require(self, *steps):
        missing = [s for s in steps if s not in self.completed]
        if missing:
            pytest.skip(f"journey step(s) {', '.join(missing)} did not complete")

    def shot(self, page, name):
        """A full-page screenshot of a milestone, once the page is known to be healthy."""
        healthy(page)
        self.shots += 1
        folder = RESULTS / self.test
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{self.shots:02d}-{name}.png"), full_page=True)

    def capture_failure(self):
        """On a failed step: a screenshot of every browser still open, then close them."""
        folder = RESULTS / self.test
        folder.mkdir(parents=True, exist_ok=True)
        for username, context in self.sessions.items():
            for page in context.pages:
                with contextlib.suppress(PlaywrightError):   # a crashed page must not hide the failure
                    page.screenshot(path=str(folder / f"failure-{username}.png"), full_page=True)
        for username in list(self.sessions):
            self.logout(username)


@pytest.fixture(scope="module")
def journey(app, server, browser):
    """Set-up before the first step (services, not the UI): shareholders pay capital into
    the first bank account, so that finance has money to lend. The database goes back to
    the baseline when the module ends."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.finance import FundAccount
    from app.services import ledger
    from app.services.setup import act_as_system
    from tests.conftest import reset_database

    state = Journey(server, browser)
    try:
        with app.app_context():
            actor = act_as_system()
            bank = db.session.execute(select(FundAccount).where(FundAccount.kind == "bank")
                                      .order_by(FundAccount.id)).scalars().first()
            ledger.post("股东缴入资本金", [ledger.Line(bank.ledger_account, debit=CAPITAL, fund_account=bank),
                                     ledger.Line(ledger.PAID_IN_CAPITAL, credit=CAPITAL)], actor)
            db.session.commit()
            db.session.remove()
        yield state
    finally:
        for username in list(state.sessions):
            state.logout(username)
        with app.app_context():
            reset_database()
            db.session.remove()


@pytest.fixture
def step(request, journey):
    """One step of the journey: names its screenshot folder, captures the browsers if it fails."""
    journey.test, journey.shots = request.node.name, 0
    shutil.rmtree(RESULTS / journey.test, ignore_errors=True)   # no stale screenshots of an earlier run
    yield journey
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        journey.capture_failure()


# -------------------------------------------------------------------------- page helpers
def healthy(page):
    """No CSP violation, script or console error, or 5xx response on this page so far."""
    violations = page.evaluate("window.__csp || []")
    problems = list(page.problems) + [f"CSP violation: {v}" for v in violations]
    assert not problems, f"{page.url}: {problems}"


def alerts(page):
    return " | ".join(t.strip() for t in page.locator(".alert, .help-block:visible").all_inner_texts() if t.strip())


def through(locator):
    """Click something that loads another page (a link, a form's button) and wait for it."""
    page = locator.page
    with page.expect_navigation():
        locator.click()


def menu(page, category, item):
    """Open a category of the top menu and click one of its entries."""
    healthy(page)
    page.locator("a.dropdown-toggle", has_text=category).first.click()
    through(page.locator("li.dropdown.open ul.dropdown-menu a", has_text=item).first)


def select2(page, field_id, text, exact=True):
    """Pick ``text`` in the select2 widget that FAB (or our AJAX picker) put over
    <select id=…>: open it, type, click the matching result."""
    select = page.locator(f"select#{field_id}")
    container = page.locator(f"select#{field_id} + .select2-container")
    multiple = select.get_attribute("multiple") is not None
    container.locator(".select2-selection").click()
    if multiple:
        search = container.locator(".select2-search__field")
    else:
        search = page.locator(".select2-container--open .select2-search__field")
    search.fill(text)
    pattern = re.compile(f"^{re.escape(text)}$" if exact else re.escape(text))
    page.locator(".select2-container--open .select2-results__option[role=option]:not(.loading-results)") \
        .filter(has_text=pattern).first.click()
    if multiple:
        expect(container.locator(".select2-selection__choice", has_text=text)).to_have_count(1)
        page.keyboard.press("Escape")
    else:
        expect(container.locator(".select2-selection__rendered")).to_contain_text(text)


def fill(page, values):
    """Type into text inputs by id (FAB names its inputs after the model's columns)."""
    for field_id, value in values.items():
        page.locator(f"#{field_id}").fill(str(value))


def save(page):
    """Press FAB's 保存; a form that comes back says why."""
    healthy(page)
    before = page.url
    through(page.locator("#model_form button[type=submit]", has_text="保存"))
    errors = [e for e in page.locator(".has-error .help-block, .alert-danger").all_inner_texts() if e.strip()]
    assert not errors and page.url != before, f"save refused on {before}: {errors}"


def flashed(page, text):
    expect(page.locator(".alert-success", has_text=text).first).to_be_visible()


def add_record(page):
    """The + (add a new record) button of a FAB list."""
    through(page.locator("a[href*='/add']", has=page.locator("i.fa-plus")).first)
    expect(page.locator("#model_form")).to_be_visible()


def open_row(page, text):
    """The show (magnifier) button of the list row that contains ``text``."""
    through(page.locator("table tr", has_text=text).locator("a[href*='/show/']").first)


def tab(page, label):
    """A Bootstrap tab by its label (a count in brackets may follow it)."""
    name = re.compile(rf"^\s*{re.escape(label)}(\s*\(\d+\))?\s*$")
    page.locator(".nav-tabs a").filter(has_text=name).first.click()


def open_todo(page, text):
    """审批管理 → 我的待办 (本人待签批): open the item whose title contains ``text``."""
    menu(page, "审批管理", "我的待办")
    row = page.locator("#todo-list tbody tr", has_text=text)
    expect(row).to_have_count(1)
    through(row.locator("a").first)


def approve(page, panel, opinion):
    """The approval panel of a business page: write the opinion, press 同意."""
    page.locator(f"#{panel}-opinion").fill(opinion)
    through(page.locator(f"#{panel}-approve"))
    flashed(page, "已同意")


def press(page, button_id, message):
    """A button of the loan page (a small POST form); the page comes back with ``message``."""
    through(page.locator(f"#{button_id}"))
    flashed(page, message)


# -------------------------------------------------------------------------- (a) admin
def test_a_admin_sets_up_branch_users_and_two_step_flow(step):
    page = step.login("admin", TEST_PASSWORD)
    step.shot(page, "admin-home")

    # 组织机构 → 机构管理 → 新增: the new branch, under the head office.
    menu(page, "组织机构", "机构管理")
    add_record(page)
    fill(page, {"code": BRANCH.code, "name": BRANCH.name, "address": BRANCH.address, "phone": BRANCH.phone,
                "manager_name": BRANCH.manager, "sort_order": 30})
    select2(page, "parent", "总公司")
    save(page)
    expect(page.locator("table tr", has_text=BRANCH.name)).to_have_count(1)
    step.shot(page, "branch-created")

    # 用户权限 → 用户列表 → 新增, once per user: organisation, position, role and password.
    menu(page, "用户权限", "用户列表")
    for username, (family, given, role, position, branch) in USERS.items():
        add_record(page)
        fill(page, {"username": username, "last_name": family, "first_name": given, "mobile": "13800138000",
                    "email": f"{username}@example.com", "password": PASSWORD, "conf_password": PASSWORD})
        select2(page, "branch", branch)
        select2(page, "position", position)
        select2(page, "roles", role)
        if username == "gz_officer":
            step.shot(page, "user-form")
        save(page)
        expect(page.locator("table tr", has_text=username)).to_have_count(1)
    step.shot(page, "users-created")

    # 审批管理 → 流程管理 → 新增: a loan-application flow that outranks the seeded one …
    menu(page, "审批管理", "流程管理")
    add_record(page)
    select2(page, "business_type", "贷款审批")
    fill(page, {"name": FLOW_NAME, "priority": 10, "description": "初审（陈志远）→ 终审（郑国华）"})
    save(page)
    open_row(page, FLOW_NAME)
    # … with two steps, each signed by one named approver, added from the flow's page.
    for seq, name, approver in ((10, "初审", "gz_approver1"), (20, "终审", "gz_approver2")):
        tab(page, "流程节点")
        through(page.locator("#WorkflowStepView a[href*='/workflowstepview/add']").first)
        fill(page, {"seq": seq, "name": name, "time_limit_hours": 24})
        select2(page, "actor_kind", "指定用户")
        select2(page, "user", real_name(approver))
        page.locator("#opinion_required").check()
        save(page)
        tab(page, "流程节点")
        expect(page.locator("#WorkflowStepView table tr", has_text=name)).to_have_count(1)
    step.shot(page, "two-step-flow")
    step.logout("admin")
    step.completed.add("a")


# -------------------------------------------------------------------------- (b) loan officer
def test_b_officer_registers_customer_and_submits_mortgage_loan(step):
    step.require("a")
    page = step.login("gz_officer")
    step.shot(page, "officer-home")

    # 客户管理 → 个人客户 → 新增 (the app checks the ID number's check digit).
    menu(page, "客户管理", "个人客户")
    add_record(page)
    fill(page, {"name": CUSTOMER.name, "id_number": id_number(CUSTOMER.id_first17), "mobile": CUSTOMER.mobile,
                "address": CUSTOMER.address, "household_address": CUSTOMER.address, "employer": "广州志强贸易商行",
                "monthly_income": "30000", "bank_name": CUSTOMER.bank, "bank_account_name": CUSTOMER.name,
                "bank_account_no": CUSTOMER.account})
    select2(page, "education", "本科")
    select2(page, "marital_status", "已婚")
    select2(page, "source", "自行上门")
    step.shot(page, "customer-form")
    save(page)
    expect(page.locator("table tr", has_text=CUSTOMER.name)).to_have_count(1)

    # The customer view → 资料: hand in every document the checklist still misses.
    open_row(page, CUSTOMER.name)
    expect(page.locator("#customer-title")).to_contain_text(CUSTOMER.name)
    tab(page, "资料")
    missing = page.locator("#materials-checklist tbody tr", has=page.locator(".ml-missing"))
    expect(missing.first).to_be_visible()
    for _ in range(missing.count()):
        through(missing.first.locator("a", has_text="上传"))
        doc_type = page.locator("#doc_type").input_value()
        page.locator("#file").set_input_files({"name": f"{doc_type}.png", "mimeType": "image/png",
                                               "buffer": png_bytes()})
        through(page.locator("button[type=submit]", has_text="上传"))
        flashed(page, "文件已上传")
        tab(page, "资料")
    expect(missing).to_have_count(0)
    step.shot(page, "materials-received")

    # 项目办理 → 新建项目: the customer by search, the product, the terms; the preview follows.
    menu(page, "项目办理", "新建项目")
    select2(page, "customer", CUSTOMER.name, exact=False)
    select2(page, "product", "个人经营贷")
    fill(page, {"amount": f"{AMOUNT:.2f}", "term": 12, "annual_rate": "9"})
    select2(page, "method", "等额本息")
    select2(page, "purpose", "经营周转")
    select2(page, "guarantee_types", "抵押")
    select2(page, "guarantee_types", "保证")
    expect(page.locator("#preview-rows tr")).to_have_count(12)
    step.shot(page, "loan-form-with-preview")
    save(page)
    row = page.locator("table tr", has_text=CUSTOMER.name)
    expect(row).to_have_count(1)
    step.loan_no = re.search(r"DK\d{12}", row.inner_text()).group(0)
    open_row(page, step.loan_no)
    expect(page.locator("#loan-status")).to_have_text("草稿")

    # A guarantor (a person who is not a customer) …
    tab(page, "保证人")
    through(page.locator("#add-guarantor"))
    fill(page, {"name": GUARANTOR.name, "identifier": id_number(GUARANTOR.id_first17),
                "guaranteed_amount": f"{AMOUNT:.2f}", "period_months": 36, "mobile": GUARANTOR.mobile,
                "relationship_to_borrower": "朋友"})
    select2(page, "mode", "连带责任保证")
    save(page)
    tab(page, "保证人")
    expect(page.locator("#guarantors tbody tr", has_text=GUARANTOR.name)).to_have_count(1)

    # … and the mortgaged flat.
    tab(page, "抵质押物")
    through(page.locator("#add-collateral"))
    select2(page, "kind", "抵押")
    select2(page, "collateral_type", "房产")
    fill(page, {"name": COLLATERAL, "appraised_value": "1200000.00", "owner_name": CUSTOMER.name,
                "owner_relation": "本人", "certificate_no": "粤(2020)广州市不动产权第0123456号",
                "registry": "广州市不动产登记中心", "house_address": CUSTOMER.address, "house_area": "98.50"})
    save(page)
    tab(page, "抵质押物")
    expect(page.locator("#collaterals tbody tr", has_text=COLLATERAL)).to_have_count(1)
    step.shot(page, "loan-with-guarantor-and-collateral")

    # 提交审批: every pre-submission check runs; the new flow starts at 初审.
    press(page, "loan-submit", "已提交审批")
    expect(page.locator("#loan-status")).to_have_text("审批中")
    expect(page.locator("#approval-chain .ml-flow-current")).to_contain_text("初审")
    step.shot(page, "loan-submitted")
    step.logout("gz_officer")
    step.completed.add("b")


# -------------------------------------------------------------------------- (c) approvers
def test_c_approvers_approve_from_their_todo_lists(step):
    step.require("b")
    # The second approver sees the loan coming (将来待办) but has nothing to sign yet.
    second = step.login("gz_approver2")
    menu(second, "审批管理", "我的待办")
    expect(second.locator("#todo-list tbody tr", has_text=step.loan_no)).to_have_count(0)
    through(second.locator(".nav-tabs a", has_text="将来待办"))
    expect(second.locator("#todo-list tbody tr", has_text=step.loan_no)).to_have_count(1)
    step.shot(second, "approver2-coming-later")

    first = step.login("gz_approver1")
    step.shot(first, "approver1-home")
    open_todo(first, step.loan_no)
    expect(first.locator("#approval-chain .ml-flow-current")).to_contain_text("初审")
    tab(first, "抵质押物")
    expect(first.locator("#collaterals tbody tr", has_text=COLLATERAL)).to_have_count(1)
    approve(first, "approval", "抵押物足值，保证人有代偿能力，同意提交终审。")
    expect(first.locator("#approval-chain .ml-flow-current")).to_contain_text("终审")
    expect(first.locator("#approval-form")).to_have_count(0)
    step.shot(first, "approver1-approved")
    step.logout("gz_approver1")

    open_todo(second, step.loan_no)
    approve(second, "approval", "同意发放。")
    expect(second.locator("#loan-status")).to_have_text("已批准")
    expect(second.locator("#approval-form")).to_have_count(0)
    step.shot(second, "approver2-approved")
    step.logout("gz_approver2")
    step.completed.add("c")


# -------------------------------------------------------------------------- (d) finance
def test_d_finance_disburses_posts_a_repayment_and_exports_the_ledger(step):
    import openpyxl

    step.require("c")
    # The officer confirms the signed contract (合同已签). 我创建的项目 has no link to the
    # loan page, so the officer opens it from 所有项目.
    officer = step.login("gz_officer")
    menu(officer, "项目办理", "所有项目")
    open_row(officer, step.loan_no)
    press(officer, "loan-contract-signed", "已确认签订合同")
    expect(officer.locator("#loan-status")).to_have_text("已签合同")
    step.shot(officer, "contract-signed")
    step.logout("gz_officer")

    # Finance starts the disbursement approval and signs its first step (财务放款) …
    finance = step.login("gz_finance")
    menu(finance, "项目办理", "所有项目")
    open_row(finance, step.loan_no)
    press(finance, "loan-request-disbursement", "已发起放款审批")
    expect(finance.locator("#loan-status")).to_have_text("放款审批中")
    approve(finance, "disbursement", "资金已备，同意放款。")
    step.shot(finance, "disbursement-requested")

    # … an approver reviews it (放款复核) from the to-do list …
    reviewer = step.login("gz_approver1")
    open_todo(reviewer, step.loan_no)
    approve(reviewer, "disbursement", "复核无误。")
    expect(reviewer.locator("#loan-status")).to_have_text("待放款")
    step.shot(reviewer, "disbursement-reviewed")
    step.logout("gz_approver1")

    # … and finance pays out from its to-do list (待办财务单据), from the funded bank account.
    menu(finance, "财务管理", "待办财务单据")
    row = finance.locator("#section-ready_to_disburse tbody tr", has_text=step.loan_no)
    expect(row).to_have_count(1)
    through(row.locator("a", has_text="放款"))
    expect(finance.locator("#pay-amount")).to_have_text(money(AMOUNT))
    expect(finance.locator("#receiving_account_no")).to_have_value(CUSTOMER.account)   # from the customer
    bank = finance.locator("#fund_account option", has_text="基本存款账户").get_attribute("value")
    finance.locator("#fund_account").select_option(bank)
    step.shot(finance, "payout-form")
    through(finance.locator("#pay-submit"))
    flashed(finance, f"已放款 {money(AMOUNT)} 元")
    expect(finance.locator("#loan-status")).to_have_text("在贷")
    step.shot(finance, "disbursed")

    # 收款登记: the borrower pays the first installment early; the clerk types what came in.
    through(finance.locator("#loan-repay"))
    first = finance.locator("#schedule-status tbody tr[data-seq='1'] td")
    principal = Decimal(first.nth(2).inner_text().replace(",", ""))
    installment = Decimal(first.nth(10).inner_text().replace(",", ""))   # 应还合计 of installment 1
    finance.locator("#amount").fill(f"{installment}")
    finance.locator("#fund_account").select_option(label="基本存款账户（银行存款）")
    finance.locator("#payer").fill(CUSTOMER.name)
    step.shot(finance, "repayment-form")
    through(finance.locator("#repayment-submit"))
    flashed(finance, f"已登记收款 {money(installment)} 元")
    receipt_no = re.search(r"收款单 (\S+)", finance.locator(".alert-success").first.inner_text()).group(1)
    expect(finance.locator("body")).to_contain_text(receipt_no)
    step.shot(finance, "receipt")
    step.principal_repaid = principal

    # 项目财务流水账 → 导出 Excel: a real .xlsx naming the loan, with the payout and the receipt.
    through(finance.locator("a.btn", has_text="项目详情"))
    through(finance.locator("#loan-project-ledger"))
    expect(finance.locator("#project-ledger-table tr.ledger-row")).to_have_count(2)
    step.shot(finance, "project-ledger")
    with finance.expect_download() as download_info:
        finance.locator("#export-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    target = RESULTS / step.test / download.suggested_filename
    download.save_as(target)
    workbook = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    rows = [list(r) for sheet in workbook.worksheets for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == f"项目财务流水账 {step.loan_no} {CUSTOMER.name}", rows[:3]
    header = next(r for r in rows if "业务类型" in r)
    column = {name: header.index(name) for name in ("业务类型", "收入", "支出")}
    lines = {r[column["业务类型"]]: r for r in rows[rows.index(header) + 1:]}
    assert Decimal(str(lines["放款"][column["支出"]])) == AMOUNT, rows
    assert Decimal(str(lines["还款"][column["收入"]])) == installment, rows
    step.logout("gz_finance")
    step.completed.add("d")


# -------------------------------------------------------------------------- (e) manager
def test_e_manager_reads_the_dashboard(step):
    step.require("d")
    page = step.login("gz_manager")
    step.shot(page, "manager-home")
    menu(page, "报表中心", "经营看板")
    expect(page.locator("#kpi-month-disbursed")).to_have_text(money(AMOUNT))
    expect(page.locator("#kpi-year-disbursed")).to_have_text(money(AMOUNT))
    expect(page.locator("#kpi-loans")).to_have_text("1")
    expect(page.locator("#kpi-balance")).to_have_text(money(AMOUNT - step.principal_repaid))
    expect(page.locator("#kpi-month-recovered")).to_have_text(money(step.principal_repaid))
    charts = [f"chart-{name}" for name in ("monthly", "overdue", "class", "product", "guarantee", "branch")]
    for chart in charts:
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    # The monthly chart's 发放 bar for this month is the payout (its data comes by AJAX).
    disbursed = page.wait_for_function("""() => {
        const chart = window.echarts && echarts.getInstanceByDom(document.getElementById("chart-monthly"));
        const option = chart && chart.getOption();
        return option && option.series.length ? option.series[0].data : null;
    }""").json_value()
    assert Decimal(str(disbursed[-1])) == AMOUNT and not any(disbursed[:-1]), disbursed
    charts_drawn(page, charts)
    step.shot(page, "dashboard")
    step.logout("gz_manager")
    step.completed.add("e")


def charts_drawn(page, ids):
    """Wait until the ECharts charts have finished their opening animation (for the screenshot)."""
    page.evaluate("""(ids) => Promise.all(ids.map((id) => new Promise((resolve) => {
        const chart = echarts.getInstanceByDom(document.getElementById(id));
        if (!chart) { resolve(); return; }
        chart.on("finished", resolve);
        setTimeout(resolve, 1500);
    })))""", ids)
