"""报表中心 (issue #11): one module per report family.

- ``common``      dates of a report (month start/end, last month, year start), the data scope,
                  the principal balance of every loan at one or more dates (from the ledger);
- ``dimensions``  the breakdowns of DOMAIN.md §10 as SQL expressions (the twins of app/domain/bands.py);
- ``regulatory``  金融办 / 人行报表: 贷款业务结构表, 发放贷款结构表, 月度统计表, 贷款快报;
- ``business``    小贷业务报表: 小额贷款台账 and the paginated lists;
- ``dashboard``   我的首页 KPI cards and charts (the same functions as the reports);
- ``finance``     财务报表 and 台账 (收支, 资金分布, 保证金, 银行授信 / 合作);
- ``exports``     big Excel exports as background jobs with a link in the user's messages.

Every figure is an SQL aggregate over the real tables for the chosen dates, within the
user's data scope (``loans.visible_condition``). Money is Decimal.
"""
