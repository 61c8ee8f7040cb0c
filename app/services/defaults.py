"""Seed data loaded by ``flask init``: parameters (DOMAIN.md defaults), dictionaries and LPR.

Every value here is a default an administrator can change in the UI afterwards; the seed
only adds rows that are missing, so re-running init never overwrites an admin's edits.
"""
from datetime import date
from decimal import Decimal

# (key, default, type, label, group, description, min, max)
SETTINGS = [
    ("business_date", "", "date", "营业日期", "basic", "系统当前营业日期；留空表示取当天日期。日终批处理会自动推进。", None, None),
    ("company_name", "示例小额贷款有限公司", "str", "公司名称", "basic", "合同与报表中出借人名称", None, None),
    ("company_address", "北京市朝阳区示例路 1 号", "str", "公司地址", "basic", "", None, None),
    ("company_legal_rep", "张三", "str", "法定代表人", "basic", "", None, None),
    ("company_phone", "010-00000000", "str", "公司电话", "basic", "", None, None),
    ("net_assets", "100000000.00", "decimal", "上年末净资产（元）", "limits", "集中度限额的计算基数", "0", None),
    ("single_borrower_limit_pct", "10", "percent", "单户贷款余额上限（%净资产）", "limits", "同一借款人贷款余额不得超过上年末净资产的该比例", "0", "100"),
    ("related_party_limit_pct", "15", "percent", "关联方贷款余额上限（%净资产）", "limits", "借款人及其关联方贷款余额合计上限", "0", "100"),
    ("funding_leverage_multiple", "1", "decimal", "银行及股东借款上限（倍净资产）", "limits", "", "0", None),
    ("online_consumer_limit", "200000.00", "decimal", "网络小贷个人消费贷单户余额上限（元）", "limits", "", "0", None),
    ("online_business_limit", "10000000.00", "decimal", "网络小贷经营贷单户余额上限（元）", "limits", "", "0", None),
    ("rate_cap_pct", "24", "percent", "综合年化成本上限（%）", "rates", "超过该值的贷款不得提交", "0", "100"),
    ("lpr_warning_multiple", "4", "decimal", "LPR 预警倍数", "rates", "综合年化成本超过一年期 LPR 的该倍数时提示", "0", "10"),
    ("day_basis", "360", "int", "计息天数基准", "rates", "360 或 365（产品可单独设置）", "360", "365"),
    ("penalty_markup_pct", "50", "percent", "罚息上浮比例（%）", "rates", "罚息利率 = 合同利率 ×（1 + 上浮比例），30%–50%", "30", "50"),
    ("grace_days", "0", "int", "宽限期（天）", "rates", "到期后宽限期内不计罚息", "0", "90"),
    ("max_extensions", "2", "int", "最多展期次数", "servicing", "", "0", "10"),
    ("reminder_lead_days", "3", "int", "还款提前提醒天数", "reminders", "到期前多少天提醒客户和客户经理", "0", "60"),
    ("upcoming_days", "7", "int", "首页将到期列表天数", "reminders", "", "1", "90"),
    ("report_export_async_rows", "20000", "int", "后台导出行数阈值", "reports", "超过该行数的报表导出转为后台任务，完成后在消息中提供下载链接", "100", "1000000"),
    ("post_loan_first_days", "15", "int", "首次贷后检查期限（天）", "post_loan", "放款后多少天内完成首次检查", "1", "90"),
    ("post_loan_short_term_months", "6", "int", "短期贷款界限（月）", "post_loan", "期限不超过该月数的贷款按月检查", "1", "60"),
    ("post_loan_short_interval_months", "1", "int", "短期贷款检查间隔（月）", "post_loan", "", "1", "12"),
    ("post_loan_long_interval_months", "3", "int", "其他贷款检查间隔（月）", "post_loan", "", "1", "12"),
    ("post_loan_special_days", "7", "int", "专项检查期限（天）", "post_loan", "逾期或押品异常触发专项检查后多少天内完成", "1", "60"),
    ("class_special_mention_days", "0", "int", "关注类逾期天数下限", "classification", "逾期超过该天数至少为关注", "0", "1000"),
    ("class_substandard_days", "90", "int", "次级类逾期天数下限", "classification", "逾期超过该天数至少为次级", "0", "1000"),
    ("class_doubtful_days", "270", "int", "可疑类逾期天数下限", "classification", "逾期超过该天数至少为可疑", "0", "1000"),
    ("class_loss_days", "360", "int", "损失类逾期天数下限", "classification", "逾期超过该天数为损失", "0", "2000"),
    ("non_accrual_days", "90", "int", "停止计息逾期天数", "classification", "逾期超过该天数的利息不再确认收入", "0", "1000"),
    ("provision_general_pct", "1", "percent", "一般准备计提比例（%）", "provision", "", "0", "100"),
    ("provision_special_mention_pct", "2", "percent", "关注类专项准备（%）", "provision", "", "0", "100"),
    ("provision_substandard_pct", "25", "percent", "次级类专项准备（%）", "provision", "", "0", "100"),
    ("provision_doubtful_pct", "50", "percent", "可疑类专项准备（%）", "provision", "", "0", "100"),
    ("provision_loss_pct", "100", "percent", "损失类专项准备（%）", "provision", "", "0", "100"),
    ("ltv_max_house_pct", "70", "percent", "房产最高抵押率（%）", "collateral", "", "0", "100"),
    ("ltv_max_vehicle_pct", "50", "percent", "车辆最高抵押率（%）", "collateral", "", "0", "100"),
    ("ltv_max_other_pct", "50", "percent", "其他抵质押物最高抵押率（%）", "collateral", "", "0", "100"),
    ("loan_no_prefix", "DK", "str", "业务编号前缀", "numbering", "业务编号形如 DK202611280001", None, None),
    ("customer_no_prefix", "KH", "str", "客户编号前缀", "numbering", "", None, None),
    ("contract_no_pattern", "HT{year}{seq:05d}", "str", "合同编号格式", "numbering", "{year} 年份，{seq} 序号", None, None),
    ("sms_daily_cap", "5", "int", "每个手机号每日短信上限", "messages", "", "0", "100"),
    ("sms_max_attempts", "3", "int", "短信最多发送次数", "messages", "网关失败后自动重试，含第一次在内最多发送的次数", "1", "10"),
    ("sms_retry_backoff_seconds", "60", "int", "短信重试间隔（秒）", "messages", "第 n 次失败后等待 间隔 × 2^(n-1) 秒再重试", "1", "86400"),
    ("reminder_overdue_days", "1,3,7", "str", "逾期提醒天数", "reminders", "逾期第几天提醒，逗号分隔；之后按“逾期提醒间隔”重复", None, None),
    ("reminder_overdue_every_days", "7", "int", "逾期提醒间隔（天）", "reminders", "超过最后一个逾期提醒天数后每隔多少天再提醒；0 表示不再提醒", "0", "365"),
    ("reminder_maturity_days", "30,7", "str", "展期提醒天数", "reminders", "贷款到期前第几天提醒客户经理办理展期（尚无展期申请时），逗号分隔", None, None),
    ("reminder_post_loan_lead_days", "3", "int", "贷后检查提前提醒天数", "reminders", "贷后检查任务到期前多少天提醒客户经理", "0", "60"),
    ("reminder_channels_due_soon", "sms,message", "str", "到期前还款提醒渠道", "reminders", "sms 客户短信、message 站内短消息（客户经理）、email 邮件，逗号分隔；留空表示关闭", None, None),
    ("reminder_channels_due_today", "sms,message", "str", "到期日还款提醒渠道", "reminders", "sms、message、email，逗号分隔；留空表示关闭", None, None),
    ("reminder_channels_overdue", "sms,message", "str", "逾期提醒渠道", "reminders", "sms 客户短信、message 客户经理及负责人站内短消息、email，逗号分隔；留空表示关闭", None, None),
    ("reminder_channels_maturity", "message", "str", "展期提醒渠道", "reminders", "提醒客户经理：message、sms（客户经理手机）、email；留空表示关闭", None, None),
    ("reminder_channels_post_loan_due", "message", "str", "贷后检查到期提醒渠道", "reminders", "message、sms、email；留空表示关闭", None, None),
    ("reminder_channels_post_loan_late", "message", "str", "贷后检查逾期提醒渠道", "reminders", "message、sms、email；留空表示关闭", None, None),
    ("reminder_channels_approval_overdue", "message", "str", "审批超时提醒渠道", "reminders", "提醒审批人：message、sms、email；留空表示关闭", None, None),
    ("archive_borrow_days", "7", "int", "档案借阅默认天数", "archive", "借阅申请的预计归还日期默认为申请日后该天数", "1", "90"),
    ("archive_borrow_max_days", "30", "int", "档案借阅最长天数", "archive", "预计归还日期最晚为申请日后该天数", "1", "365"),
    ("reminder_channels_archive_borrowing_due", "message", "str", "档案借阅逾期提醒渠道", "reminders", "提醒借阅人：message 站内短消息、sms（借阅人手机）、email；留空表示关闭", None, None),
    ("backup_retention_days", "30", "int", "备份保留天数", "system", "每日自动备份（定时任务“数据备份”）保留的天数，更早的备份文件自动删除", "1", "3650"),
]

