"""Build the default Word templates (合同模板) in this folder with python-docx.

The .docx files next to this script are generated, not hand-edited: change the text here and
run ::

    .venv/bin/python contract_templates/build_templates.py            # writes contract_templates/
    .venv/bin/python contract_templates/build_templates.py /tmp/out   # writes elsewhere

Placeholders are Jinja for docxtpl and use only the names in ``app/services/contract_fields.py``
(``{{ 借款人 }}``, ``{%p if … %}`` paragraph tags, ``{%tr for … %}`` table-row loops); the tests
in ``tests/unit/test_contract_templates.py`` check that and render every file with the sample
data. The output is reproducible: fixed document properties and zip timestamps, so a rebuild
gives the same parts and the test can tell when a committed .docx no longer matches this script.

Also written: ``tests/split_runs.docx``, a deliberately awkward template whose ``{{ 借款人 }}``
is split over three differently formatted runs (paragraph, table cell, header), the way Word
often saves a placeholder someone typed or edited.
"""
import datetime
import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime.datetime(2026, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

SONG = "宋体"     # body text (SimSun)
HEI = "黑体"      # headings (SimHei)
LATIN = "Times New Roman"
TEXT_WIDTH = 15.6  # cm: A4 21 cm − 2.8 cm − 2.6 cm margins
UNDERLINE = "＿＿＿＿＿＿＿＿＿＿＿＿"
DATE_BLANK = "日期：　　　　年　　月　　日"

# Children of w:pPr that come after w:pBdr (schema order), for inserting a paragraph border.
_PPR_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)
# Children of w:tcPr that come after w:shd.
_TCPR_AFTER_SHD = ("w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark",
                   "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange")
# Children of w:trPr that come after w:tblHeader.
_TRPR_AFTER_TBLHEADER = ("w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del", "w:trPrChange")


# --------------------------------------------------------------------------- styles and page

def _set_fonts(rpr, east_asia, latin=LATIN):
    """Explicit fonts on a w:rPr (theme font attributes removed, they would win over ours)."""
    fonts = rpr.get_or_add_rFonts()
    for key in list(fonts.attrib):
        del fonts.attrib[key]
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _setup_styles(doc):
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    default_rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(default_rpr, SONG)
    default_lang = default_rpr.find(qn("w:lang"))
    if default_lang is not None:
        default_lang.set(qn("w:eastAsia"), "zh-CN")

    normal = styles["Normal"]
    normal.font.size = Pt(10.5)  # 五号
    rpr = normal.element.get_or_add_rPr()
    _set_fonts(rpr, SONG)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.5
    fmt.widow_control = True

    title = styles["Heading 1"]  # document title: 黑体 小二, centred
    title.font.size = Pt(18)
    title.font.bold = True
    title.font.color.rgb = RGBColor(0, 0, 0)
    _set_fonts(title.element.get_or_add_rPr(), HEI)
    fmt = title.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt.space_before = Pt(6)
    fmt.space_after = Pt(12)
    fmt.line_spacing = 1.2
    fmt.keep_with_next = True

    article = styles["Heading 2"]  # 第X条: 黑体 五号
    article.font.size = Pt(10.5)
    article.font.bold = False
    article.font.color.rgb = RGBColor(0, 0, 0)
    _set_fonts(article.element.get_or_add_rPr(), HEI)
    fmt = article.paragraph_format
    fmt.space_before = Pt(6)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.5
    fmt.keep_with_next = True

    clause = styles.add_style("Clause", WD_STYLE_TYPE.PARAGRAPH)  # 正文条款: first line indented 2 chars
    clause.base_style = normal
    clause.quick_style = True
    clause.paragraph_format.first_line_indent = Pt(21)
    clause.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    party = styles.add_style("Party", WD_STYLE_TYPE.PARAGRAPH)  # 当事人 and other label lines
    party.base_style = normal
    party.quick_style = True

    cell = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.quick_style = True
    cell.font.size = Pt(10)
    cell.paragraph_format.line_spacing = 1.15
    cell.paragraph_format.space_before = Pt(1)
    cell.paragraph_format.space_after = Pt(1)

    tag = styles.add_style("Template Tag", WD_STYLE_TYPE.PARAGRAPH)  # {%p … %} lines (removed on render)
    tag.base_style = normal
    tag.font.size = Pt(9)
    tag.font.color.rgb = RGBColor(0x80, 0x80, 0x80)

    for name in ("Header", "Footer"):
        style = styles[name]
        style.font.size = Pt(9)
        _set_fonts(style.element.get_or_add_rPr(), SONG)
        style.paragraph_format.line_spacing = 1.0


