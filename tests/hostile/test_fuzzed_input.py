"""Odd and hostile input at the public survey pages and the API: unicode, emoji,
right-to-left text, NUL, 100 kB bodies, deeply nested JSON, wrong content types and
oversized bulk lists. Each is a clear 4xx (or accepted, when it is valid), never a 500;
the API's 400s name the field."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from knox.models import AuthToken

from customers.models import Customer
from surveys.models import Response
from tests.factories import CustomerFactory, StaffFactory, sent_invitation
from tests.support.services import clear_cache

pytestmark = pytest.mark.django_db

TOKEN = "a-test-token-of-enough-length"
RTL = "\u202eevil\u202c مرحبا שלום"
ODD_TEXTS = ["😀🔥 Café ñandú", RTL, "a\x00b", "\x00", "x" * 100_000, "\ud7ff\ufffe\uffff", "line\nbreak", "\u200b"]
# Text Hypothesis draws from everywhere in Unicode, surrogates aside (they cannot be sent).
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.PUBLIC_RATE_LIMIT = settings.UNSUBSCRIBE_RATE_LIMIT = 1_000_000
    settings.API_USER_RATE = settings.API_ANON_RATE = "1000000/hour"
    clear_cache()


@pytest.fixture
def invitation():
    return sent_invitation(token=TOKEN)


class TestSurveyLinks:
    @settings(max_examples=40)
    @given(token=any_text)
    def test_any_token_is_a_not_found_page_never_an_error(self, client, token):
        for path in ("/s/{}/", "/s/{}/thanks/", "/u/{}/"):
            page = client.get(path.format(quote(token, safe="")))
            assert page.status_code in {404, 405}, (path, token, page.status_code)

    @pytest.mark.parametrize("token", ODD_TEXTS)
    def test_an_odd_token_posted_to_is_a_not_found_page(self, client, token):
        for path in ("/s/{}/", "/u/{}/"):
            assert client.post(path.format(quote(token, safe="")), {"score": "5"}).status_code == 404


class TestSurveyForm:
    @settings(max_examples=40)
    @given(score=any_text, comment=any_text)
    def test_any_form_body_is_recorded_or_refused_with_the_form_again(self, client, invitation, score, comment):
        answer = client.post(f"/s/{TOKEN}/", {"score": score, "comment": comment})
        assert answer.status_code in {303, 400}
        if answer.status_code == 400:
            assert 'role="alert"' in answer.content.decode()

    @pytest.mark.parametrize("comment", ODD_TEXTS)
    def test_an_odd_comment_is_kept_as_written_or_refused_saying_why(self, client, invitation, comment):
        answer = client.post(f"/s/{TOKEN}/", {"score": "7", "comment": comment})
        if answer.status_code == 303:
            assert Response.objects.get().comment == comment.strip()
        else:
            assert answer.status_code == 400
            page = answer.content.decode()
            assert "Null characters are not allowed" in page or "Keep the comment to" in page
            assert not Response.objects.exists()

    @pytest.mark.parametrize(
        "content_type, body",
        [
            ("application/json", json.dumps({"score": 7})),
            ("text/plain", "score=7"),
            ("multipart/form-data; boundary=nothing", "garbage"),
            ("application/x-www-form-urlencoded", "score=%FF%FE&comment=%00"),
            ("application/x-www-form-urlencoded", "score=7&" + "&".join(f"f{n}=1" for n in range(1200))),
        ],
    )
    def test_a_body_that_is_not_the_form_is_refused(self, client, invitation, content_type, body):
        answer = client.post(f"/s/{TOKEN}/", body, content_type=content_type)
        assert answer.status_code == 400
        assert not Response.objects.exists()


def json_values(max_leaves: int = 20):
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text

    def containers(inner):
        return st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4)

    return st.recursive(scalars, containers, max_leaves=max_leaves)


@pytest.fixture
def api(client):
    _, token = AuthToken.objects.create(StaffFactory())
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client


WRITES = ["/api/v1/customers/", "/api/v1/customers/bulk/", "/api/v1/contacts/", "/api/v1/invoices/",
          "/api/v1/invoices/bulk/", "/api/v1/deliveries/", "/api/v1/deliveries/bulk/"]


class TestApiBodies:
    @settings(max_examples=15)
    @given(body=json_values())
    def test_any_json_body_is_taken_or_refused_with_errors_as_json(self, api, body):
        for path in WRITES:
            answer = api.post(path, json.dumps(body), content_type="application/json")
            assert answer.status_code in {200, 201, 400}, (path, body, answer.status_code)
            if answer.status_code == 400:
                assert isinstance(answer.json(), dict) and answer.json()

    @pytest.mark.parametrize("path", WRITES)
    def test_deeply_nested_json_is_refused_as_a_bad_body(self, api, path):
        body = "[" * 100_000 + "]" * 100_000
        answer = api.post(path, body, content_type="application/json")
        assert answer.status_code == 400
        assert "detail" in answer.json()

    @pytest.mark.parametrize("path", WRITES)
    @pytest.mark.parametrize(
        "content_type, body",
        [("text/plain", "hello"), ("application/xml", "<customer/>"), ("application/x-www-form-urlencoded", "a=1")],
    )
    def test_a_body_that_is_not_json_is_refused_as_unsupported(self, api, path, content_type, body):
        answer = api.post(path, body, content_type=content_type)
        assert answer.status_code == 415
        assert "Unsupported media type" in answer.json()["detail"]

    @pytest.mark.parametrize("path", WRITES)
    def test_bytes_that_are_not_utf8_are_a_bad_body(self, api, path):
        answer = api.post(path, b'{"name": "\xff\xfe"}', content_type="application/json")
        assert answer.status_code == 400
        assert "detail" in answer.json()

    @pytest.mark.parametrize("name", ["a\x00b", "x" * 100_000, "two\nlines"])
    def test_a_bad_customer_name_is_refused_naming_the_field(self, api, name):
        answer = api.post("/api/v1/customers/", {"external_id": "C-1", "name": name}, content_type="application/json")
        assert answer.status_code == 400
        assert list(answer.json()) == ["name"]
        assert not Customer.objects.exists()

    @pytest.mark.parametrize("name", ["😀🔥 Café ñandú", RTL, "\u200b"])
    def test_a_name_in_any_script_is_kept_as_written(self, api, name):
        answer = api.post("/api/v1/customers/", {"external_id": "C-1", "name": name}, content_type="application/json")
        assert answer.status_code == 201
        assert Customer.objects.get().name == name

    @pytest.mark.parametrize("path", ["/api/v1/customers/bulk/", "/api/v1/invoices/bulk/", "/api/v1/deliveries/bulk/"])
    def test_an_oversized_bulk_list_is_refused_whole_saying_the_limit(self, api, path):
        rows = [{"external_id": f"C-{n}", "name": "A"} for n in range(1001)]
        answer = api.post(path, rows, content_type="application/json")
        assert answer.status_code == 400
        assert "At most 1000 rows" in answer.json()["non_field_errors"][0]
        assert not Customer.objects.exists()

    @pytest.mark.parametrize("path", ["/api/v1/customers/bulk/", "/api/v1/invoices/bulk/", "/api/v1/deliveries/bulk/"])
    def test_bulk_rows_that_are_not_objects_are_refused_by_their_index(self, api, path):
        answer = api.post(path, [1, "x", None, []], content_type="application/json")
        assert answer.status_code == 400
        assert answer.json()

    def test_a_100_kb_bulk_body_of_odd_text_is_refused_naming_rows_and_fields(self, api):
        CustomerFactory(external_id="C-0")
        rows = [{"external_id": "C-0", "name": "\x00" + "😀" * 25_000}]
        answer = api.post("/api/v1/customers/bulk/", rows, content_type="application/json")
        assert answer.status_code == 400
        assert list(answer.json()) == ["0"] and "name" in answer.json()["0"]


class TestApiAddresses:
    @pytest.mark.parametrize("path", ["/api/v1/alerts/0.5/", "/api/v1/customers/a/b/", "/api/v1/nothing/", "/api/v2/"])
    def test_an_address_no_route_matches_is_a_json_404(self, api, path):
        answer = api.get(path)
        assert answer.status_code == 404
        assert answer["Content-Type"] == "application/json"
        assert answer.json() == {"detail": "Not found."}

    def test_elsewhere_it_is_still_the_sites_page(self, api):
        answer = api.get("/nothing/")
        assert answer.status_code == 404
        assert answer["Content-Type"].startswith("text/html")

    def test_a_request_django_refuses_before_any_view_is_a_json_400(self, api):
        body = "&".join(f"f{n}=1" for n in range(1200))
        answer = api.get(f"/api/v1/customers/?{body}")
        assert answer.status_code == 400
        assert answer.json() == {"detail": "Bad request."}


class TestApiFilters:
    @pytest.mark.parametrize("value", ["yes please", "2", "😀", "tru"])
    def test_a_yes_or_no_filter_that_is_neither_is_a_400_naming_it(self, api, value):
        answer = api.get("/api/v1/customers/", {"is_active": value})
        assert answer.status_code == 400
        assert answer.json() == {"is_active": ["Must be true or false."]}

    @pytest.mark.parametrize(
        "value, listed", [("true", ["C-1"]), ("1", ["C-1"]), ("False", ["C-2"]), ("", ["C-1", "C-2"])]
    )
    def test_a_yes_or_no_filter_reads_true_false_1_and_0(self, api, value, listed):
        CustomerFactory(external_id="C-1")
        CustomerFactory(external_id="C-2", is_active=False)
        answer = api.get("/api/v1/customers/", {"is_active": value})
        assert sorted(row["external_id"] for row in answer.json()["results"]) == listed