# code → (name, description, [(code, label, extra)])
_INDUSTRIES = [
    ("A", "农、林、牧、渔业"), ("B", "采矿业"), ("C", "制造业"),
    ("D", "电力、热力、燃气及水生产和供应业"), ("E", "建筑业"), ("F", "批发和零售业"),
    ("G", "交通运输、仓储和邮政业"), ("H", "住宿和餐饮业"),
    ("I", "信息传输、软件和信息技术服务业"), ("J", "金融业"), ("K", "房地产业"),
    ("L", "租赁和商务服务业"), ("M", "科学研究和技术服务业"),
    ("N", "水利、环境和公共设施管理业"), ("O", "居民服务、修理和其他服务业"), ("P", "教育"),
    ("Q", "卫生和社会工作"), ("R", "文化、体育和娱乐业"), ("S", "公共管理、社会保障和社会组织"),
    ("T", "国际组织"),
]

DICTIONARIES = {
    "loan_purpose": ("贷款用途", "用途为禁止类的贷款不得提交", [
        ("working_capital", "经营周转", None), ("purchase_goods", "购货备货", None),
        ("equipment", "购置设备", None), ("agriculture", "农业生产", None),
        ("consumption", "个人消费", None), ("education", "教育支出", None),
        ("medical", "医疗支出", None), ("home_decoration", "房屋装修", None),
        ("securities", "证券投资", "forbidden"), ("futures", "期货交易", "forbidden"),
        ("equity_investment", "股权投资", "forbidden"), ("repay_other_loans", "归还他行贷款", "forbidden"),
    ]),
    "industry": ("行业（GB/T 4754）", "国民经济行业分类门类", [(c, f"{c} {n}", None) for c, n in _INDUSTRIES]),
    "customer_source": ("客户来源", "", [
        ("walk_in", "自行上门", None), ("referral", "客户介绍", None), ("intermediary", "中介推荐", None),
        ("marketing", "市场营销", None), ("online", "网络渠道", None), ("other", "其他", None),
    ]),
    "education": ("学历", "", [
        ("primary", "小学及以下", None), ("junior", "初中", None), ("senior", "高中/中专", None),
        ("college", "大专", None), ("bachelor", "本科", None), ("master", "硕士", None),
        ("doctor", "博士", None),
    ]),
    "marital_status": ("婚姻状况", "", [
        ("single", "未婚", None), ("married", "已婚", None), ("divorced", "离异", None),
        ("widowed", "丧偶", None),
    ]),
    "guarantee_type": ("担保方式", "", [
        ("unsecured", "信用", None), ("guarantee", "保证", None), ("mortgage", "抵押", None),
        ("pledge", "质押", None),
    ]),
    "collateral_type": ("抵质押物类型", "extra 为对应的抵押率参数", [
        ("house", "房产", "ltv_max_house_pct"), ("land", "土地使用权", "ltv_max_other_pct"),
        ("vehicle", "车辆", "ltv_max_vehicle_pct"), ("equipment", "机器设备", "ltv_max_other_pct"),
        ("deposit_receipt", "存单", "ltv_max_other_pct"), ("equity", "股权", "ltv_max_other_pct"),
        ("receivable", "应收账款", "ltv_max_other_pct"), ("other", "其他", "ltv_max_other_pct"),
    ]),
    "fee_type": ("费用类型", "", [
        ("review_fee", "评审费", "income"), ("guarantee_fee", "担保费", "income"),
        ("consulting_fee", "咨询费", "income"), ("service_fee", "服务费", "income"),
        ("default_fee", "违约金", "income"), ("deposit", "保证金", "liability"),
    ]),
    "blacklist_source": ("黑名单来源", "", [
        ("own_default", "本公司逾期违约", None), ("credit_report", "人行征信不良", None),
        ("court", "法院失信被执行人", None), ("peer", "同业共享", None), ("fraud", "欺诈骗贷", None),
        ("other", "其他", None),
    ]),
    "document_type": ("资料类型", "客户与贷款资料清单", [
        ("id_copy", "身份证复印件", None), ("household_register", "户口簿", None),
        ("marriage_certificate", "婚姻证明", None), ("business_licence", "营业执照", None),
        ("financial_statements", "财务报表", None), ("bank_statements", "银行流水", None),
        ("property_certificate", "不动产权证书", None), ("vehicle_licence", "机动车登记证书", None),
        ("loan_application", "借款申请书", None), ("investigation_report", "调查报告", None),
        ("contract", "合同", None), ("photo", "照片", None), ("other", "其他", None),
    ]),
    # 档案管理 (issue #12): extra "certificate" = a collateral certificate (proposed for return to
    # its owner at settlement), "company" = a company's base document (filed in one step).
    "archive_doc_type": ("档案类型", "extra：certificate 抵质押权证（结清时提议退还）；company 企业基础资料", [
        ("loan_contract", "借款合同", None), ("guarantee_contract", "保证合同", None),
        ("mortgage_contract", "抵押合同", None), ("pledge_contract", "质押合同", None), ("iou", "借据", None),
        ("property_certificate", "不动产权证书", "certificate"),
        ("mortgage_certificate", "他项权证 / 不动产登记证明", "certificate"),
        ("vehicle_certificate", "机动车登记证书", "certificate"),
        ("pledge_certificate", "质押权利凭证（存单、股权等）", "certificate"),
        ("business_licence", "营业执照", "company"), ("articles", "公司章程", "company"),
        ("legal_rep_id", "法定代表人身份证复印件", "company"), ("account_permit", "开户许可证", "company"),
        ("shareholder_resolution", "股东会 / 董事会决议", "company"),
        ("financial_statements", "财务报表", "company"),
        ("id_copy", "身份证复印件", None), ("approval_documents", "审批资料", None),
        ("investigation_report", "调查报告", None), ("other", "其他", None),
    ]),
    "archive_level": ("档案等级", "业务档案等级；extra 为保管年限（年），留空为永久保存", [
        ("permanent", "永久", None), ("long", "长期", "30"), ("short", "短期", "10"),
    ]),
}

