"""REST APIs for customers, partner banks and intermediaries (/api/v1/customer|bank|intermediary/).

Same data scope and the same validation as the screens: another branch's customer is a
404 and never listed; a rule the service refuses is a 422 naming the field, in Chinese,
and nothing is saved.
"""
from sqlalchemy import func, select

from ..conftest import TEST_PASSWORD

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(first17):
    """Complete 17 digits with the GB 11643 check digit (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return first17 + "10X98765432"[total % 11]


def wrong_check_digit(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


PERSON_ID = id_number("11010119900307123")     # 北京东城, born 1990-03-07, male
OTHER_ID = id_number("31011519850612234")      # 上海浦东, born 1985-06-12, female


def person(name="张三", number=PERSON_ID, mobile="13800138000", **extra):
    return dict({"kind": "person", "name": name, "id_number": number, "mobile": mobile}, **extra)


def customer_count(app):
    from app.extensions import db
    from app.models import Customer

    with app.app_context():
        count = db.session.execute(select(func.count(Customer.id))).scalar()
        db.session.remove()
    return count


def user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def create(client, **data):
    response = client.post("/api/v1/customer/", json=person(**data) if "kind" not in data else data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# -- customers: create and validate -----------------------------------------------------

def test_officer_creates_a_person_customer(app, login_as):
    client = login_as("officer_a")
    response = client.post("/api/v1/customer/", json=person(id_number=PERSON_ID.lower()))
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]

    shown = client.get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert shown["customer_no"].startswith("KH")
    assert shown["kind"] == "person"
    assert shown["id_number"] == PERSON_ID
    assert shown["gender"] == "male" and shown["birth_date"] == "1990-03-07"
    assert shown["branch"]["name"] == "北京分公司"
    assert shown["officer"]["username"] == "officer_a"
    assert shown["is_blacklisted"] is False
    assert shown["status"] == "active"

    listed = client.get("/api/v1/customer/").get_json()
    assert listed["count"] == 1 and listed["result"][0]["customer_no"] == shown["customer_no"]


def test_read_only_fields_are_refused(app, login_as):
    client = login_as("officer_a")
    response = client.post("/api/v1/customer/", json=person(customer_no="KH1", is_blacklisted=True))
    assert response.status_code == 422
    assert set(response.get_json()["message"]) == {"customer_no", "is_blacklisted"}
    assert customer_count(app) == 0


def test_bad_id_checksum_is_a_422_in_chinese_and_saves_nothing(app, login_as):
    client = login_as("officer_a")
    bad = wrong_check_digit(PERSON_ID)
    response = client.post("/api/v1/customer/", json=person(number=bad))
    assert response.status_code == 422
    body = response.get_json()
    assert list(body["message"]) == ["id_number"]
    assert "校验位不正确" in body["message"]["id_number"][0] and bad in body["message"]["id_number"][0]
    assert customer_count(app) == 0


def test_duplicate_id_number_names_the_existing_customer(app, login_as):
    create(login_as("officer_a"), name="张三")
    # Even from another branch: the ID number is unique company-wide.
    response = login_as("officer_b").post("/api/v1/customer/", json=person(name="李四"))
    assert response.status_code == 422
    message = response.get_json()["message"]["id_number"][0]
    assert "张三" in message and "KH" in message and "不能重复建档" in message
    assert customer_count(app) == 1


def test_invalid_kind_and_missing_name(app, login_as):
    client = login_as("officer_a")
    response = client.post("/api/v1/customer/", json=person(kind="alien"))
    assert response.status_code == 422
    assert "客户类型" in response.get_json()["message"]["kind"][0]
    response = client.post("/api/v1/customer/", json={"kind": "person", "id_number": PERSON_ID, "mobile": "13800138000"})
    assert response.status_code == 422
    assert "name" in response.get_json()["message"]
    response = client.post("/api/v1/customer/", json=person(name="  "))
    assert response.status_code == 422
    assert response.get_json()["message"] == {"name": ["请填写客户姓名"]}
    assert customer_count(app) == 0


def test_company_customer(app, login_as):
    from stdnum.cn import uscc

    code = "91110108MA01" + "ABCDE"
    code += uscc.calc_check_digit(code)
    client = login_as("officer_a")
    response = client.post("/api/v1/customer/", json={
        "kind": "company", "name": "北京某某科技有限公司", "credit_code": code, "legal_rep_name": "王五",
        "registered_capital": "5000000", "founded_on": "2015-04-01"})
    assert response.status_code == 201, response.get_json()
    shown = client.get(f"/api/v1/customer/{response.get_json()['id']}").get_json()["result"]
    assert shown["credit_code"] == code and shown["id_number"] is None
    response = client.post("/api/v1/customer/", json={
        "kind": "company", "name": "缺法人公司", "credit_code": code})
    assert response.status_code == 422
    assert "legal_rep_name" in response.get_json()["message"]


def test_officer_defaults_to_caller_or_is_given_by_id(app, login_as):
    admin = login_as("admin")
    pk = create(admin, officer=user_id(app, "officer_b"))
    shown = admin.get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert shown["officer"]["username"] == "officer_b" and shown["branch"]["name"] == "上海分公司"
    # An officer cannot hand a customer to an officer of a branch they do not see.
    response = login_as("officer_a").post("/api/v1/customer/", json=person(
        number=OTHER_ID, officer=user_id(app, "officer_b")))
    assert response.status_code == 422
    assert "officer" in response.get_json()["message"]
    assert customer_count(app) == 1


# -- customers: edit, scope, delete ----------------------------------------------------

def test_edit_is_checked_and_keeps_the_number(app, login_as):
    client = login_as("officer_a")
    pk = create(client)
    number = client.get(f"/api/v1/customer/{pk}").get_json()["result"]["customer_no"]

    response = client.put(f"/api/v1/customer/{pk}", json={"mobile": "13900139000", "monthly_income": "8000"})
    assert response.status_code == 200, response.get_json()
    shown = client.get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert shown["mobile"] == "13900139000" and shown["customer_no"] == number
    assert shown["monthly_income"] in ("8000.00", 8000.0, "8000")

    response = client.put(f"/api/v1/customer/{pk}", json={"mobile": "12345", "monthly_income": "-1"})
    assert response.status_code == 422
    assert list(response.get_json()["message"]) == ["mobile"]
    assert client.get(f"/api/v1/customer/{pk}").get_json()["result"]["mobile"] == "13900139000"

    response = client.put(f"/api/v1/customer/{pk}", json={"customer_no": "KH000"})
    assert response.status_code == 422  # read-only


def test_edit_of_the_id_number_rederives_gender_and_birth_date(app, login_as):
    client = login_as("officer_a")
    pk = create(client, name="李四", number=OTHER_ID)
    corrected = id_number("11010119900307125")  # another sex and birth date than OTHER_ID
    response = client.put(f"/api/v1/customer/{pk}", json={"id_number": corrected})
    assert response.status_code == 200, response.get_json()
    shown = client.get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert (shown["id_number"], shown["gender"], shown["birth_date"]) == (corrected, "male", "1990-03-07")


def test_edit_to_a_duplicate_id_number_is_a_422(app, login_as):
    client = login_as("officer_a")
    create(client, name="张三")
    other = create(client, name="李四", number=OTHER_ID, mobile="13900139000")
    response = client.put(f"/api/v1/customer/{other}", json={"id_number": PERSON_ID})
    assert response.status_code == 422, response.get_json()
    assert "张三" in response.get_json()["message"]["id_number"][0]
    assert client.get(f"/api/v1/customer/{other}").get_json()["result"]["id_number"] == OTHER_ID


def test_other_branch_cannot_see_or_touch_a_customer(app, login_as):
    pk = create(login_as("officer_a"))
    other = login_as("officer_b")
    assert other.get(f"/api/v1/customer/{pk}").status_code == 404
    assert other.put(f"/api/v1/customer/{pk}", json={"mobile": "13900139000"}).status_code == 404
    assert other.get("/api/v1/customer/").get_json()["count"] == 0
    # officer_b has no can_delete at all (403); an admin-made role with it still gets 404:
    assert other.delete(f"/api/v1/customer/{pk}").status_code in (403, 404)
    assert login_as("admin").get(f"/api/v1/customer/{pk}").status_code == 200
    assert login_as("manager").get("/api/v1/customer/").get_json()["count"] == 1


def test_only_admins_delete_customers(app, login_as):
    pk = create(login_as("officer_a"))
    assert login_as("officer_a").delete(f"/api/v1/customer/{pk}").status_code == 403
    assert login_as("manager").delete(f"/api/v1/customer/{pk}").status_code == 403
    admin = login_as("admin")
    assert admin.delete(f"/api/v1/customer/{pk}").status_code == 200
    assert admin.get(f"/api/v1/customer/{pk}").status_code == 404
    assert customer_count(app) == 0


def test_manager_reads_but_cannot_write(app, login_as):
    pk = create(login_as("officer_a"))
    manager = login_as("manager")
    assert manager.get(f"/api/v1/customer/{pk}").status_code == 200
    assert manager.get("/api/v1/customer/_info").status_code == 200
    assert manager.post("/api/v1/customer/", json=person(number=OTHER_ID)).status_code == 403
    assert manager.put(f"/api/v1/customer/{pk}", json={"mobile": "13900139000"}).status_code == 403
    assert customer_count(app) == 1


def test_anonymous_gets_401(app, client):
    assert client.get("/api/v1/customer/").status_code == 401
    assert client.post("/api/v1/customer/", json=person()).status_code == 401


def test_search_filters(app, login_as):
    client = login_as("officer_a")
    create(client, name="张三")
    create(client, name="李四", number=OTHER_ID, mobile="13900139000")
    query = "(filters:!((col:name,opr:ct,value:'李')))"
    body = client.get(f"/api/v1/customer/?q={query}").get_json()
    assert body["count"] == 1 and body["result"][0]["name"] == "李四"
    query = f"(filters:!((col:id_number,opr:eq,value:'{PERSON_ID}')))"
    body = client.get(f"/api/v1/customer/?q={query}").get_json()
    assert body["count"] == 1 and body["result"][0]["name"] == "张三"
    info = client.get("/api/v1/customer/_info").get_json()
    assert {"can_get", "can_post", "can_put"} <= set(info["permissions"])
    assert "can_delete" not in info["permissions"]
    assert set(info["filters"]) >= {"name", "customer_no", "id_number", "credit_code", "mobile", "kind", "status"}


# -- JWT ------------------------------------------------------------------------------

def jwt_client(app, username):
    client = app.test_client()
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": TEST_PASSWORD, "provider": "db"})
    assert response.status_code == 200, response.get_json()
    return client, {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_jwt_login_and_scope(app):
    client_a, auth_a = jwt_client(app, "officer_a")
    response = client_a.post("/api/v1/customer/", json=person(), headers=auth_a)
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert client_a.get(f"/api/v1/customer/{pk}", headers=auth_a).get_json()["result"]["officer"]["username"] == "officer_a"

    client_b, auth_b = jwt_client(app, "officer_b")
    assert client_b.get(f"/api/v1/customer/{pk}", headers=auth_b).status_code == 404
    assert client_b.get("/api/v1/customer/", headers=auth_b).get_json()["count"] == 0
    assert client_b.put(f"/api/v1/customer/{pk}", json={"name": "改名"}, headers=auth_b).status_code == 404
    assert client_b.delete(f"/api/v1/customer/{pk}", headers=auth_b).status_code == 403

    response = client_b.post("/api/v1/customer/", json=person(number=wrong_check_digit(OTHER_ID)), headers=auth_b)
    assert response.status_code == 422 and "id_number" in response.get_json()["message"]


# -- banks and intermediaries ----------------------------------------------------------

def test_bank_crud(app, login_as):
    finance = login_as("finance")
    response = finance.post("/api/v1/bank/", json={"name": "中国工商银行", "branch_name": "北京分行",
                                                   "contact_phone": "010-12345678"})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert finance.put(f"/api/v1/bank/{pk}", json={"is_active": False}).status_code == 200
    shown = finance.get(f"/api/v1/bank/{pk}").get_json()["result"]
    assert shown["is_active"] is False and shown["name"] == "中国工商银行"
    assert finance.post("/api/v1/bank/", json={"name": " "}).get_json()["message"] == {"name": ["请填写银行名称"]}

    officer = login_as("officer_a")  # reads banks, cannot change them
    assert officer.get("/api/v1/bank/").get_json()["count"] == 1
    assert officer.post("/api/v1/bank/", json={"name": "招商银行"}).status_code == 403
    assert officer.delete(f"/api/v1/bank/{pk}").status_code == 403
    assert login_as("manager").get("/api/v1/bank/").status_code == 403

    assert finance.delete(f"/api/v1/bank/{pk}").status_code == 200
    assert finance.get(f"/api/v1/bank/{pk}").status_code == 404


def test_intermediary_crud_and_scope(app, login_as):
    officer_a = login_as("officer_a")
    response = officer_a.post("/api/v1/intermediary/", json={
        "name": "某某咨询", "contact_phone": "13700137000", "commission_rate": "1.5"})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    shown = officer_a.get(f"/api/v1/intermediary/{pk}").get_json()["result"]
    assert shown["branch"]["name"] == "北京分公司"

    assert officer_a.put(f"/api/v1/intermediary/{pk}", json={"commission_rate": "150"}).status_code == 422
    response = officer_a.put(f"/api/v1/intermediary/{pk}", json={"identifier": wrong_check_digit(PERSON_ID)})
    assert response.status_code == 422 and "identifier" in response.get_json()["message"]
    response = officer_a.put(f"/api/v1/intermediary/{pk}", json={"identifier": PERSON_ID, "commission_rate": "2"})
    assert response.status_code == 200, response.get_json()

    officer_b = login_as("officer_b")
    assert officer_b.get(f"/api/v1/intermediary/{pk}").status_code == 404
    assert officer_b.get("/api/v1/intermediary/").get_json()["count"] == 0
    assert officer_b.put(f"/api/v1/intermediary/{pk}", json={"name": "x"}).status_code == 404

    with app.app_context():
        from app.models import Branch
        from app.extensions import db

        sh = db.session.execute(select(Branch.id).where(Branch.code == "SH")).scalar()
    response = officer_a.post("/api/v1/intermediary/", json={"name": "越权中介", "branch": sh})
    assert response.status_code == 422 and "branch" in response.get_json()["message"]

    assert officer_a.delete(f"/api/v1/intermediary/{pk}").status_code == 403
    admin = login_as("admin")
    assert admin.get("/api/v1/intermediary/").get_json()["count"] == 1
    assert admin.delete(f"/api/v1/intermediary/{pk}").status_code == 200


def test_customer_pickers_stay_in_scope(app, login_as):
    """_info offers only the caller's officers and intermediaries; another branch's
    intermediary is refused on save."""
    admin = login_as("admin")
    with app.app_context():
        from app.extensions import db
        from app.models import Branch

        sh = db.session.execute(select(Branch.id).where(Branch.code == "SH")).scalar()
    response = admin.post("/api/v1/intermediary/", json={"name": "上海中介", "branch": sh})
    assert response.status_code == 201, response.get_json()
    shanghai_agent = response.get_json()["id"]

    officer_a = login_as("officer_a")
    fields = {f["name"]: f for f in officer_a.get("/api/v1/customer/_info").get_json()["add_columns"]}
    assert [v["id"] for v in fields["officer"]["values"]] == [user_id(app, "officer_a")]
    assert fields["intermediary"]["values"] == []
    assert fields["kind"]["description"] == ""  # not FAB's gettext("") catalogue header

    response = officer_a.post("/api/v1/customer/", json=person(intermediary=shanghai_agent))
    assert response.status_code == 422
    assert "intermediary" in response.get_json()["message"]
    assert customer_count(app) == 0
    pk = create(login_as("officer_b"), intermediary=shanghai_agent)
    shown = login_as("officer_b").get(f"/api/v1/customer/{pk}").get_json()["result"]
    assert shown["intermediary"]["name"] == "上海中介"
