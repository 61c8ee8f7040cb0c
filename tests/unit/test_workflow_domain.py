"""The approval state machine (app/domain/workflow.py), without a database: conditions,
definition checks, which steps apply, where approve / return / reject lead, which actions a
step allows, and the committee (贷审会) tally in both voting modes."""
import itertools
from decimal import Decimal

import pytest

from app.domain import workflow as flow
from app.domain.errors import DomainError
from app.domain.workflow import APPROVE, APPROVED, REJECT, REJECTED, RETURN, RETURNED, RUNNING, Condition, Step


def role_step(name="风控审查", role="风控审查", **kw):
    return Step(name=name, actor_kind="role", actor=role, **kw)


def committee(voters=(1, 2, 3), quorum=2, mode="quorum_veto", **kw):
    return Step(name="贷审会", actor_kind="role", voters=tuple(voters), quorum=quorum, committee_mode=mode, **kw)


BIG = Condition("amount", ">=", "300000")


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("op, value, actual, expected", [
    (">=", "300000", "300000.00", True),
    (">=", "300000", "299999.99", False),
    (">", "300000", "300000.00", False),
    (">", "300000", "300000.01", True),
    ("<=", "300000", "300000.00", True),
    ("<=", "300000", "300000.01", False),
    ("<", "300000", "299999.99", True),
    ("<", "300000", "300000", False),
    ("==", "300000", "300000.00", True),   # numeric, not textual, equality
    ("==", "300000", "300001", False),
    ("!=", "300000", "300000.00", False),
    ("!=", "300000", "1", True),
    (">=", "12", 12, True),                 # int context values (term)
    (">=", "8.5", Decimal("8.50"), True),   # Decimal context values (annual rate)
])
def test_numeric_comparisons(op, value, actual, expected):
    assert Condition("amount", op, value).holds({"amount": actual}) is expected


@pytest.mark.parametrize("op, value, actual, expected", [
    ("in", "GRJYD,QYLDZJ", "GRJYD", True),
    ("in", "GRJYD，QYLDZJ", "QYLDZJ", True),      # a Chinese comma separates too
    ("in", " GRJYD , QYLDZJ ,", "QYLDZJ", True),  # blanks and empty items are ignored
    ("in", "GRJYD,QYLDZJ", "DQQGD", False),
    ("in", "GRJYD,QYLDZJ", "GRJ", False),         # whole items only
    ("not_in", "GRJYD,QYLDZJ", "DQQGD", True),
    ("not_in", "GRJYD,QYLDZJ", "GRJYD", False),
    ("in", "3,6,12", 12, True),                   # compared as text
])
def test_in_and_not_in(op, value, actual, expected):
    assert Condition("product_code", op, value).holds({"product_code": actual}) is expected


def test_text_values_compare_as_text():
    assert Condition("method", "==", "bullet").holds({"method": "bullet"}) is True
    assert Condition("method", "!=", "bullet").holds({"method": "equal_installment"}) is True
    assert Condition("customer_kind", "==", "company").holds({"customer_kind": "person"}) is False


def test_a_missing_field_or_unknown_operator_is_refused():
    with pytest.raises(DomainError) as err:
        Condition("nothing", ">=", "1").holds({"amount": "5"})
    assert err.value.field == "condition_field" and "nothing" in err.value.message
    with pytest.raises(DomainError) as err:
        Condition("amount", "~", "1").holds({"amount": "5"})
    assert err.value.field == "condition_op" and "~" in err.value.message


def test_describe_uses_the_chinese_operator():
    assert BIG.describe() == "amount ≥ 300000"
    assert Condition("product_code", "in", "A,B").describe() == "product_code 属于 A,B"


@pytest.mark.parametrize("value", ["300,000", "30万"])
def test_an_ordering_condition_on_a_non_number_is_refused(value):
    with pytest.raises(DomainError):
        Condition("amount", ">=", value).holds({"amount": "50000.00"})


# --------------------------------------------------------------------------- steps and definitions


def test_step_actions_follow_its_flags():
    assert role_step().allowed_actions() == [APPROVE, RETURN, REJECT]
    assert role_step(allow_return=False).allowed_actions() == [APPROVE, REJECT]
    assert role_step(allow_reject=False).allowed_actions() == [APPROVE, RETURN]
    assert role_step(allow_return=False, allow_reject=False).allowed_actions() == [APPROVE]
    assert not role_step().is_committee and committee().is_committee


def test_valid_definitions_pass():
    flow.check_definition([role_step()])
    flow.check_definition([
        role_step(), Step("指定用户", "user", "7"), Step("部门负责人", "department_head"),
        Step("申请人确认", "applicant"), committee(), committee(mode="majority", quorum=1),
        role_step("总经理审批", "审批人", condition=BIG)])