# 1-year and 5-year LPR (%) from each date they changed, 2019-08-20 (the reformed LPR) to
# 2025-05-20; a date's rate is the last row on or before it.
LPR_RATES = [
    (date(2019, 8, 20), Decimal("4.25"), Decimal("4.85")),
    (date(2019, 9, 20), Decimal("4.20"), Decimal("4.85")),
    (date(2019, 11, 20), Decimal("4.15"), Decimal("4.80")),
    (date(2020, 2, 20), Decimal("4.05"), Decimal("4.75")),
    (date(2020, 4, 20), Decimal("3.85"), Decimal("4.65")),
    (date(2021, 12, 20), Decimal("3.80"), Decimal("4.65")),
    (date(2022, 1, 20), Decimal("3.70"), Decimal("4.60")),
    (date(2022, 5, 20), Decimal("3.70"), Decimal("4.45")),
    (date(2022, 8, 22), Decimal("3.65"), Decimal("4.30")),
    (date(2023, 6, 20), Decimal("3.55"), Decimal("4.20")),
    (date(2023, 8, 21), Decimal("3.45"), Decimal("4.20")),
    (date(2024, 2, 20), Decimal("3.45"), Decimal("3.95")),
    (date(2024, 7, 22), Decimal("3.35"), Decimal("3.85")),
    (date(2024, 10, 21), Decimal("3.10"), Decimal("3.60")),
    (date(2025, 5, 20), Decimal("3.00"), Decimal("3.50")),
]

