"""`onelicense queue` and `onelicense users`: the same service functions as the API, with the reviewer's token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from onelicense.cli import queue, users
from onelicense.flows.dispatcher import dispatch_once
from onelicense.review.roles import Actor, Role
from onelicense.services import applications
from onelicense.services.adapters import registry
from onelicense.store.db import session_scope
from tests.web.conftest import OTHER, OWN, Users, make_users, temporary_database
from tests.web.sample import REGISTERED, USCC, submission_body

runner = CliRunner()


@pytest.fixture
def people(tmp_path: Path) -> Iterator[Users]:
    with temporary_database(tmp_path / "data"):
        yield make_users()


def submit(people: Users, **answers: Any) -> dict[str, str]:
    """An application of `applicant` (with `answers` changed), fanned out (key fields and suggested opinion on each
    review) as the dispatcher does after the request; review ids by department."""
    body = submission_body()
    body["answers"].update(answers)
    with session_scope() as session:
        submitted = applications.submit(
            session,
            Actor(people.ids["applicant"], Role.APPLICANT),
            industry_code=body["industry_code"],
            answers=body["answers"],
            materials=body["materials"],
        )
        reviews = {r.department_code: r.id for r in submitted.reviews}
    assert dispatch_once() == len(reviews)
    return reviews


def run(app: Any, *args: str, token: str | None = None, env: dict[str, str] | None = None) -> Any:
    arguments = [*args, *(["--token", token] if token else [])]
    return runner.invoke(app, arguments, env=env)


def test_reviewer_lists_its_department_queue_as_table_and_json(people: Users) -> None:
    reviews = submit(people)

    table = run(queue.app, "list", token=people.tokens["reviewer"])
    listed = run(queue.app, "list", "--json", token=people.tokens["reviewer"])

    assert table.exit_code == 0, table.output
    assert "审查队列（1 件）" in table.output
    assert "待受理" in table.output
    assert [i["review_id"] for i in json.loads(listed.stdout)] == [reviews[OWN]]


def test_text_typed_by_users_is_shown_as_typed_not_read_as_markup(
    people: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue.console, "width", 200)  # whole cells, not wrapped at 80 columns
    holder = "甲公司[/]"
    with session_scope() as session:  # the name comes from the business registry, as registered there
        registry.import_entries(session, Actor("test-setup", Role.ADMIN), [{**REGISTERED, "name": holder}])
    reviews = submit(people, holder_name=holder)
    token = people.tokens["reviewer"]
    opinion = "请补正[bold]床位数[/]"

    listed = run(queue.app, "list", token=token)
    decided = run(queue.app, "decide", reviews[OWN], "-d", "supplement", "-o", opinion, "-i", "bed_count", token=token)
    shown = run(queue.app, "show", reviews[OWN], token=token)

    for result in (listed, decided, shown):
        assert result.exit_code == 0, result.output
    assert holder in listed.output
    assert holder in shown.output and opinion in shown.output


def test_token_from_the_environment_variable(people: Users) -> None:
    reviews = submit(people)

    result = runner.invoke(queue.app, ["list", "--json"], env={"ONELICENSE_TOKEN": people.tokens["other_reviewer"]})

    assert result.exit_code == 0, result.output
    assert [i["review_id"] for i in json.loads(result.stdout)] == [reviews[OTHER]]


def test_missing_or_unknown_token_is_refused(people: Users) -> None:
    missing = run(queue.app, "list")
    unknown = run(queue.app, "list", token="ol_not-a-token")

    assert missing.exit_code == 1
    assert "访问令牌" in missing.output
    assert unknown.exit_code == 1


def test_show_claim_release_and_decide(people: Users) -> None:
    review_id = submit(people)[OWN]
    token = people.tokens["reviewer"]

    shown = run(queue.app, "show", review_id, token=token)
    claimed = run(queue.app, "claim", review_id, "--json", token=token)
    released = run(queue.app, "release", review_id, token=token)
    decided = run(
        queue.app,
        "decide",
        review_id,
        "--decision",
        "supplement",
        "--opinion",
        "请补正床位数。",
        "--item",
        "bed_count",
        "--json",
        token=token,
    )

    assert shown.exit_code == 0, shown.output
    assert "系统建议意见" in shown.output
    assert "床位数" in shown.output
    assert json.loads(claimed.stdout)["status"] == "claimed"
    assert released.exit_code == 0 and "已退回队列" in released.output
    assert decided.exit_code == 0, decided.output
    detail = json.loads(decided.stdout)
    assert detail["decision"] == "supplement"
    assert [i["key"] for i in detail["requested_items"]] == ["bed_count"]


def test_refusals_print_the_reason_and_exit_1(people: Users) -> None:
    reviews = submit(people)
    reviewer, colleague = people.tokens["reviewer"], people.tokens["reviewer2"]

    other_department = run(queue.app, "show", reviews[OTHER], token=reviewer)
    assert run(queue.app, "claim", reviews[OWN], token=reviewer).exit_code == 0
    taken = run(queue.app, "decide", reviews[OWN], "-d", "approve", "-o", "同意", token=colleague)
    foreign_item = run(
        queue.app,
        "decide",
        reviews[OWN],
        "-d",
        "supplement",
        "-o",
        "补正",
        "-i",
        "fire_acceptance_proof",
        token=reviewer,
    )
    no_opinion = run(queue.app, "decide", reviews[OWN], "-d", "reject", "-o", " ", token=reviewer)
    bad_decision = run(queue.app, "decide", reviews[OWN], "-d", "maybe", "-o", "x", token=reviewer)
    applicant = run(queue.app, "list", token=people.tokens["applicant"])
    bad_status = run(queue.app, "list", "--status", "lost", token=reviewer)

    for result in (other_department, taken, foreign_item, no_opinion, bad_decision, applicant, bad_status):
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    assert "无权查看" in other_department.output
    assert "「reviewer」受理" in taken.output and people.ids["reviewer"] not in taken.output
    assert "fire_acceptance_proof" in foreign_item.output
    assert "不能为空" in no_opinion.output
    assert "approve" in bad_decision.output
    assert "审查队列" in applicant.output
    assert "未知的审查状态" in bad_status.output


def test_users_create_prints_the_token_once_and_it_authenticates(people: Users) -> None:
    created = runner.invoke(users.app, ["create", "--name", "卫健审批员", "--role", "reviewer", "--department", OWN])
    as_json = runner.invoke(users.app, ["create", "-n", "张三", "-r", "applicant", "--uscc", USCC, "--json"])
    listed = runner.invoke(users.app, ["list", "--json"])

    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ol_")
    assert run(queue.app, "list", token=token).exit_code == 0
    assert json.loads(as_json.stdout)["role"] == "applicant"
    without_uscc = runner.invoke(users.app, ["create", "-n", "李四", "-r", "applicant"])
    assert without_uscc.exit_code == 1 and "统一社会信用代码" in without_uscc.output
    names = [u["name"] for u in json.loads(listed.stdout)]
    assert "卫健审批员" in names and "张三" in names
    assert token not in listed.stdout


def test_users_names_are_shown_as_typed_not_read_as_markup(people: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users.console, "width", 200)
    created = runner.invoke(users.app, ["create", "--name", "审批员[/]", "--role", "reviewer", "--department", OWN])
    listed = runner.invoke(users.app, ["list"])

    assert created.exit_code == 0, created.output
    assert "审批员[/]" in created.output
    assert listed.exit_code == 0, listed.output
    assert "审批员[/]" in listed.output


def test_users_create_refuses_bad_roles_and_departments(people: Users) -> None:
    cases = [
        (["--name", "x", "--role", "system"], "未知的角色"),
        (["--name", "x", "--role", "reviewer"], "部门"),
        (["--name", "x", "--role", "reviewer", "--department", "MARS"], "未知的部门"),
        (["--name", "x", "--role", "applicant", "--department", OWN], "部门"),
        (["--name", " ", "--role", "applicant", "--uscc", USCC], "不能为空"),
        (["--name", "x", "--role", "applicant", "--uscc", "000000000000000000"], "统一社会信用代码"),
    ]
    for args, message in cases:
        result = runner.invoke(users.app, ["create", *args])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)


def test_users_revoke_stops_the_token_for_the_cli(people: Users) -> None:
    token = people.tokens["reviewer"]
    assert run(queue.app, "list", token=token).exit_code == 0

    revoked = runner.invoke(users.app, ["revoke", people.ids["reviewer"]])
    listed = json.loads(runner.invoke(users.app, ["list", "--json"]).stdout)

    assert revoked.exit_code == 0, revoked.output
    assert "已停用" in revoked.output
    refused = run(queue.app, "list", token=token)
    assert refused.exit_code == 1
    assert "访问令牌无效" in refused.output
    assert next(u for u in listed if u["id"] == people.ids["reviewer"])["revoked_at"]
    assert run(queue.app, "list", token=people.tokens["reviewer2"]).exit_code == 0
    unknown = runner.invoke(users.app, ["revoke", "no-such-user"])
    assert unknown.exit_code == 1 and "不存在" in unknown.output