@pytest.mark.parametrize("steps, words", [
    ([], "至少需要一个步骤"),
    ([role_step(name="  ")], "第 1 步缺少名称"),
    ([role_step(), Step("X", "robot", "a")], "第 2 步“X”的审批人类型无效"),
    ([role_step(role="")], "未指定审批角色或用户"),
    ([Step("指定用户", "user", "")], "未指定审批角色或用户"),
    ([committee(quorum=0)], "法定人数 0 应在 1 至委员人数 3 之间"),
    ([committee(quorum=4)], "法定人数 4 应在 1 至委员人数 3 之间"),
    ([committee(mode="unanimous")], "表决方式无效"),
])
def test_definitions_that_could_never_finish_are_refused(steps, words):
    with pytest.raises(DomainError) as err:
        flow.check_definition(steps)
    assert words in err.value.message


# --------------------------------------------------------------------------- which steps apply


FIVE = [
    role_step("风控审查"),
    role_step("部门经理", "部门经理", condition=Condition("amount", ">=", "100000")),
    role_step("总经理审批", "审批人", condition=BIG, return_to="previous"),
    committee(condition=Condition("amount", ">=", "1000000"), return_to="previous"),
    role_step("合规复核", "合规", return_to="previous"),
]


@pytest.mark.parametrize("amount, indexes", [
    ("50000", [0, 4]), ("100000", [0, 1, 4]), ("300000", [0, 1, 2, 4]), ("1000000", [0, 1, 2, 3, 4]),
])
def test_applicable_steps_depend_on_the_context(amount, indexes):
    assert flow.applicable(FIVE, {"amount": amount}) == indexes
    assert flow.first_index(FIVE, {"amount": amount}) == 0


def test_no_applicable_step_is_refused():
    steps = [role_step(condition=BIG)]
    with pytest.raises(DomainError) as err:
        flow.first_index(steps, {"amount": "1"})
    assert "没有任何适用的审批步骤" in err.value.message
    # The first applicable step need not be the first step.
    assert flow.first_index([role_step(condition=BIG), role_step("复核")], {"amount": "1"}) == 1


def test_approve_walks_the_applicable_steps_then_approves():
    ctx = {"amount": "300000"}
    walked, status, index = [], RUNNING, flow.first_index(FIVE, ctx)
    while status == RUNNING:
        walked.append(index)
        status, index = flow.after_approve(FIVE, ctx, index)
    assert walked == [0, 1, 2, 4] and (status, index) == (APPROVED, None)
    assert flow.after_approve(FIVE, {"amount": "1"}, 0) == (RUNNING, 4)
    assert flow.after_approve([role_step()], {}, 0) == (APPROVED, None)


def test_return_goes_to_the_applicant_or_to_the_previous_applicable_step():
    ctx = {"amount": "300000"}
    assert flow.after_return(FIVE, ctx, 0) == (RETURNED, None)   # return_to applicant
    assert flow.after_return(FIVE, ctx, 1) == (RETURNED, None)   # return_to applicant
    assert flow.after_return(FIVE, ctx, 2) == (RUNNING, 1)       # previous
    assert flow.after_return(FIVE, ctx, 4) == (RUNNING, 2)       # skips the committee (not applicable)
    assert flow.after_return(FIVE, {"amount": "1"}, 4) == (RUNNING, 0)
    # "previous" from the first applicable step has nowhere to go: back to the applicant.
    first_previous = [role_step(condition=BIG), role_step("复核", return_to="previous")]
    assert flow.after_return(first_previous, {"amount": "1"}, 1) == (RETURNED, None)


# --------------------------------------------------------------------------- actions


def test_allowed_actions_pass_with_the_opinions_they_need():
    step = role_step()
    flow.check_action(step, APPROVE, None)
    flow.check_action(step, APPROVE, "")
    flow.check_action(step, RETURN, "材料不全")
    flow.check_action(step, REJECT, "征信不良")
    flow.check_action(role_step(opinion_required=True), APPROVE, "同意")


@pytest.mark.parametrize("step, action, opinion, words, field", [
    (role_step(), "vote", "x", "未知的审批操作“vote”", None),
    (role_step(), "submit", "x", "未知的审批操作", None),
    (role_step(), "", "x", "未知的审批操作", None),
    (role_step(allow_return=False), RETURN, "x", "不允许“退回”", None),
    (role_step(allow_reject=False), REJECT, "x", "不允许“否决”", None),
    (role_step(), RETURN, None, "“退回”须说明理由", "opinion"),
    (role_step(), RETURN, "   ", "“退回”须说明理由", "opinion"),
    (role_step(), REJECT, "", "“否决”须说明理由", "opinion"),
    (role_step(opinion_required=True), APPROVE, " \n ", "请填写审批意见", "opinion"),
])
def test_refused_actions(step, action, opinion, words, field):
    with pytest.raises(DomainError) as err:
        flow.check_action(step, action, opinion)
    assert words in err.value.message and err.value.field == field