# 材料签收: the documents each customer kind must hand in (document_type codes).
MATERIALS = {
    "person": ["id_copy", "household_register", "marriage_certificate", "bank_statements"],
    "company": ["business_licence", "id_copy", "financial_statements", "bank_statements"],
    "sole_trader": ["id_copy", "household_register", "business_licence", "bank_statements"],
}

POSITIONS = [
    ("loan_officer", "客户经理"), ("risk_reviewer", "风控专员"), ("approver", "审批人"),
    ("general_manager", "总经理"), ("finance", "财务"), ("archivist", "档案管理员"),
]

# 贷款产品 seeded by init when missing (by code). Rates are annual %, terms in the product's unit.
PRODUCTS = [
    {"code": "GRJYD", "name": "个人经营贷", "methods": "equal_installment,equal_principal", "period": "month",
     "interest_by_days": False, "min_amount": "10000", "max_amount": "1000000", "min_term": 3, "max_term": 36,
     "min_rate": "8", "max_rate": "18", "day_basis": 360, "guarantee_required": False, "fixed_day_allowed": True,
     "description": "面向个体经营者和小微企业主的经营周转贷款，等额本息或等额本金按月还款。",
     "fees": [("review_fee", "percent", "0.5", "at_disbursement", "income")],
     "ltv": [("house", "70"), ("vehicle", "50")]},
    {"code": "QYLDZJ", "name": "企业流动资金贷", "methods": "monthly_interest,quarterly_interest", "period": "month",
     "interest_by_days": False, "min_amount": "100000", "max_amount": "5000000", "min_term": 3, "max_term": 24,
     "min_rate": "8", "max_rate": "15", "day_basis": 360, "guarantee_required": True, "fixed_day_allowed": True,
     "description": "企业短期流动资金贷款，按月或按季付息、到期还本，须提供担保。",
     "fees": [("review_fee", "fixed", "2000", "at_disbursement", "income")],
     "ltv": [("house", "70"), ("equipment", "40")]},
    {"code": "DQQGD", "name": "短期过桥贷", "methods": "bullet", "period": "day", "interest_by_days": True,
     "min_amount": "50000", "max_amount": "3000000", "min_term": 7, "max_term": 180, "min_rate": "10",
     "max_rate": "18", "day_basis": 360, "guarantee_required": True, "fixed_day_allowed": False,
     "description": "短期过桥资金，按实际天数计息，到期一次还本付息。",
     "fees": [("service_fee", "percent", "0.3", "at_disbursement", "income")],
     "ltv": [("house", "60")]},
]