def _add_field(paragraph, instr, shown):
    """A simple field (PAGE, NUMPAGES) showing ``shown`` until Word updates it."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instr} ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = shown
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _bottom_border(paragraph):
    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "auto")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    ppr.insert_element_before(border, *_PPR_AFTER_PBDR)


def _setup_page(doc, number_label):
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Cm(21)
    section.page_height = Cm(29.7)
    section.top_margin = Cm(2.54)
    section.bottom_margin = Cm(2.54)
    section.left_margin = Cm(2.8)
    section.right_margin = Cm(2.6)
    section.header_distance = Cm(1.5)
    section.footer_distance = Cm(1.5)

    header = section.header.paragraphs[0]
    header.style = doc.styles["Header"]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run("{{ 贷款人 }}")
    _bottom_border(header)

    footer = section.footer.paragraphs[0]
    footer.style = doc.styles["Footer"]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(f"{number_label}：{{{{ 合同编号 }}}}　　第 ")
    _add_field(footer, "PAGE", "1")
    footer.add_run(" 页 / 共 ")
    _add_field(footer, "NUMPAGES", "1")
    footer.add_run(" 页")


# --------------------------------------------------------------------------- building blocks

class Builder:
    """A document with the house styles and a few helpers for contract text."""

    def __init__(self, title, number_label="合同编号"):
        self.doc = Document()
        _setup_styles(self.doc)
        _setup_page(self.doc, number_label)
        props = self.doc.core_properties
        props.title = title
        props.subject = "MicroLoan 默认合同模板"
        props.author = "MicroLoan"
        props.last_modified_by = "MicroLoan"
        props.comments = "由 contract_templates/build_templates.py 生成；占位符见 app/services/contract_fields.py"
        props.keywords = "docxtpl"
        props.category = "合同模板"
        props.created = FIXED_TIME
        props.modified = FIXED_TIME
        props.last_printed = FIXED_TIME
        props.revision = 1

    # text -----------------------------------------------------------------

    @staticmethod
    def _runs(paragraph, text, bold=False):
        """Add ``text``; segments between ``**`` are bold (never split a placeholder with it)."""
        for i, segment in enumerate(text.split("**")):
            if segment:
                run = paragraph.add_run(segment)
                if bold or i % 2 == 1:
                    run.bold = True
        return paragraph

    def title(self, text):
        return self._runs(self.doc.add_paragraph(style="Heading 1"), text)

    def article(self, text):
        return self._runs(self.doc.add_paragraph(style="Heading 2"), text)

    def clause(self, text, bold=False):
        return self._runs(self.doc.add_paragraph(style="Clause"), text, bold)

    def line(self, text, bold=False, align=None):
        paragraph = self._runs(self.doc.add_paragraph(style="Party"), text, bold)
        if align == "right":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif align == "center":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return paragraph

    def numbers(self, *lines):
        """Right-aligned lines under the title (合同编号 …)."""
        for text in lines:
            self.line(text, align="right")

    def tag(self, text):
        """A docxtpl paragraph tag such as ``{%p if 保证人列表 %}``: the whole paragraph is replaced."""
        return self.doc.add_paragraph(text, style="Template Tag")

    def blank(self):
        return self.doc.add_paragraph(style="Party")

    def page_break(self):
        self.doc.add_page_break()

    # tables ---------------------------------------------------------------

    def table(self, rows, widths, header=False, labels=(), borders=True, repeat_header=False,
              align_center=False):
        """A table; ``None`` in a row merges that cell into its left neighbour.

        ``header``: first row bold and shaded. ``labels``: column indexes shaded as field labels.
        """
        table = self.doc.add_table(rows=len(rows), cols=len(widths))
        table.style = self.doc.styles["Table Grid"] if borders else None
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for column, width in zip(table.columns, widths):
            column.width = Cm(width)
        for r, values in enumerate(rows):
            row = table.rows[r]
            is_header = header and r == 0
            for c, value in enumerate(values):
                cell = row.cells[c]
                cell.width = Cm(widths[c])
                if value is None:
                    continue
                shaded = borders and (is_header or c in labels)
                if shaded:
                    _shade(cell, "E7E6E6" if is_header else "F2F2F2")
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                for i, text in enumerate(str(value).split("\n")):
                    paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
                    paragraph.style = self.doc.styles["Table Text"]
                    if is_header or (align_center and not text.startswith("{%")):
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                    self._runs(paragraph, text, bold=is_header)
            c = 0
            while c < len(values):
                end = c
                while end + 1 < len(values) and values[end + 1] is None:
                    end += 1
                if end > c:
                    row.cells[c].merge(row.cells[end])
                c = end + 1
            if is_header and repeat_header:
                trpr = row._tr.get_or_add_trPr()
                trpr.insert_element_before(OxmlElement("w:tblHeader"), *_TRPR_AFTER_TBLHEADER)
        return table

    def loop_table(self, headers, loop, cells, widths, totals=None):
        """Header row, ``{%tr for … %}`` row, one row of cells, ``{%tr endfor %}`` row (and totals)."""
        blank = [None] * (len(headers) - 1)
        rows = [headers, [f"{{%tr for {loop} %}}"] + blank, cells, ["{%tr endfor %}"] + blank]
        if totals:
            rows.append(totals)
        return self.table(rows, widths, header=True, repeat_header=True, align_center=True)

    def signatures(self, left, right):
        """Two signature columns without borders; each a list of lines."""
        height = max(len(left), len(right))
        left = left + [""] * (height - len(left))
        right = right + [""] * (height - len(right))
        return self.table([[a, b] for a, b in zip(left, right)], [TEXT_WIDTH / 2, TEXT_WIDTH / 2], borders=False)

    def save(self, path):
        save_reproducibly(self.doc, path)


def _shade(cell, fill):
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.insert_element_before(shd, *_TCPR_AFTER_SHD)


def save_reproducibly(doc, path):
    """Save with fixed zip timestamps so the same script gives the same file."""
    buffer = io.BytesIO()
    doc.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info.filename))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


# --------------------------------------------------------------------------- shared passages

def lender_party(b, role):
    b.line(f"{role}：{{{{ 贷款人 }}}}", bold=True)
    b.line("住所：{{ 贷款人地址 }}")
    b.line("法定代表人：{{ 贷款人法定代表人 }}")
    b.line("联系电话：{{ 贷款人电话 }}")
    b.blank()


def borrower_party(b, role):
    b.line(f"{role}：{{{{ 借款人 }}}}（{{{{ 借款人类型 }}}}）", bold=True)
    b.line("身份证号码/统一社会信用代码：{{ 借款人证件号码 }}")
    b.tag("{%p if 借款人法定代表人 %}")
    b.line("法定代表人：{{ 借款人法定代表人 }}")
    b.tag("{%p endif %}")
    b.line("住所（通讯地址）：{{ 借款人地址 }}")
    b.line("联系电话：{{ 借款人电话 }}")
    b.blank()


def owner_party(b, role):
    """抵押人 / 出质人: the item's owner; the borrower's details when the owner is the borrower."""
    b.line(f"{role}：{{{{ 当前抵押物.所有权人 }}}}", bold=True)
    b.line("身份证号码/统一社会信用代码：{% if 当前抵押物.所有权人 == 借款人 %}{{ 借款人证件号码 }}"
           "{% else %}" + UNDERLINE + "{% endif %}")
    b.line("住所（通讯地址）：{% if 当前抵押物.所有权人 == 借款人 %}{{ 借款人地址 }}"
           "{% else %}" + UNDERLINE + UNDERLINE + "{% endif %}")
    b.line("联系电话：{% if 当前抵押物.所有权人 == 借款人 %}{{ 借款人电话 }}{% else %}" + UNDERLINE + "{% endif %}")
    b.line("与债务人关系：{{ 当前抵押物.与借款人关系 }}")
    b.blank()


def debtor_line(b):
    b.line("债务人：{{ 借款人 }}（身份证号码/统一社会信用代码：{{ 借款人证件号码 }}）", bold=True)
    b.line("住所（通讯地址）：{{ 借款人地址 }}")
    b.blank()


def main_debt_article(b, number, extra=None):
    b.article(f"第{number}条　被担保的主债权")
    b.clause(f"{number_prefix(number)}.1　本合同所担保的主债权为甲方依据主合同向债务人发放的借款，借款本金为人民币"
             "{{ 贷款金额 }}元（大写：{{ 贷款金额大写 }}），借款期限为{{ 期限 }}，自{{ 起始日期 }}起至{{ 到期日期 }}止，"
             "年利率为{{ 年利率 }}，逾期罚息利率为{{ 罚息利率 }}，还款方式为{{ 还款方式 }}。")
    b.clause(f"{number_prefix(number)}.2　主合同项下借款的实际发放日期、到期日期与前款约定不一致的，以借据记载为准；"
             "借据是主合同的组成部分。")
    if extra:
        b.clause(f"{number_prefix(number)}.3　{extra}")


def number_prefix(chinese):
    return str(CHINESE_NUMBERS.index(chinese) + 1)


CHINESE_NUMBERS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
                   "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"]


def security_scope_article(b, number, what, storage=False):
    b.article(f"第{number}条　担保范围")
    keep = "、保管担保财产的费用" if storage else ""
    b.clause(f"{what}担保的范围包括：主合同项下的借款本金、利息、罚息、复利、违约金、损害赔偿金{keep}，以及甲方为实现债权"
             "和担保权利而发生的诉讼费、仲裁费、保全费、公告费、评估费、鉴定费、拍卖费、执行费、律师费、差旅费等全部费用。")


def main_change_article(b, number, who):
    n = number_prefix(number)
    b.article(f"第{number}条　主合同的变更与债权转让")
    b.clause(f"{n}.1　甲方与债务人协商变更主合同，未加重债务人债务的，无须征得{who}同意，{who}仍在本合同约定的范围内承担担保责任；"
             f"加重债务人债务或者延长债务履行期限的，应当取得{who}的书面同意，未经同意的，{who}对加重的部分不承担担保责任。")
    b.clause(f"{n}.2　甲方依法将主债权全部或者部分转让给第三人的，应当通知{who}，{who}在原担保范围内继续承担担保责任。")
    b.clause(f"{n}.3　未经甲方和{who}书面同意，债务人转移主合同项下全部或者部分债务的，{who}对未经其同意转移的债务不再承担担保责任。")


def notice_article(b, number, parties="本合同首部所列甲乙双方"):
    n = number_prefix(number)
    b.article(f"第{number}条　通知与送达")
    b.clause(f"{n}.1　**{parties}的地址和联系电话为双方确认的有效送达地址和联系方式，适用于合同履行期间的各类通知、"
             "催收函件，以及发生纠纷时人民法院诉讼程序（包括一审、二审、再审和执行程序）中各类法律文书的送达。**")
    b.clause(f"{n}.2　一方变更送达地址或者联系方式的，应当自变更之日起三日内书面通知另一方；未按约定通知的，"
             "按原地址或者联系方式送达即视为有效送达。")
    b.clause(f"{n}.3　以专人送达的，签收之日视为送达；以邮寄方式送达的，交邮后第三日视为送达，因地址不实、拒收等原因被退回的，"
             "退回之日视为送达；以短信、电子邮件等电子方式送达的，发出之日视为送达。")


def dispute_article(b, number):
    b.article(f"第{number}条　争议解决")
    b.clause("因本合同引起的或者与本合同有关的任何争议，由双方协商解决；协商不成的，任何一方均可**向贷款人（甲方）所在地"
             "人民法院提起诉讼**。诉讼期间，本合同不涉及争议的条款仍应继续履行。")


def reminder_clause(b, text, who="乙方"):
    b.clause(f"{text}　**甲方已提请{who}特别注意本合同中加粗的条款，包括但不限于担保范围、期限、责任承担方式、违约责任、"
             f"送达地址及争议解决等条款，并已应{who}的要求作了说明。{who}确认已阅读并充分理解本合同全部条款，自愿签订本合同。**")


def end_of_text(b):
    b.line("（以下无正文）", align="center")
    b.blank()


def lender_signature(role="甲方（贷款人）"):
    return [f"{role}：{{{{ 贷款人 }}}}", "（盖章）", "", "法定代表人或授权代表（签字）：", "", DATE_BLANK]


def schedule_table(b):
    b.loop_table(
        ["期次", "还款日", "本金", "利息", "合计", "剩余本金"],
        "r in 还款计划",
        ["{{ r.期次 }}", "{{ r.还款日 }}", "{{ r.本金 }}", "{{ r.利息 }}", "{{ r.合计 }}", "{{ r.剩余本金 }}"],
        [1.4, 2.8, 2.85, 2.85, 2.85, 2.85],
        totals=["合计（共{{ 还款计划合计.期数 }}期）", None, "{{ 还款计划合计.本金 }}", "{{ 还款计划合计.利息 }}",
                "{{ 还款计划合计.合计 }}", "—"],
    )


def guarantors_table(b):
    b.loop_table(
        ["保证人", "证件号码", "保证方式", "担保金额（元）", "保证期间", "与借款人关系"],
        "g in 保证人列表",
        ["{{ g.姓名 }}", "{{ g.证件号码 }}", "{{ g.保证方式 }}", "{{ g.担保金额 }}", "{{ g.保证期间 }}", "{{ g.与借款人关系 }}"],
        [2.2, 3.9, 2.4, 2.6, 2.0, 2.5],
    )


def collaterals_table(b):
    b.loop_table(
        ["方式", "类型", "名称", "所有权人", "权证编号", "评估价值（元）"],
        "c in 抵押物列表",
        ["{{ c.方式 }}", "{{ c.类型 }}", "{{ c.名称 }}", "{{ c.所有权人 }}", "{{ c.权证编号 }}", "{{ c.评估价值 }}"],
        [1.3, 1.6, 3.9, 2.0, 4.0, 2.8],
    )


def fees_table(b):
    b.loop_table(
        ["费用类型", "计费方式", "金额（元）", "金额大写", "收取时间"],
        "f in 费用列表",
        ["{{ f.费用类型 }}", "{{ f.计费方式 }}", "{{ f.金额 }}", "{{ f.金额大写 }}", "{{ f.收取时间 }}"],
        [2.6, 3.6, 2.6, 4.2, 2.6],
    )


def account_table(b):
    b.table([["开户银行", "{{ 借款人开户行 }}"], ["户名", "{{ 借款人户名 }}"], ["账号", "{{ 借款人账号 }}"]],
            [3.0, 12.6], labels=(0,))


# --------------------------------------------------------------------------- 借款合同

def loan_contract():
    b = Builder("借款合同")
    b.title("借款合同")
    b.numbers("合同编号：{{ 合同编号 }}", "业务编号：{{ 业务编号 }}", "签订日期：{{ 签订日期 }}")
    lender_party(b, "贷款人（甲方）")
    borrower_party(b, "借款人（乙方）")
    b.clause("甲方是依法设立的小额贷款公司。乙方因{{ 贷款用途 }}需要，向甲方申请借款，甲方同意按本合同的约定向乙方发放贷款。"
             "为明确双方的权利义务，根据《中华人民共和国民法典》及国家有关法律法规和监管规定，甲乙双方在平等、自愿、"
             "诚实信用的基础上，经协商一致，订立本合同，共同遵守。")

    b.article("第一条　借款金额与借款品种")
    b.clause("1.1　借款金额为人民币（小写）¥{{ 贷款金额 }}元，人民币（大写）{{ 贷款金额大写 }}。")
    b.clause("1.2　借款品种为：{{ 贷款产品 }}。")
    b.clause("1.3　实际发放的借款金额以借据记载为准，但不超过本条第1.1款约定的金额。")

    b.article("第二条　借款用途")
    b.clause("2.1　本合同项下借款用于：{{ 贷款用途 }}。")
    b.clause("2.2　未经甲方书面同意，乙方不得改变借款用途。**乙方承诺：借款不得用于购买股票、债券、基金、期货、"
             "金融衍生产品、资产管理产品等证券、期货及其他金融产品投资，不得用于股本权益性投资，不得用于归还其他贷款"
             "（包括归还甲方或者其他机构的贷款及民间借贷），不得用于房地产开发或者购房，不得用于国家法律法规和监管规定"
             "禁止的其他用途。**")
    b.clause("2.3　乙方应当按照甲方的要求提供借款资金使用情况的说明和凭证，配合甲方对借款用途进行检查和监督。")

    b.article("第三条　借款期限")
    b.clause("3.1　借款期限为{{ 期限 }}，自{{ 起始日期 }}起至{{ 到期日期 }}止。")
    b.clause("3.2　实际放款日期与前款约定的起始日期不一致的，借款期限自实际放款之日起计算，各期还款日及到期日以借据"
             "和《还款计划表》的记载为准。借据是本合同的组成部分，与本合同具有同等法律效力。")

    b.article("第四条　借款利率与计息")
    b.clause("4.1　本合同项下借款执行固定利率，**年利率为{{ 年利率 }}**（单利），折合月利率{{ 月利率 }}，日利率"
             "{{ 日利率 }}。借款期限内利率不作调整。")
    b.clause("4.2　利息自实际放款之日起计算，各期应付利息以《还款计划表》为准；提前还款、逾期等情形下，"
             "按借款本金余额的实际占用天数和日利率计算。")
    b.clause("4.3　**综合年化成本明示：甲方特此向乙方明示，本合同项下借款的年化利率为{{ 年利率 }}；将本合同约定的利息"
             "及第八条所列全部费用计算在内，借款的综合年化成本为{{ 综合年化成本 }}（按内部收益率法折算为年化利率）。"
             "除本合同明示的利息和费用外，甲方不向乙方收取其他任何费用。**")

    b.article("第五条　借款的发放")
    b.clause("5.1　甲方发放借款应当以下列条件全部满足为前提：（一）本合同及相关担保合同已经签订并生效；（二）需要办理"
             "抵押登记、质物交付或者出质登记的，相关手续已经办妥；（三）乙方已按甲方要求提供借款所需资料并签署借据；"
             "（四）乙方未发生本合同约定的违约情形。")
    b.clause("5.2　甲方计划于{{ 放款日期 }}将借款发放至乙方下列账户（以下简称“放款账户”），该账户同时作为乙方的还款账户：")
    account_table(b)
    b.clause("5.3　乙方变更放款账户或者还款账户的，应当提前书面通知甲方，并经甲方确认。")
    b.clause("5.4　**甲方按本合同约定的借款金额足额发放借款，不在发放借款时从借款本金中预先扣除利息、手续费、管理费、"
             "咨询费、保证金等任何款项。乙方应偿还的借款本金以实际发放的金额为准，利息亦以实际发放的金额为基数计算。**")

    b.article("第六条　还款")
    b.clause("6.1　还款方式：{{ 还款方式 }}。")
    b.clause("6.2　乙方应当按照本合同附件《还款计划表》所列日期和金额按期足额还款，共{{ 还款计划合计.期数 }}期，"
             "应还本金合计人民币{{ 还款计划合计.本金 }}元，利息合计人民币{{ 还款计划合计.利息 }}元，本息合计人民币"
             "{{ 还款计划合计.合计 }}元。{% if 固定还款日 %}每期还款日为每月{{ 固定还款日 }}日。{% endif %}"
             "还款日遇法定节假日不顺延。")
    b.clause("6.3　乙方应当于每期还款日（含当日）前将当期应还款项足额存入还款账户，并授权甲方于还款日从该账户扣收；"
             "乙方也可以转账方式向甲方指定账户足额还款。乙方的还款以甲方实际收到款项之日为还款日。")
    b.clause("6.4　乙方的还款不足以清偿全部到期债务的，按照下列顺序清偿：（一）实现债权的费用；（二）罚息、复利；"
             "（三）利息；（四）本金。")
    b.clause("6.5　**提前还款：**乙方可以提前偿还全部或者部分借款，但应当提前五个工作日向甲方提出书面申请。提前还款的，"
             "利息按照借款的实际占用天数计算，甲方不收取提前还款违约金；提前偿还部分借款的，剩余借款的到期日不变，"
             "由甲方重新出具《还款计划表》。")

    b.article("第七条　担保")
    b.clause("7.1　本合同项下借款的担保方式为：{{ 担保方式 }}。具体担保事项由甲方与担保人另行签订保证合同、抵押合同或者"
             "质押合同（以下统称“担保合同”）约定。")
    b.clause("7.2　保证人：")
    b.tag("{%p if 保证人列表 %}")
    guarantors_table(b)
    b.tag("{%p else %}")
    b.clause("本合同项下无保证担保。")
    b.tag("{%p endif %}")
    b.clause("7.3　抵押物、质押物：")
    b.tag("{%p if 抵押物列表 %}")
    collaterals_table(b)
    b.tag("{%p else %}")
    b.clause("本合同项下无抵押、质押担保。")
    b.tag("{%p endif %}")
    b.clause("7.4　担保人丧失或者部分丧失担保能力，担保物价值明显减少、被查封扣押或者出现权属争议，或者发生其他足以影响"
             "甲方债权实现的情形的，乙方应当在甲方要求的期限内提供甲方认可的新的担保。")

    b.article("第八条　费用")
    b.tag("{%p if 费用列表 %}")
    b.clause("8.1　经双方协商一致，乙方应当向甲方支付下列费用：")
    fees_table(b)
    b.clause("8.2　**上述费用由乙方按约定另行支付，甲方不从借款本金中扣除；上述费用已计入本合同第4.3款明示的综合年化成本。**")
    b.tag("{%p else %}")
    b.clause("8.1　除本合同约定的利息外，甲方不向乙方收取其他费用。")
    b.tag("{%p endif %}")

    b.article("第九条　乙方的陈述与保证")
    b.clause("9.1　乙方为具有完全民事行为能力的自然人，或者为依法设立并有效存续的企业、个体工商户或者其他组织，具有签订"
             "和履行本合同的资格和能力；乙方为单位的，签订本合同已经取得其章程规定的有权机构的同意或者授权。")
    b.clause("9.2　乙方向甲方提供的身份证明、财务报表、经营状况、资产负债、借款用途等全部资料真实、准确、完整，"
             "不存在虚假记载、误导性陈述或者重大遗漏。")
    b.clause("9.3　乙方不存在未向甲方披露的重大债务、对外担保、诉讼、仲裁、行政处罚或者被强制执行等可能影响其偿债能力的情形。")
    b.clause("9.4　乙方将按照约定用途使用借款，接受并配合甲方的贷后检查，按甲方要求提供财务及经营资料。")
    b.clause("9.5　借款期限内，乙方的姓名或者名称、住所、通讯地址、联系电话、工作单位、法定代表人、控股股东等发生变更，"
             "或者发生合并、分立、减资、停业、解散、重大诉讼等可能影响甲方债权的事项的，乙方应当自该事项发生之日起五日内"
             "书面通知甲方。")
    b.clause("9.6　乙方不以转移、隐匿、无偿处分财产或者其他方式逃避债务。")
    b.clause("9.7　乙方同意甲方依法向金融信用信息基础数据库及其他依法设立的征信机构查询、报送乙方的信用信息。")

    b.article("第十条　违约责任")
    b.clause("10.1　乙方有下列情形之一的，构成违约：（一）未按约定按期足额偿还借款本金、利息或者支付费用的；"
             "（二）未按约定用途使用借款的；（三）提供虚假资料或者隐瞒重要事实的；（四）违反本合同第九条所作陈述与保证的；"
             "（五）担保人违反担保合同约定，或者发生本合同第7.4款所列情形而乙方未按要求提供新的担保的；（六）乙方经营"
             "或者财务状况严重恶化、涉及重大诉讼或者被强制执行、丧失或者可能丧失偿债能力的；（七）乙方违反本合同其他约定的。")
    b.clause("10.2　**逾期罚息：乙方未按期偿还借款本金的，自逾期之日起对逾期本金按罚息利率（年利率）{{ 罚息利率 }}"
             "计收罚息，直至清偿之日止。**")
    b.clause("10.3　**挪用罚息：乙方未按约定用途使用借款的，对挪用部分自挪用之日起按罚息利率{{ 罚息利率 }}计收罚息。**")
    b.clause("10.4　**复利：乙方未按期支付利息的，对未按期支付的利息按罚息利率{{ 罚息利率 }}计收复利。**")
    b.clause("10.5　**加速到期：发生本条第10.1款所列违约情形的，甲方有权采取下列一项或者多项措施：（一）要求乙方限期纠正"
             "违约行为；（二）停止发放尚未发放的借款；（三）宣布本合同项下全部借款提前到期，要求乙方立即偿还全部借款本金、"
             "利息、罚息、复利及其他应付款项；（四）要求担保人承担担保责任，或者依法处分担保物；（五）依法将乙方的违约信息"
             "报送金融信用信息基础数据库；（六）法律法规规定及本合同约定的其他措施。**")
    b.clause("10.6　甲方因乙方违约而实现债权所发生的费用，包括但不限于诉讼费、仲裁费、保全费、公告费、评估费、拍卖费、"
             "执行费、律师费、差旅费等，由乙方承担。")
    b.clause("10.7　本合同约定的利息、罚息、复利及费用合计超过国家法律法规和监管规定上限的，超过部分甲方不予主张。")

    notice_article(b, "十一")
    dispute_article(b, "十二")

    b.article("第十三条　合同的生效及其他")
    b.clause("13.1　本合同自甲方加盖公章（或者合同专用章）并由其法定代表人或者授权代表签字、乙方签字（乙方为单位的，"
             "加盖公章并由其法定代表人或者授权代表签字）之日起生效，至本合同项下全部债务清偿完毕之日终止。")
    b.clause("13.2　借款申请书、借据、《还款计划表》及双方确认的其他文件均为本合同的组成部分。担保合同是本合同的从合同。")
    b.clause("13.3　本合同未尽事宜，双方可以另行签订书面补充协议，补充协议与本合同具有同等法律效力。")
    b.clause("13.4　本合同一式三份，甲方执二份，乙方执一份，具有同等法律效力。")
    reminder_clause(b, "13.5")
    end_of_text(b)
    b.signatures(lender_signature(),
                 ["乙方（借款人）：{{ 借款人 }}", "（签字并按手印；单位加盖公章）", "",
                  "法定代表人或授权代表（签字）：", "", DATE_BLANK])
    b.blank()
    b.line("经办机构：{{ 经办机构 }}　　客户经理：{{ 客户经理 }}")

    b.page_break()
    b.article("附件：还款计划表")
    b.line("借款人：{{ 借款人 }}　　借款金额：人民币{{ 贷款金额 }}元　　年利率：{{ 年利率 }}　　还款方式：{{ 还款方式 }}")
    b.line("单位：人民币元")
    schedule_table(b)
    b.clause("注：实际放款日与计划放款日不一致或者乙方提前还款的，以甲方重新出具的《还款计划表》为准。")
    return b


# --------------------------------------------------------------------------- 保证合同

def guarantee_contract():
    b = Builder("保证合同")
    b.title("保证合同")
    b.numbers("合同编号：{{ 合同编号 }}", "主合同业务编号：{{ 业务编号 }}", "签订日期：{{ 签订日期 }}")
    lender_party(b, "债权人（甲方）")
    b.line("保证人（乙方）：{{ 当前保证人.姓名 }}", bold=True)
    b.line("身份证号码/统一社会信用代码：{{ 当前保证人.证件号码 }}")
    b.line("住所（通讯地址）：" + UNDERLINE + UNDERLINE)
    b.line("联系电话：{{ 当前保证人.电话 }}")
    b.line("与债务人关系：{{ 当前保证人.与借款人关系 }}")
    b.blank()
    debtor_line(b)
    b.clause("甲方与债务人{{ 借款人 }}签订了《借款合同》（业务编号：{{ 业务编号 }}，以下简称“主合同”）。为确保主合同项下"
             "债务的履行，乙方自愿向甲方提供保证担保。根据《中华人民共和国民法典》等法律法规，甲乙双方经协商一致，"
             "订立本合同。")

    main_debt_article(b, "一", extra="乙方所担保的主债权本金金额为人民币{{ 当前保证人.担保金额 }}元"
                                     "（大写：{{ 当前保证人.担保金额大写 }}）。")

    b.article("第二条　保证方式")
    b.clause("2.1　**本合同的保证方式为{{ 当前保证人.保证方式 }}。**")
    b.tag('{%p if 当前保证人.保证方式 == "一般保证" %}')
    b.clause("2.2　**本合同为一般保证。主合同纠纷未经审判或者仲裁，并就债务人财产依法强制执行仍不能履行债务前，乙方有权"
             "拒绝向甲方承担保证责任，但有《中华人民共和国民法典》第六百八十七条第二款规定情形之一的除外。**")
    b.tag("{%p else %}")
    b.clause("2.2　**本合同为连带责任保证。债务人未按主合同约定履行到期债务（包括主合同项下债务依约提前到期）的，"
             "甲方有权直接要求乙方在保证范围内承担保证责任，无须先行向债务人追索。**")
    b.tag("{%p endif %}")

    security_scope_article(b, "三", "乙方保证")

    b.article("第四条　保证期间")
    b.clause("4.1　**乙方的保证期间为{{ 当前保证人.保证期间 }}，自主合同约定的债务履行期限届满之日起计算。**")
    b.clause("4.2　主合同约定债务分期履行的，保证期间自最后一期债务履行期限届满之日起计算；甲方依主合同约定宣布债务"
             "提前到期的，保证期间自甲方宣布的提前到期之日起计算。")
    b.clause("4.3　甲方与债务人协议展期的，应当取得乙方的书面同意，保证期间自展期协议约定的债务履行期限届满之日起计算；"
             "未经乙方书面同意的，乙方仍按原约定的期间承担保证责任。")

    main_change_article(b, "五", "乙方")

    b.article("第六条　其他担保")
    b.clause("主合同项下除本合同约定的保证外还存在其他保证，或者债务人、第三人提供的抵押、质押等物的担保的，**乙方同意："
             "甲方有权选择要求乙方承担保证责任或者先行实现其他担保；甲方放弃、变更其他担保，或者其他担保无效、被撤销的，"
             "乙方的保证责任不因此减轻或者免除。**")

    b.article("第七条　乙方的陈述与保证")
    b.clause("7.1　乙方具有完全民事行为能力；乙方为单位的，系依法设立并有效存续，签订本合同已经取得其章程规定的有权机构的"
             "决议或者授权。乙方具有作为保证人的资格和代偿能力。")
    b.clause("7.2　乙方系自愿提供保证，已充分了解主合同的全部内容以及债务人的资信、经营和财务状况。")
    b.clause("7.3　乙方向甲方提供的身份、财产、收入、财务等资料真实、准确、完整。")
    b.clause("7.4　保证期间内，乙方的住所、联系方式、工作单位发生变更，或者发生涉及重大诉讼、财产被查封、财务状况恶化等"
             "足以影响其保证能力的情形的，乙方应当自该情形发生之日起五日内书面通知甲方。")
    b.clause("7.5　乙方为自然人且已婚的，其配偶知悉并同意乙方提供本保证。")

    b.article("第八条　保证责任的承担")
    b.clause("8.1　债务人未按主合同约定履行债务，乙方应当承担保证责任的，应当自收到甲方书面通知之日起五个工作日内，"
             "在保证范围内向甲方清偿。")
    b.clause("8.2　乙方承担保证责任后，有权在其承担保证责任的范围内向债务人追偿，但不得损害甲方尚未受偿部分的权益。")

    b.article("第九条　违约责任")
    b.clause("乙方违反本合同约定，或者所作陈述与保证不真实的，应当赔偿由此给甲方造成的全部损失；乙方未按约定履行保证"
             "责任的，对应付未付的款项按主合同约定的罚息利率{{ 罚息利率 }}向甲方支付迟延履行期间的违约金。")

    notice_article(b, "十")
    dispute_article(b, "十一")

    b.article("第十二条　合同的生效及其他")
    b.clause("12.1　本合同自甲方加盖公章（或者合同专用章）并由其法定代表人或者授权代表签字、乙方签字（乙方为单位的，"
             "加盖公章并由其法定代表人或者授权代表签字）之日起生效。")
    b.clause("12.2　本合同是主合同的从合同。主合同无效导致本合同无效的，乙方依照法律规定承担相应的民事责任。")
    b.clause("12.3　本合同一式三份，甲方、乙方、债务人各执一份，具有同等法律效力。")
    reminder_clause(b, "12.4")
    end_of_text(b)
    b.signatures(lender_signature("甲方（债权人）"),
                 ["乙方（保证人）：{{ 当前保证人.姓名 }}", "（签字并按手印；单位加盖公章）", "",
                  "法定代表人或授权代表（签字）：", "", DATE_BLANK])
    b.blank()
    b.line("保证人配偶声明：本人知悉并同意保证人签订本合同，同意以夫妻共同财产承担保证责任。", bold=True)
    b.line("保证人配偶（签字）：" + UNDERLINE + "　　" + DATE_BLANK)
    return b


# --------------------------------------------------------------------------- 抵押合同

def mortgage_contract():
    b = Builder("抵押合同")
    b.title("抵押合同")
    b.numbers("合同编号：{{ 合同编号 }}", "主合同业务编号：{{ 业务编号 }}", "签订日期：{{ 签订日期 }}")
    lender_party(b, "抵押权人（甲方）")
    owner_party(b, "抵押人（乙方）")
    debtor_line(b)
    b.clause("甲方与债务人{{ 借款人 }}签订了《借款合同》（业务编号：{{ 业务编号 }}，以下简称“主合同”）。为确保主合同项下"
             "债务的履行，乙方自愿以其依法有权处分的财产向甲方提供抵押担保。根据《中华人民共和国民法典》等法律法规，"
             "甲乙双方经协商一致，订立本合同。")

    main_debt_article(b, "一")

    b.article("第二条　抵押物")
    b.clause("2.1　乙方以下列财产（以下简称“抵押物”）设定抵押：")
    b.table([["名称", "权证编号", "坐落", "面积（㎡）", "评估价值（元）", "抵押率"],
             ["{{ 当前抵押物.名称 }}", "{{ 当前抵押物.权证编号 }}", "{{ 当前抵押物.坐落 }}", "{{ 当前抵押物.面积 }}",
              "{{ 当前抵押物.评估价值 }}", "{{ 当前抵押物.抵押率 }}"]],
            [3.0, 3.4, 3.6, 1.6, 2.4, 1.6], header=True, align_center=True)
    b.clause("2.2　抵押物类型：{{ 当前抵押物.类型 }}；所有权人：{{ 当前抵押物.所有权人 }}；评估价值人民币"
             "{{ 当前抵押物.评估价值 }}元（大写：{{ 当前抵押物.评估价值大写 }}），评估基准日：{{ 当前抵押物.评估日期 }}。")
    b.tag("{%p if 当前抵押物.车牌号 or 当前抵押物.车架号 %}")
    b.clause("抵押物为机动车的，号牌号码：{{ 当前抵押物.车牌号 }}，车辆识别代号（车架号）：{{ 当前抵押物.车架号 }}。")
    b.tag("{%p endif %}")
    b.clause("2.3　上述评估价值仅作为甲方审查借款申请的参考，不作为甲方实现抵押权时抵押物的作价依据，也不构成对甲方"
             "行使抵押权的任何限制。")
    b.clause("2.4　抵押权的效力及于抵押物的从物、从权利，以及抵押物毁损、灭失或者被征收等所得的保险金、赔偿金、补偿金。")

    security_scope_article(b, "三", "抵押", storage=True)

    b.article("第四条　抵押登记")
    b.clause("4.1　**乙方应当自本合同签订之日起五个工作日内，会同甲方向{% if 当前抵押物.登记机关 %}{{ 当前抵押物.登记机关 }}"
             "{% else %}抵押物所在地的登记机构{% endif %}办理抵押登记手续，并将不动产登记证明、机动车登记证书等抵押登记"
             "证明文件原件交甲方保管。**")
    b.clause("4.2　以不动产抵押的，抵押权自登记时设立；以机动车等动产抵押的，抵押权自本合同生效时设立，未经登记不得"
             "对抗善意第三人。")
    b.clause("4.3　本合同约定的事项或者抵押物发生变更，依法需要办理变更登记的，乙方应当配合甲方及时办理。")
    b.clause("4.4　办理抵押登记、评估、保险、公证等发生的费用由乙方或者债务人承担。")
    b.clause("4.5　主合同项下债务全部清偿后，甲方应当自清偿之日起十个工作日内配合乙方办理抵押登记注销手续，"
             "并返还甲方保管的权属证明文件。")

    b.article("第五条　抵押物的占有、使用与保管")
    b.clause("5.1　抵押期间，抵押物由乙方占有和使用。乙方应当妥善保管、合理使用抵押物，负责其维修和保养，并接受甲方"
             "对抵押物状况的检查。")
    b.clause("5.2　**未经甲方书面同意，乙方不得将抵押物转让、赠与、出租、出借、再次抵押或者以其他方式处分。**经甲方同意"
             "转让抵押物的，转让所得价款应当优先用于提前清偿主合同项下债务或者向甲方提存。")
    b.clause("5.3　抵押物在本合同签订前已出租的，乙方应当如实告知甲方并提供租赁合同；经甲方同意在抵押期间出租的，"
             "乙方应当书面告知承租人该财产已设定抵押。")
    b.clause("5.4　甲方要求办理财产保险的，乙方应当为抵押物办理足额的财产保险，保险期间不短于主合同债务履行期限，"
             "并在保险单中注明甲方为第一受益人，保险单正本交甲方保管。")
    b.clause("5.5　抵押物被查封、扣押、征收，或者发生毁损、权属争议的，乙方应当立即书面通知甲方。")

    b.article("第六条　抵押物价值的减少")
    b.clause("乙方的行为足以使抵押物价值减少的，甲方有权要求乙方停止其行为；抵押物价值减少的，甲方有权要求乙方恢复"
             "抵押物的价值，或者提供与减少的价值相应的担保。乙方不恢复抵押物的价值也不提供担保的，甲方有权要求债务人"
             "提前清偿债务。")

    b.article("第七条　抵押权的实现")
    b.clause("7.1　有下列情形之一的，甲方有权实现抵押权：（一）主合同项下债务履行期限届满（包括依约提前到期），甲方未受"
             "清偿的；（二）债务人或者乙方被申请破产、解散、被吊销营业执照，或者死亡、被宣告失踪而无人履行债务的；"
             "（三）乙方违反本合同约定的；（四）法律规定或者双方约定的其他情形。")
    b.clause("7.2　**甲方实现抵押权时，可以与乙方协议以抵押物折价，或者以拍卖、变卖抵押物所得的价款优先受偿；协议不成的，"
             "甲方可以请求人民法院拍卖、变卖抵押物。**")
    b.clause("7.3　抵押物折价或者拍卖、变卖后，其价款超过债权数额的部分归乙方所有，不足部分由债务人清偿。")
    b.clause("7.4　主合同项下同时存在其他担保的，甲方有权选择先行实现本合同项下的抵押权或者其他担保权利；甲方放弃、"
             "变更其他担保的，乙方的担保责任不因此减轻或者免除。")

    main_change_article(b, "八", "乙方")

    b.article("第九条　乙方的陈述与保证")
    b.clause("9.1　乙方对抵押物享有合法、完整的所有权或者处分权，抵押物权属清晰，不存在权属争议，未被查封、扣押，"
             "未设定任何未向甲方披露的担保物权。")
    b.clause("9.2　抵押物为共有财产的，乙方已取得全体共有人的书面同意，共有人在本合同上签字确认。")
    b.clause("9.3　抵押物上存在租赁关系的，乙方已如实告知甲方。")
    b.clause("9.4　乙方签订本合同已经取得必要的授权和同意；乙方提供的与抵押物有关的资料真实、准确、完整。")

    b.article("第十条　违约责任")
    b.clause("乙方未按约定办理抵押登记、擅自处分抵押物、所作陈述与保证不真实，或者有其他违反本合同约定的行为，致使甲方"
             "抵押权未能有效设立或者受到损害的，乙方应当赔偿甲方由此遭受的全部损失，甲方并有权要求债务人提前清偿债务。")

    notice_article(b, "十一")
    dispute_article(b, "十二")

    b.article("第十三条　合同的生效及其他")
    b.clause("13.1　本合同自甲方加盖公章（或者合同专用章）并由其法定代表人或者授权代表签字、乙方签字（乙方为单位的，"
             "加盖公章并由其法定代表人或者授权代表签字）之日起生效；抵押权的设立依照本合同第4.2款的约定。")
    b.clause("13.2　本合同是主合同的从合同。主合同无效导致本合同无效的，乙方依照法律规定承担相应的民事责任。")
    b.clause("13.3　本合同一式四份，甲方执二份，乙方执一份，一份交登记机构办理抵押登记，具有同等法律效力。")
    reminder_clause(b, "13.4")
    end_of_text(b)
    b.signatures(lender_signature("甲方（抵押权人）"),
                 ["乙方（抵押人）：{{ 当前抵押物.所有权人 }}", "（签字并按手印；单位加盖公章）", "",
                  "法定代表人或授权代表（签字）：", "", DATE_BLANK])
    b.blank()
    b.line("抵押物共有人声明：本人同意以上述共有财产为主合同项下债务设定抵押。", bold=True)
    b.line("共有人（签字）：" + UNDERLINE + "　　" + DATE_BLANK)
    return b


# --------------------------------------------------------------------------- 质押合同

def pledge_contract():
    b = Builder("质押合同")
    b.title("质押合同")
    b.numbers("合同编号：{{ 合同编号 }}", "主合同业务编号：{{ 业务编号 }}", "签订日期：{{ 签订日期 }}")
    lender_party(b, "质权人（甲方）")
    owner_party(b, "出质人（乙方）")
    debtor_line(b)
    b.clause("甲方与债务人{{ 借款人 }}签订了《借款合同》（业务编号：{{ 业务编号 }}，以下简称“主合同”）。为确保主合同项下"
             "债务的履行，乙方自愿以其依法有权处分的财产或者权利向甲方提供质押担保。根据《中华人民共和国民法典》等"
             "法律法规，甲乙双方经协商一致，订立本合同。")

    main_debt_article(b, "一")

    custodian = "{% if 当前抵押物.保管人 %}{{ 当前抵押物.保管人 }}{% else %}甲方{% endif %}"
    b.article("第二条　质押财产")
    b.clause("2.1　乙方以下列财产或者权利（以下简称“质物”）出质：")
    b.table([["名称", "类型", "权证编号", "评估价值（元）", "质押率", "保管人"],
             ["{{ 当前抵押物.名称 }}", "{{ 当前抵押物.类型 }}", "{{ 当前抵押物.权证编号 }}", "{{ 当前抵押物.评估价值 }}",
              "{{ 当前抵押物.抵押率 }}", custodian]],
            [3.6, 1.8, 3.8, 2.6, 1.6, 2.2], header=True, align_center=True)
    b.clause("2.2　质物所有权人：{{ 当前抵押物.所有权人 }}；评估价值人民币{{ 当前抵押物.评估价值 }}元"
             "（大写：{{ 当前抵押物.评估价值大写 }}），评估基准日：{{ 当前抵押物.评估日期 }}。上述评估价值仅作为甲方"
             "审查借款申请的参考，不作为甲方实现质权时质物的作价依据。")
    b.clause("2.3　质权的效力及于质物的从物、从权利、孳息，以及质物毁损、灭失或者被征收等所得的保险金、赔偿金、补偿金。"
             "甲方收取的孳息，应当先充抵收取孳息的费用。")

    security_scope_article(b, "三", "质押", storage=True)

    b.article("第四条　质物的交付与保管")
    b.clause("4.1　**乙方应当于本合同签订之日（最迟于主合同项下借款发放前）将质物及其权属证明文件交付甲方"
             "{% if 当前抵押物.保管人 %}或者甲方指定的保管人{{ 当前抵押物.保管人 }}{% endif %}占有。交付时双方应当当场"
             "清点、查验质物，并在本合同所附《质物交接记录》上签字确认。**")
    b.clause("4.2　以动产出质的，质权自质物交付时设立。以存单、仓单、提单、汇票等有权利凭证的权利出质的，质权自权利凭证"
             "交付甲方时设立；没有权利凭证的，或者以股权、应收账款、知识产权等出质的，质权自依法办理出质登记时设立，乙方"
             "应当自本合同签订之日起五个工作日内会同甲方办理出质登记{% if 当前抵押物.登记机关 %}（登记机构："
             "{{ 当前抵押物.登记机关 }}）{% endif %}。")
    b.clause("4.3　**质押期间，质物由" + custodian + "负责保管，保管方应当妥善保管质物；因保管不善致使质物毁损、灭失的，"
             "甲方依法承担赔偿责任。未经乙方同意，甲方及保管人不得使用、出租、处分质物。**")
    b.clause("4.4　质物的保管费用、保险费用、出质登记费用以及质物交付、返还所需的运输费用由乙方承担。")
    b.clause("4.5　质押期间，乙方不得对质物或者权利凭证进行挂失、转让、撤销或者以其他方式处分；质物为存单等权利凭证的，"
             "乙方应当配合甲方向相关机构办理止付、质押确认手续。")

    b.article("第五条　质物价值的减少")
    b.clause("因不可归责于甲方的事由可能使质物毁损或者价值明显减少，足以危害甲方权利的，甲方有权要求乙方提供相应的担保；"
             "乙方不提供的，甲方可以拍卖、变卖质物，并与乙方协议将拍卖、变卖所得的价款提前清偿债务或者提存。")

    b.article("第六条　质权的实现")
    b.clause("6.1　主合同项下债务履行期限届满（包括依约提前到期）甲方未受清偿，或者发生双方约定的实现质权的情形的，"
             "**甲方可以与乙方协议以质物折价，也可以就拍卖、变卖质物所得的价款优先受偿；协议不成的，甲方可以请求人民法院"
             "拍卖、变卖质物。**")
    b.clause("6.2　出质的汇票、债券、存款单、仓单、提单等的兑现日期或者提货日期先于主债权到期的，甲方可以兑现或者提货，"
             "并与乙方协议将兑现的价款或者提取的货物提前清偿债务或者提存。")
    b.clause("6.3　质物折价或者拍卖、变卖后，其价款超过债权数额的部分归乙方所有，不足部分由债务人清偿。")
    b.clause("6.4　主合同项下同时存在其他担保的，甲方有权选择先行实现本合同项下的质权或者其他担保权利；甲方放弃、"
             "变更其他担保的，乙方的担保责任不因此减轻或者免除。")

    b.article("第七条　质物的返还")
    b.clause("主合同项下债务全部清偿后，甲方应当自清偿之日起五个工作日内将质物及权利凭证返还乙方；已办理出质登记的，"
             "甲方应当配合乙方办理注销登记。")

    main_change_article(b, "八", "乙方")

    b.article("第九条　乙方的陈述与保证")
    b.clause("9.1　乙方对质物享有合法、完整的所有权或者处分权，质物权属清晰，不存在权属争议，未被查封、扣押或者冻结，"
             "未设定任何未向甲方披露的担保物权。")
    b.clause("9.2　质物为共有财产的，乙方已取得全体共有人的书面同意。")
    b.clause("9.3　乙方签订本合同已经取得必要的授权和同意；乙方提供的与质物有关的资料真实、准确、完整。")

    b.article("第十条　违约责任")
    b.clause("乙方未按约定交付质物或者办理出质登记、擅自处分质物、所作陈述与保证不真实，或者有其他违反本合同约定的行为，"
             "致使甲方质权未能有效设立或者受到损害的，乙方应当赔偿甲方由此遭受的全部损失，甲方并有权要求债务人提前清偿债务。")

    notice_article(b, "十一")
    dispute_article(b, "十二")

    b.article("第十三条　合同的生效及其他")
    b.clause("13.1　本合同自甲方加盖公章（或者合同专用章）并由其法定代表人或者授权代表签字、乙方签字（乙方为单位的，"
             "加盖公章并由其法定代表人或者授权代表签字）之日起生效；质权的设立依照本合同第4.2款的约定。")
    b.clause("13.2　本合同是主合同的从合同。主合同无效导致本合同无效的，乙方依照法律规定承担相应的民事责任。")
    b.clause("13.3　本合同一式三份，甲方执二份，乙方执一份，具有同等法律效力。")
    reminder_clause(b, "13.4")
    end_of_text(b)
    b.signatures(lender_signature("甲方（质权人）"),
                 ["乙方（出质人）：{{ 当前抵押物.所有权人 }}", "（签字并按手印；单位加盖公章）", "",
                  "法定代表人或授权代表（签字）：", "", DATE_BLANK])
    b.blank()
    b.line("质物交接记录", bold=True, align="center")
    b.table([["质物名称", "{{ 当前抵押物.名称 }}", "权证编号", "{{ 当前抵押物.权证编号 }}"],
             ["交付人（出质人）签字", "", "接收人（甲方/保管人）签字", ""],
             ["交接日期", "　　　　年　　月　　日", "交接地点", ""],
             ["质物状况及随附文件", "", None, None]],
            [3.6, 4.2, 3.6, 4.2], labels=(0, 2))
    b.blank()
    return b


# --------------------------------------------------------------------------- 借据

def iou():
    b = Builder("借据", number_label="借据编号")
    b.title("借　据")
    b.numbers("借据编号：{{ 合同编号 }}")
    b.table([
        ["借款人", "{{ 借款人 }}", "证件号码", "{{ 借款人证件号码 }}"],
        ["住所", "{{ 借款人地址 }}", "联系电话", "{{ 借款人电话 }}"],
        ["借款金额", "人民币（大写）{{ 贷款金额大写 }}　　（小写）¥{{ 贷款金额 }}", None, None],
        ["借款品种", "{{ 贷款产品 }}", "借款用途", "{{ 贷款用途 }}"],
        ["借款期限", "{{ 期限 }}", "起止日期", "{{ 放款日期 }}至{{ 到期日期 }}"],
        ["年利率", "{{ 年利率 }}", "月利率/日利率", "{{ 月利率 }} / {{ 日利率 }}"],
        ["还款方式", "{{ 还款方式 }}", "罚息利率", "{{ 罚息利率 }}"],
        ["担保方式", "{{ 担保方式 }}", "借款合同业务编号", "{{ 业务编号 }}"],
        ["收款账户", "开户银行：{{ 借款人开户行 }}\n户名：{{ 借款人户名 }}　　账号：{{ 借款人账号 }}", None, None],
    ], [2.6, 5.2, 2.8, 5.0], labels=(0, 2))
    b.blank()
    b.clause("借款人确认：借款人已于{{ 放款日期 }}足额收到贷款人{{ 贷款人 }}发放的上述借款，贷款人未从借款本金中预先扣除"
             "任何利息和费用。本借据是借款人与贷款人签订的《借款合同》（业务编号：{{ 业务编号 }}）的组成部分，与该合同"
             "具有同等法律效力；本借据未载明的事项，按该合同的约定执行。")
    b.clause("借款人保证按照借款合同及《还款计划表》的约定按期足额偿还借款本息；逾期未还的，按罚息利率{{ 罚息利率 }}"
             "计收罚息和复利。")
    b.blank()
    b.signatures(["借款人（签字并按手印；单位加盖公章）：", "", "", DATE_BLANK],
                 ["贷款人（盖章）：{{ 贷款人 }}", "", "经办人（签字）：", DATE_BLANK])
    b.blank()
    return b


# --------------------------------------------------------------------------- 放款单

def disbursement_voucher():
    b = Builder("放款单", number_label="放款单编号")
    b.title("放　款　单")
    b.numbers("放款单编号：{{ 合同编号 }}　　放款日期：{{ 放款日期 }}")
    b.table([
        ["业务编号", "{{ 业务编号 }}", "经办机构", "{{ 经办机构 }}"],
        ["借款人", "{{ 借款人 }}", "借款人类型", "{{ 借款人类型 }}"],
        ["证件号码", "{{ 借款人证件号码 }}", "联系电话", "{{ 借款人电话 }}"],
        ["贷款产品", "{{ 贷款产品 }}", "贷款用途", "{{ 贷款用途 }}"],
        ["放款金额", "人民币（大写）{{ 贷款金额大写 }}　　（小写）¥{{ 贷款金额 }}", None, None],
        ["借款期限", "{{ 期限 }}", "起止日期", "{{ 起始日期 }}至{{ 到期日期 }}"],
        ["年利率", "{{ 年利率 }}", "还款方式", "{{ 还款方式 }}"],
        ["担保方式", "{{ 担保方式 }}", "综合年化成本", "{{ 综合年化成本 }}"],
        ["收款开户行", "{{ 借款人开户行 }}", None, None],
        ["收款户名", "{{ 借款人户名 }}", "收款账号", "{{ 借款人账号 }}"],
        ["客户经理", "{{ 客户经理 }}", "借款合同签订日期", "{{ 签订日期 }}"],
    ], [2.8, 5.0, 2.8, 5.0], labels=(0, 2))
    b.blank()
    b.line("放款前提条件核查：", bold=True)
    b.line("□ 借款合同已签订　　□ 担保合同已签订　　□ 抵押登记/质物交付/出质登记已办妥")
    b.line("□ 借据已签署　　□ 放款账户已核实为借款人本人账户　　□ 费用已另行收取，未从放款金额中扣除")
    b.blank()
    b.line("审批签字：", bold=True)
    sign = "签字：\n\n\n日期："
    b.table([["客户经理", "风险审核", "放款审批", "财务经办", "财务复核"],
             [sign, sign, sign, sign, sign]], [3.12] * 5, header=True)
    b.blank()
    b.line("注：本单一式三联，第一联财务记账，第二联业务留存，第三联档案归档。")
    return b


# --------------------------------------------------------------------------- 还款计划表

def repayment_schedule():
    b = Builder("还款计划表", number_label="编号")
    b.title("还款计划表")
    b.numbers("编号：{{ 合同编号 }}", "借款合同业务编号：{{ 业务编号 }}")
    b.table([
        ["借款人", "{{ 借款人 }}", "证件号码", "{{ 借款人证件号码 }}"],
        ["借款金额", "人民币（大写）{{ 贷款金额大写 }}　　（小写）¥{{ 贷款金额 }}", None, None],
        ["借款期限", "{{ 期限 }}", "起止日期", "{{ 起始日期 }}至{{ 到期日期 }}"],
        ["年利率", "{{ 年利率 }}", "还款方式", "{{ 还款方式 }}"],
        ["放款日期", "{{ 放款日期 }}", "罚息利率", "{{ 罚息利率 }}"],
        ["还款账户", "{{ 借款人开户行 }}　户名：{{ 借款人户名 }}　账号：{{ 借款人账号 }}", None, None],
    ], [2.6, 5.2, 2.6, 5.2], labels=(0, 2))
    b.line("各期还款明细（单位：人民币元）：", bold=True)
    schedule_table(b)
    b.blank()
    b.line("说明：", bold=True)
    b.clause("1.　本表是《借款合同》（业务编号：{{ 业务编号 }}）的附件，与借款合同具有同等法律效力。")
    b.clause("2.　借款人应当于每期还款日（含当日）前将当期应还款项足额存入还款账户；还款日遇法定节假日不顺延。")
    b.clause("3.　实际放款日与计划放款日不一致或者借款人提前还款的，贷款人将重新出具还款计划表，以重新出具的为准。")
    b.clause("4.　逾期未还的，对逾期本金按罚息利率{{ 罚息利率 }}计收罚息，对未按期支付的利息计收复利。")
    b.blank()
    b.signatures(["借款人确认（签字并按手印；单位加盖公章）：", "", DATE_BLANK],
                 ["贷款人（盖章）：{{ 贷款人 }}", "", DATE_BLANK])
    b.blank()
    return b


# --------------------------------------------------------------------------- 缴费申请单

def fee_application():
    b = Builder("评审费/担保费缴费申请单", number_label="申请单编号")
    b.title("评审费/担保费缴费申请单")
    b.numbers("申请单编号：{{ 合同编号 }}　　申请日期：{{ 签订日期 }}")
    b.table([
        ["业务编号", "{{ 业务编号 }}", "经办机构", "{{ 经办机构 }}"],
        ["借款人", "{{ 借款人 }}", "证件号码", "{{ 借款人证件号码 }}"],
        ["联系电话", "{{ 借款人电话 }}", "贷款产品", "{{ 贷款产品 }}"],
        ["借款金额", "人民币（大写）{{ 贷款金额大写 }}　　（小写）¥{{ 贷款金额 }}", None, None],
        ["借款期限", "{{ 期限 }}", "担保方式", "{{ 担保方式 }}"],
        ["年利率", "{{ 年利率 }}", "综合年化成本", "{{ 综合年化成本 }}"],
    ], [2.6, 5.2, 2.6, 5.2], labels=(0, 2))
    b.line("应缴费用明细（单位：人民币元）：", bold=True)
    fees_table(b)
    b.blank()
    b.line("说明：", bold=True)
    b.clause("1.　上述费用依据借款人与{{ 贷款人 }}签订的《借款合同》（业务编号：{{ 业务编号 }}）的约定收取，"
             "已计入借款的综合年化成本{{ 综合年化成本 }}。")
    b.clause("2.　上述费用由借款人按约定的收取时间另行缴纳至贷款人指定账户，**贷款人不从借款本金中扣除任何费用**；"
             "除上述费用外，贷款人不收取其他费用。")
    b.clause("3.　贷款人收到费用后向借款人出具收费凭证。")
    b.blank()
    b.table([["借款人确认（签字/盖章）：\n\n" + DATE_BLANK, "客户经理（签字）：{{ 客户经理 }}\n\n" + DATE_BLANK],
             ["部门负责人（签字）：\n\n" + DATE_BLANK, "财务收款（签章）：\n\n" + DATE_BLANK]],
            [TEXT_WIDTH / 2, TEXT_WIDTH / 2])
    b.blank()
    return b


# --------------------------------------------------------------------------- 结清证明

def settlement_certificate():
    b = Builder("结清证明", number_label="证明编号")
    b.title("贷款结清证明")
    b.numbers("编号：{{ 合同编号 }}")
    b.line("{{ 借款人 }}（身份证号码/统一社会信用代码：{{ 借款人证件号码 }}）：")
    b.clause("兹证明，{{ 借款人 }}与我公司签订的《借款合同》（业务编号：{{ 业务编号 }}）项下借款本金人民币{{ 贷款金额 }}元"
             "（大写：{{ 贷款金额大写 }}），借款期限自{{ 起始日期 }}起至{{ 到期日期 }}止。**截至{{ 结清日期 }}，该笔借款的"
             "本金、利息、罚息及相关费用已全部结清**，我公司与借款人在上述借款合同项下的债权债务关系终止。")
    b.tag("{%p if 保证人列表 or 抵押物列表 %}")
    b.clause("该笔借款项下的担保责任相应解除：")
    b.tag("{%p for g in 保证人列表 %}")
    b.clause("保证人{{ g.姓名 }}（证件号码：{{ g.证件号码 }}）的保证责任自{{ 结清日期 }}起解除；")
    b.tag("{%p endfor %}")
    b.tag("{%p for c in 抵押物列表 %}")
    b.clause("{{ c.方式 }}物“{{ c.名称 }}”（{% if c.权证编号 %}权证编号：{{ c.权证编号 }}，{% endif %}"
             "所有权人：{{ c.所有权人 }}）的{{ c.方式 }}权自{{ 结清日期 }}起解除，我公司将配合办理"
             '{% if c.方式 == "质押" %}质物及权利凭证的返还{% else %}抵押登记注销{% endif %}手续；')
    b.tag("{%p endfor %}")
    b.tag("{%p endif %}")
    b.clause("特此证明。")
    b.blank()
    b.blank()
    b.line("{{ 贷款人 }}（盖章）", align="right")
    b.line("{{ 签订日期 }}", align="right")
    b.blank()
    b.line("联系电话：{{ 贷款人电话 }}　　地址：{{ 贷款人地址 }}")
    return b


# --------------------------------------------------------------------------- 展期协议

def extension_agreement():
    b = Builder("贷款展期协议", number_label="协议编号")
    b.title("贷款展期协议")
    b.numbers("协议编号：{{ 合同编号 }}", "原借款合同业务编号：{{ 业务编号 }}")
    b.line("贷款人（甲方）：{{ 贷款人 }}")
    b.line("借款人（乙方）：{{ 借款人 }}（证件号码：{{ 借款人证件号码 }}）")
    b.clause("乙方向甲方借款人民币{{ 贷款金额 }}元（大写：{{ 贷款金额大写 }}），借款起始日期为{{ 起始日期 }}。"
             "因乙方申请，经甲方审批同意，双方就该笔借款展期事宜达成如下协议：")
    b.article("第一条　展期后借款到期日为{{ 到期日期 }}，展期期间年利率为{{ 年利率 }}，还款方式为{{ 还款方式 }}。")
    b.article("第二条　展期后各期应还款项以下表为准（单位：人民币元）：")
    schedule_table(b)
    b.article("第三条　逾期未还的，对逾期本金按罚息利率{{ 罚息利率 }}计收罚息，对未按期支付的利息计收复利。")
    b.article("第四条　本协议是原《借款合同》的组成部分，本协议未约定的事项仍按原借款合同执行。")
    b.tag("{%p if 保证人列表 %}")
    b.article("第五条　保证人已书面同意本次展期，并继续对展期后的债务承担保证责任：")
    b.tag("{%p for g in 保证人列表 %}")
    b.clause("保证人{{ g.姓名 }}（证件号码：{{ g.证件号码 }}）　　签字：")
    b.tag("{%p endfor %}")
    b.tag("{%p endif %}")
    b.blank()
    b.signatures(["借款人（签字并按手印；单位加盖公章）：", "", DATE_BLANK],
                 ["贷款人（盖章）：{{ 贷款人 }}", "", DATE_BLANK])
    return b


# --------------------------------------------------------------------------- split runs (tests)

def split_runs():
    """``{{ 借款人 }}`` split over three runs (middle one bold) in a paragraph, a table cell and the header."""
    doc = Document()
    _setup_styles(doc)
    props = doc.core_properties
    props.title = "split runs test template"
    props.author = "MicroLoan"
    props.last_modified_by = "MicroLoan"
    props.created = props.modified = props.last_printed = FIXED_TIME
    props.revision = 1

    def split(paragraph, before, after):
        if before:
            paragraph.add_run(before)
        paragraph.add_run("{{ 借")
        middle = paragraph.add_run("款")
        middle.bold = True
        paragraph.add_run("人 }}")
        if after:
            paragraph.add_run(after)

    split(doc.sections[0].header.paragraphs[0], "页眉：", "")
    split(doc.add_paragraph(), "段落：", "。")
    table = doc.add_table(rows=1, cols=2)
    table.style = doc.styles["Table Grid"]
    table.cell(0, 0).text = "借款人"
    split(table.cell(0, 1).paragraphs[0], "", "")
    doc.add_paragraph("结束。")
    return doc


# --------------------------------------------------------------------------- main

TEMPLATES = {
    "loan_contract.docx": loan_contract,
    "iou.docx": iou,
    "guarantee_contract.docx": guarantee_contract,
    "mortgage_contract.docx": mortgage_contract,
    "pledge_contract.docx": pledge_contract,
    "disbursement_voucher.docx": disbursement_voucher,
    "repayment_schedule.docx": repayment_schedule,
    "fee_application.docx": fee_application,
    "settlement_certificate.docx": settlement_certificate,
    "extension_agreement.docx": extension_agreement,
}
SPLIT_RUNS = Path("tests") / "split_runs.docx"


def build_all(out_dir=HERE):
    """Write every template (and tests/split_runs.docx) into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    paths = [save_reproducibly(build().doc, out_dir / name) for name, build in TEMPLATES.items()]
    paths.append(save_reproducibly(split_runs(), out_dir / SPLIT_RUNS))
    return paths


if __name__ == "__main__":
    for written in build_all(sys.argv[1] if len(sys.argv) > 1 else HERE):
        print(written)