def test_committee_steps_allow_the_same_actions():
    flow.check_action(committee(), APPROVE, None)
    with pytest.raises(DomainError):
        flow.check_action(committee(allow_reject=False), REJECT, "否")


# --------------------------------------------------------------------------- committee tally


def test_quorum_veto_two_of_three():
    step = committee((1, 2, 3), 2)
    assert flow.tally(step, {}) is None
    assert flow.tally(step, {1: APPROVE}) is None
    assert flow.tally(step, {1: APPROVE, 2: APPROVE}) == APPROVED
    assert flow.tally(step, {1: REJECT}) == REJECTED                 # one veto is enough
    assert flow.tally(step, {1: APPROVE, 2: APPROVE, 3: REJECT}) == REJECTED
    assert flow.tally(step, {1: APPROVE, 3: RETURN}) == RETURNED


def test_quorum_of_one_and_of_everyone():
    assert flow.tally(committee((1, 2, 3), 1), {2: APPROVE}) == APPROVED
    unanimous = committee((1, 2, 3), 3)
    assert flow.tally(unanimous, {1: APPROVE, 2: APPROVE}) is None
    assert flow.tally(unanimous, {1: APPROVE, 2: APPROVE, 3: APPROVE}) == APPROVED


def test_majority_mode():
    five = committee((1, 2, 3, 4, 5), 1, mode="majority")
    assert flow.tally(five, {1: APPROVE}) is None                   # the quorum plays no part
    assert flow.tally(five, {1: APPROVE, 2: APPROVE}) is None
    assert flow.tally(five, {1: APPROVE, 2: APPROVE, 3: APPROVE}) == APPROVED
    assert flow.tally(five, {1: REJECT}) is None                    # no veto in majority mode
    assert flow.tally(five, {1: REJECT, 2: REJECT}) is None
    assert flow.tally(five, {1: REJECT, 2: REJECT, 3: REJECT}) == REJECTED
    assert flow.tally(five, {1: APPROVE, 2: REJECT, 3: APPROVE, 4: REJECT}) is None
    assert flow.tally(five, {1: APPROVE, 2: REJECT, 3: APPROVE, 4: REJECT, 5: APPROVE}) == APPROVED
    assert flow.tally(five, {1: APPROVE, 2: RETURN}) == RETURNED
    four = committee((1, 2, 3, 4), 2, mode="majority")
    assert flow.tally(four, {1: APPROVE, 2: APPROVE}) is None       # half is not a majority
    assert flow.tally(four, {1: APPROVE, 2: APPROVE, 3: REJECT, 4: REJECT}) == REJECTED  # a tie rejects
    assert flow.tally(four, {1: REJECT, 2: REJECT}) == REJECTED     # the approvals can no longer win


def test_everyone_voted_without_reaching_the_quorum_rejects():
    # Not reachable through check_definition (quorum ≤ voters), so built by hand: tally's own guard.
    step = Step("贷审会", voters=(1, 2, 3), quorum=4)
    assert flow.tally(step, {1: APPROVE, 2: APPROVE}) is None
    assert flow.tally(step, {1: APPROVE, 2: APPROVE, 3: APPROVE}) == REJECTED


def _expected(step, votes):
    """The tally rules restated (docstring of flow.tally) to check every vote combination."""
    values = list(votes.values())
    if RETURN in values:
        return RETURNED
    approvals, rejections, total = values.count(APPROVE), values.count(REJECT), len(step.voters)
    if step.committee_mode == "majority":
        if approvals * 2 > total:
            return APPROVED
        if rejections * 2 >= total:
            return REJECTED
    else:
        if rejections:
            return REJECTED
        if approvals >= step.quorum:
            return APPROVED
    return REJECTED if len(values) == total else None


@pytest.mark.parametrize("mode, voters, quorum", [
    ("quorum_veto", 3, 1), ("quorum_veto", 3, 2), ("quorum_veto", 3, 3), ("quorum_veto", 4, 3),
    ("majority", 3, 1), ("majority", 4, 2), ("majority", 5, 3),
])
def test_every_vote_combination(mode, voters, quorum):
    step = committee(range(1, voters + 1), quorum, mode)
    flow.check_definition([step])
    for combo in itertools.product((None, APPROVE, REJECT, RETURN), repeat=voters):
        votes = {voter: action for voter, action in zip(step.voters, combo) if action}
        result = flow.tally(step, votes)
        assert result == _expected(step, votes), (combo, result)
        if len(votes) == voters:
            assert result is not None, combo   # once everyone voted there is always a result