# 审批流程 seeded by init when a business type has none: (type, name, [step]); a step is
# (name, role code, condition (field, op, value) or None, opinion required, time limit hours).
WORKFLOWS = [
    ("loan_application", "贷款审批流程", [
        ("风控审查", "RiskReviewer", None, True, 24),
        ("总经理审批", "Approver", ("amount", ">=", "300000"), True, 48),
    ]),
    ("disbursement", "放款审批流程", [
        ("财务放款", "Finance", None, False, 24),
        ("放款复核", "Approver", None, False, 24),
    ]),
    # 贷后业务申请 (app/services/servicing_requests.py): one flow per kind, editable by admins.
    ("prepayment", "提前还本审批流程", [("风控审查", "RiskReviewer", None, True, 24)]),
    ("extension", "展期审批流程", [("风控审查", "RiskReviewer", None, True, 24),
                             ("总经理审批", "Approver", None, True, 48)]),
    ("interest_waiver", "免息审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("interest_refund", "退息审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("transfer_income", "人工转收入审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("loan_change", "贷款变更审批流程", [("风控审查", "RiskReviewer", None, True, 24)]),
    ("write_off", "核销审批流程", [("风控审查", "RiskReviewer", None, True, 24),
                            ("总经理审批", "Approver", None, True, 48)]),
    ("compensation", "代偿审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("fee_refund", "归还客户费用审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("deposit_return", "退还保证金审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("voucher_reversal", "凭证冲销审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("receipt_reversal", "收款冲正审批流程", [("总经理审批", "Approver", None, True, 48)]),
    ("guarantee_release", "解保审批流程", [("风控审查", "RiskReviewer", None, True, 24)]),
    # 风险管理 (issue #9)
    ("classification", "五级分类人工评定流程", [("风控审查", "RiskReviewer", None, True, 24),
                                      ("总经理审批", "Approver", None, True, 48)]),
    ("credit_line", "客户授信审批流程", [("风控审查", "RiskReviewer", None, True, 24),
                                ("总经理审批", "Approver", None, True, 48)]),
    # 档案管理 (issue #12)
    ("archive_borrowing", "档案借阅审批流程", [("风控审查", "RiskReviewer", None, True, 24),
                                     ("总经理审批", "Approver", None, True, 48)]),
    ("collateral_withdrawal", "抵质押物提取审批流程", [("风控审查", "RiskReviewer", None, True, 24),
                                            ("总经理审批", "Approver", None, True, 48)]),
]
