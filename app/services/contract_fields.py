"""合同占位符: every field a contract template may use, its meaning and an example, and the
one function that fills them for a loan. The placeholder page and upload validation read
the same list, so a name documented here is a name that fills.

Templates use Jinja (docxtpl): ``{{ 借款人 }}``, loops such as
``{% for g in 保证人列表 %}{{ g.姓名 }}{% endfor %}``, and table-row loops
``{%tr for r in 还款计划 %} … {%tr endfor %}``.
"""
from decimal import Decimal

from app.domain.money import ZERO
from app.domain.schedule import METHOD_LABELS
from app.domain.words import amount_in_words
from app.models.loan import GUARANTEE_MODES
from app.services import dictionaries, settings

# (name, meaning, example). Names with children (loops and per-document items) list them.
FIELDS = [
    ("合同编号", "本文书的合同编号（按“合同编号格式”参数生成）", "HT202600001"),
    ("业务编号", "项目业务编号", "DK202611280001"),
    ("借款人", "借款人姓名或企业名称", "张伟"),
    ("借款人类型", "个人 / 企业 / 个体工商户", "个人"),
    ("借款人证件号码", "身份证号或统一社会信用代码", "110105198506121233"),
    ("借款人法定代表人", "企业借款人的法定代表人（个人为空）", ""),
    ("借款人地址", "借款人居住地址或住所", "北京市朝阳区望京街道 1 号"),
    ("借款人电话", "借款人手机号码", "13901010001"),
    ("借款人开户行", "借款人收款及还款账户开户银行", "中国工商银行北京望京支行"),
    ("借款人户名", "借款人银行账户户名", "张伟"),
    ("借款人账号", "借款人银行账号", "6222020200112233445"),
    ("贷款人", "出借人（本公司）名称，取系统参数", "示例小额贷款有限公司"),
    ("贷款人地址", "本公司地址", "北京市朝阳区示例路 1 号"),
    ("贷款人法定代表人", "本公司法定代表人", "张三"),
    ("贷款人电话", "本公司电话", "010-00000000"),
    ("贷款产品", "贷款产品名称", "个人经营贷"),
    ("贷款金额", "贷款金额（小写，千分位，两位小数）", "100,000.00"),
    ("贷款金额大写", "贷款金额人民币大写", "壹拾万元整"),
    ("年利率", "合同年利率（%）", "12.00%"),
    ("月利率", "月利率（‰，年利率 ÷ 12）", "10.00‰"),
    ("日利率", "日利率（万分之，年利率 ÷ 计息天数基准）", "万分之3.33"),
    ("罚息利率", "逾期罚息年利率（合同利率 × (1 + 上浮比例)）", "18.00%"),
    ("综合年化成本", "综合融资成本（含费用，%）", "12.95%"),
    ("期限", "贷款期限", "12个月"),
    ("起始日期", "放款（起息）日期", "2026年11月28日"),
    ("到期日期", "最后一期还款日", "2027年11月28日"),
    ("还款方式", "还款方式中文名称", "等额本息"),
    ("固定还款日", "每期固定还款日（未设置为空）", "20"),
    ("贷款用途", "贷款用途", "经营周转"),
    ("担保方式", "担保方式（可多种）", "抵押、保证"),
    ("签订日期", "合同签订日期（营业日期）", "2026年11月28日"),
    ("客户经理", "项目客户经理", "李明"),
    ("经办机构", "项目所属机构", "北京分公司"),
    ("放款日期", "实际放款日期（放款前为计划放款日）", "2026年11月28日"),
    ("结清日期", "结清日期（结清证明用；未结清为空）", "2027年11月28日"),
    ("保证人列表", "循环：每位保证人。子项：姓名、证件号码、电话、保证方式、担保金额、担保金额大写、保证期间、与借款人关系", "[…]"),
    ("抵押物列表", "循环：每项抵质押物。子项：方式、类型、名称、所有权人、与借款人关系、评估价值、评估价值大写、评估日期、"
                   "权证编号、登记机关、登记日期、保管人、坐落、面积、车牌号、车架号、抵押率", "[…]"),
    ("费用列表", "循环：每项费用。子项：费用类型、计费方式、金额、金额大写、收取时间", "[…]"),
    ("还款计划", "表格行循环：每期还款。子项：期次、起息日、还款日、本金、利息、合计、剩余本金", "[…]"),
    ("还款计划合计", "还款计划合计。子项：本金、利息、合计、期数", "{…}"),
    ("当前保证人", "保证合同：本合同的保证人（子项同保证人列表）", "{…}"),
    ("当前抵押物", "抵押/质押合同：本合同的抵质押物（子项同抵押物列表）", "{…}"),
]
NAMES = {name for name, _m, _e in FIELDS}


