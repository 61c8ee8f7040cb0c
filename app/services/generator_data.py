"""Fixed reference data of the portfolio generator (app/services/generator.py): the branches
it opens with their county codes and plates, banks, and the mixes it draws from."""

# code, name, city, district, GB/T 2260 county code, plate prefix, province abbreviation
BRANCHES = [
    ("GEN01", "北京海淀营业部", "北京市", "海淀区", "110108", "京", "京"),
    ("GEN02", "上海浦东营业部", "上海市", "浦东新区", "310115", "沪", "沪"),
    ("GEN03", "广州天河营业部", "广州市", "天河区", "440106", "粤A", "粤"),
    ("GEN04", "深圳南山营业部", "深圳市", "南山区", "440305", "粤B", "粤"),
    ("GEN05", "杭州西湖营业部", "杭州市", "西湖区", "330106", "浙A", "浙"),
    ("GEN06", "南京鼓楼营业部", "南京市", "鼓楼区", "320106", "苏A", "苏"),
    ("GEN07", "成都锦江营业部", "成都市", "锦江区", "510104", "川A", "川"),
    ("GEN08", "武汉江汉营业部", "武汉市", "江汉区", "420103", "鄂A", "鄂"),
    ("GEN09", "西安雁塔营业部", "西安市", "雁塔区", "610113", "陕A", "陕"),
    ("GEN10", "重庆渝中营业部", "重庆市", "渝中区", "500103", "渝A", "渝"),
    ("GEN11", "天津和平营业部", "天津市", "和平区", "120101", "津A", "津"),
    ("GEN12", "苏州姑苏营业部", "苏州市", "姑苏区", "320508", "苏E", "苏"),
]

BANKS = ["中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行", "中国邮政储蓄银行",
         "兴业银行", "浦发银行", "中信银行", "民生银行", "平安银行"]

MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "191", "198", "199"]

# customer kind → weight
CUSTOMER_KINDS = [("person", 65), ("sole_trader", 20), ("company", 15)]
SOURCES = [("walk_in", 35), ("referral", 25), ("intermediary", 10), ("marketing", 15), ("online", 10),
           ("other", 5)]
EDUCATION = [("junior", 15), ("senior", 25), ("college", 25), ("bachelor", 28), ("master", 6), ("doctor", 1)]
MARITAL = [("married", 70), ("single", 20), ("divorced", 8), ("widowed", 2)]
INDUSTRIES = [("A", 8), ("C", 18), ("E", 8), ("F", 30), ("G", 8), ("H", 12), ("I", 5), ("L", 4), ("O", 7)]
SCOPES = {
    "A": "农作物种植、畜禽养殖及农产品初加工", "C": "金属制品、塑料制品的生产与销售", "E": "房屋建筑工程、装饰装修工程施工",
    "F": "日用百货、五金交电、建材的批发与零售", "G": "普通货物道路运输、仓储服务", "H": "餐饮服务、住宿服务",
    "I": "软件开发、信息技术咨询服务", "L": "企业管理咨询、会议及展览服务", "O": "家电维修、美容美发、洗染服务",
}
TRADE_NAMES = {"A": "种养殖场", "C": "加工厂", "E": "装饰工程部", "F": "商行", "G": "货运部", "H": "餐馆",
               "I": "网络工作室", "L": "咨询服务部", "O": "维修部"}

# product code → {customer kind: weight}; the product mix by kind of borrower.
PRODUCT_MIX = {
    "person": [("GRJYD", 55), ("NHXED", 20), ("QZFXD", 15), ("DQQGD", 10)],
    "sole_trader": [("GRJYD", 60), ("NHXED", 15), ("QZFXD", 10), ("DQQGD", 15)],
    "company": [("QYLDZJ", 60), ("GRJYD", 20), ("DQQGD", 20)],
}
# product code → (methods with weights, terms with weights, amount range, rate range, guarantee mix)
PRODUCT_TERMS = {
    "GRJYD": {"methods": [("equal_installment", 65), ("equal_principal", 35)],
              "terms": [(3, 5), (6, 15), (12, 40), (18, 10), (24, 20), (36, 10)],
              "amount": (20_000, 1_000_000), "rate": ("8", "18"),
              "guarantee": [("unsecured", 45), ("guarantee", 30), ("mortgage", 20), ("guarantee,mortgage", 5)]},
    "QYLDZJ": {"methods": [("monthly_interest", 60), ("quarterly_interest", 40)],
               "terms": [(6, 20), (12, 50), (18, 10), (24, 20)],
               "quarters": [(2, 20), (4, 50), (6, 10), (8, 20)],
               "amount": (100_000, 5_000_000), "rate": ("8", "15"),
               "guarantee": [("guarantee", 50), ("mortgage", 30), ("guarantee,mortgage", 10), ("pledge", 10)]},
    "DQQGD": {"methods": [("bullet", 100)], "terms": [(7, 10), (15, 15), (30, 25), (60, 20), (90, 20), (180, 10)],
              "amount": (50_000, 3_000_000), "rate": ("10", "18"),
              "guarantee": [("mortgage", 70), ("guarantee,mortgage", 20), ("pledge", 10)]},
    "QZFXD": {"methods": [("interest_first", 100)], "terms": [(3, 20), (6, 40), (12, 40)],
              "amount": (10_000, 500_000), "rate": ("8", "18"),
              "guarantee": [("unsecured", 40), ("guarantee", 40), ("pledge", 20)]},
    "NHXED": {"methods": [("flat", 100)], "terms": [(6, 20), (12, 50), (24, 30)],
              "amount": (5_000, 200_000), "rate": ("6", "10"),
              "guarantee": [("unsecured", 50), ("guarantee", 50)]},
}
# Products the generator adds so that every repayment method occurs (the seeded three have
# the others). 自由还本付息 (custom) has no product: a loan cannot store a custom plan.
EXTRA_PRODUCTS = [
    {"code": "QZFXD", "name": "前置付息贷", "methods": "interest_first", "period": "month", "interest_by_days": False,
     "min_amount": "10000", "max_amount": "500000", "min_term": 3, "max_term": 12, "min_rate": "8",
     "max_rate": "18", "day_basis": 360, "guarantee_required": False, "fixed_day_allowed": False,
     "description": "每期利息于期初收取、到期还本的短期经营贷款（利息不从本金中扣除）。"},
    {"code": "NHXED", "name": "农户小额贷", "methods": "flat", "period": "month", "interest_by_days": False,
     "min_amount": "5000", "max_amount": "200000", "min_term": 6, "max_term": 24, "min_rate": "6",
     "max_rate": "10", "day_basis": 360, "guarantee_required": False, "fixed_day_allowed": True,
     "description": "面向农户和个体户的小额贷款，等本等息按月还款。"},
]
PURPOSES = {"person": [("working_capital", 40), ("purchase_goods", 15), ("consumption", 15), ("education", 5),
                       ("medical", 5), ("home_decoration", 10), ("agriculture", 10)],
            "sole_trader": [("working_capital", 55), ("purchase_goods", 25), ("equipment", 10), ("agriculture", 10)],
            "company": [("working_capital", 60), ("purchase_goods", 25), ("equipment", 15)]}
RELATIONS = ["配偶", "父母", "兄弟姐妹", "朋友", "合作伙伴", "同事", "其他亲属"]
# Days overdue of a loan that stopped paying: (low, high, weight); every five-level class occurs.
OVERDUE_BUCKETS = [(1, 30, 45), (31, 90, 20), (91, 270, 17), (271, 360, 8), (361, 900, 10)]