def _date(value):
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _money(value):
    return f"{Decimal(value):,.2f}" if value is not None else ""


def _pct(value, places=2):
    return f"{Decimal(value):.{places}f}" if value is not None else ""


def _guarantor(g):
    return {"姓名": g.name, "证件号码": g.identifier, "电话": g.mobile or "", "保证方式": GUARANTEE_MODES.get(g.mode, g.mode),
            "担保金额": _money(g.guaranteed_amount), "担保金额大写": amount_in_words(g.guaranteed_amount),
            "保证期间": f"{g.period_months}个月", "与借款人关系": g.relationship_to_borrower or ""}


def _collateral(c):
    return {"方式": c.kind_label, "类型": dictionaries.label_of("collateral_type", c.collateral_type), "名称": c.name,
            "所有权人": c.owner_name, "与借款人关系": c.owner_relation or "", "评估价值": _money(c.appraised_value),
            "评估价值大写": amount_in_words(c.appraised_value), "评估日期": _date(c.appraisal_date),
            "权证编号": c.certificate_no or "", "登记机关": c.registry or "", "登记日期": _date(c.registration_date),
            "保管人": c.custodian or "", "坐落": c.house_address or "", "面积": _pct(c.house_area) if c.house_area else "",
            "车牌号": c.vehicle_plate or "", "车架号": c.vehicle_vin or "", "抵押率": f"{c.ltv_pct}%" if c.ltv_pct else ""}


def loan_context(loan, contract_no="", guarantor=None, collateral=None, settled_on=None):
    """Every placeholder filled for one loan (and, for a guarantee/mortgage contract, its item)."""
    from app.models.product import FEE_BASES, FEE_TIMINGS

    customer, product = loan.customer, loan.product
    rate = Decimal(loan.annual_rate)
    markup = Decimal(product.penalty_markup_pct)
    rows = loan.installments
    unit = "天" if product.period == "day" else "个月"
    total_p = sum((r.principal for r in rows), ZERO)
    total_i = sum((r.interest for r in rows), ZERO)
    return {
        "合同编号": contract_no, "业务编号": loan.loan_no, "借款人": customer.name, "借款人类型": customer.kind_label,
        "借款人证件号码": customer.identifier or "",
        "借款人法定代表人": customer.legal_rep_name or "" if customer.kind == "company" else "",
        "借款人地址": customer.address or customer.business_address or "", "借款人电话": customer.mobile or "",
        "借款人开户行": customer.bank_name or "", "借款人户名": customer.bank_account_name or "",
        "借款人账号": customer.bank_account_no or "",
        "贷款人": settings.get("company_name"), "贷款人地址": settings.get("company_address"),
        "贷款人法定代表人": settings.get("company_legal_rep"), "贷款人电话": settings.get("company_phone"),
        "贷款产品": product.name, "贷款金额": _money(loan.amount), "贷款金额大写": amount_in_words(loan.amount),
        "年利率": f"{_pct(rate)}%", "月利率": f"{_pct(rate * 10 / 12)}‰",
        "日利率": f"万分之{_pct(rate * 100 / product.day_basis)}",
        "罚息利率": f"{_pct(rate * (1 + markup / 100))}%",
        "综合年化成本": f"{loan.cost_rate}%" if loan.cost_rate is not None else "",
        "期限": f"{loan.term}{unit}", "起始日期": _date(loan.start_date),
        "到期日期": _date(rows[-1].due_date) if rows else "", "还款方式": METHOD_LABELS.get(loan.method, loan.method),
        "固定还款日": str(loan.fixed_day or ""), "贷款用途": dictionaries.label_of("loan_purpose", loan.purpose),
        "担保方式": loan.guarantee_label, "签订日期": _date(settings.business_date()),
        "客户经理": str(loan.officer or ""), "经办机构": str(loan.branch or ""), "放款日期": _date(loan.start_date),
        "结清日期": _date(settled_on),
        "保证人列表": [_guarantor(g) for g in loan.guarantors],
        "抵押物列表": [_collateral(c) for c in loan.collaterals],
        "费用列表": [{"费用类型": dictionaries.label_of("fee_type", f.fee_type), "计费方式": FEE_BASES.get(f.basis, f.basis),
                  "金额": _money(f.amount), "金额大写": amount_in_words(f.amount),
                  "收取时间": FEE_TIMINGS.get(f.timing, f.timing)} for f in loan.fee_terms],
        "还款计划": [{"期次": r.seq, "起息日": r.start_date.isoformat(), "还款日": r.due_date.isoformat(),
                  "本金": _money(r.principal), "利息": _money(r.interest), "合计": _money(r.total),
                  "剩余本金": _money(r.balance)} for r in rows],
        "还款计划合计": {"本金": _money(total_p), "利息": _money(total_i), "合计": _money(total_p + total_i),
                   "期数": len(rows)},
        "当前保证人": _guarantor(guarantor) if guarantor is not None else {},
        "当前抵押物": _collateral(collateral) if collateral is not None else {},
    }


def sample_context():
    """Built-in sample data for previewing a template without a real loan."""
    context = {name: example for name, _m, example in FIELDS}
    guarantor = {"姓名": "刘洋", "证件号码": "110105198807081234", "电话": "13900000000", "保证方式": "连带责任保证",
                 "担保金额": "100,000.00", "担保金额大写": "壹拾万元整", "保证期间": "36个月", "与借款人关系": "配偶"}
    collateral = {"方式": "抵押", "类型": "房产", "名称": "望京西园三区 5 号楼 1201 室", "所有权人": "张伟", "与借款人关系": "本人",
                  "评估价值": "3,200,000.00", "评估价值大写": "叁佰贰拾万元整", "评估日期": "2026年11月20日",
                  "权证编号": "京(2020)朝阳区不动产权第0012345号", "登记机关": "北京市朝阳区不动产登记中心",
                  "登记日期": "2026年11月25日", "保管人": "", "坐落": "北京市朝阳区望京西园三区 5 号楼 1201 室",
                  "面积": "89.50", "车牌号": "", "车架号": "", "抵押率": "3.13%"}
    context.update({
        "保证人列表": [guarantor], "抵押物列表": [collateral], "当前保证人": guarantor, "当前抵押物": collateral,
        "费用列表": [{"费用类型": "评审费", "计费方式": "按本金比例（%）", "金额": "500.00", "金额大写": "伍佰元整",
                  "收取时间": "放款时"}],
        "还款计划": [{"期次": i, "起息日": f"2026-{10 + i:02d}-28" if i < 3 else f"2027-{i - 2:02d}-28",
                  "还款日": f"2026-{11 + i:02d}-28" if i < 2 else f"2027-{i - 1:02d}-28",
                  "本金": "7,884.88", "利息": "1,000.00", "合计": "8,884.88", "剩余本金": "92,115.12"}
                 for i in range(1, 4)],
        "还款计划合计": {"本金": "100,000.00", "利息": "6,618.53", "合计": "106,618.53", "期数": 12},
    })
    return context
