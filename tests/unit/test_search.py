"""Full-text search: ranking, prefixes, highlighted snippets, filters, sync and hostile input."""

from __future__ import annotations

import pytest

START, END = "\ue000", "\ue001"


def found(result) -> list[str]:
    return [item["issue"]["title"] for item in result["items"]]


@pytest.fixture
def corpus(make_issue):
    return {
        "desc_only": make_issue(title="Checkout latency", severity="low", category="application",
                                description="The DNS resolver on node-7 was slow to answer"),
        "title": make_issue(title="Resolver outage in eu-west", severity="critical",
                            category="network", description="Lookups failed everywhere"),
        "other": make_issue(title="Printer jam", severity="medium", category="hardware",
                            description="Tray 2 stuck"),
    }


def test_title_match_ranks_above_description_match(call, corpus):
    result = call("search_issues", query="resolver")
    assert found(result) == ["Resolver outage in eu-west", "Checkout latency"]
    assert result["total"] == 2
    ranks = [item["rank"] for item in result["items"]]
    assert ranks == sorted(ranks)  # bm25: lower is better


def test_prefix_matching(call, corpus):
    assert set(found(call("search_issues", query="resolv"))) == {
        "Resolver outage in eu-west", "Checkout latency"}
    assert found(call("search_issues", query="print")) == ["Printer jam"]


def test_every_word_must_match(call, corpus):
    assert found(call("search_issues", query="resolver node")) == ["Checkout latency"]
    assert found(call("search_issues", query="resolver printer")) == []


def test_snippets_mark_matches(call, corpus):
    items = {i["issue"]["title"]: i for i in call("search_issues", query="resolver")["items"]}
    title_hit = items["Resolver outage in eu-west"]
    assert title_hit["title_snippet"] == f"{START}Resolver{END} outage in eu-west"
    desc_hit = items["Checkout latency"]
    assert f"{START}resolver{END}" in desc_hit["description_snippet"]
    assert desc_hit["title_snippet"] == "Checkout latency"  # no match, no marks
    assert START not in title_hit["description_snippet"]


def test_snippet_text_is_not_html_escaped_or_interpreted(call, make_issue):
    make_issue(title="<script>alert(1)</script> kernel panic", description="a & b")
    [item] = call("search_issues", query="kernel")["items"]
    assert item["title_snippet"] == f"<script>alert(1)</script> {START}kernel{END} panic"


def test_filters_combine_with_query(call, corpus):
    assert found(call("search_issues", query="resolver", severity="critical")) == [
        "Resolver outage in eu-west"]
    assert found(call("search_issues", query="resolver", category="application")) == [
        "Checkout latency"]
    assert found(call("search_issues", query="resolver", severity="medium")) == []
    call("set_issue_status", issue_id=corpus["title"]["id"], status="resolved")
    assert found(call("search_issues", query="resolver", status=["resolved"])) == [
        "Resolver outage in eu-west"]
    assert found(call("search_issues", query="resolver", status="open")) == [
        "Checkout latency"]
    assert found(call("search_issues", query="resolver", date_to="2000-01-01")) == []


def test_paging(call, make_issue):
    for i in range(5):
        make_issue(title=f"Kafka lag {i}", description="consumer group behind")
    first = call("search_issues", query="kafka", limit=2)
    rest = call("search_issues", query="kafka", limit=10, offset=2)
    assert first["total"] == rest["total"] == 5
    assert len(first["items"]) == 2 and len(rest["items"]) == 3
    assert not set(found(first)) & set(found(rest))


def test_index_follows_update_and_delete(call, corpus):
    issue = corpus["other"]
    call("update_issue", issue_id=issue["id"], title="Toner empty",
         description="Replace the cartridge")
    assert found(call("search_issues", query="printer")) == []
    assert found(call("search_issues", query="toner")) == ["Toner empty"]
    assert found(call("search_issues", query="cartridge")) == ["Toner empty"]
    call("delete_issue", issue_id=issue["id"])
    assert call("search_issues", query="toner")["items"] == []
    call("delete_issue", issue_id=corpus["title"]["id"])
    assert found(call("search_issues", query="resolver")) == ["Checkout latency"]


def test_unicode_words(call, make_issue):
    make_issue(title="Überlast im Rechenzentrum", description="Der Dienst über Port 443")
    make_issue(title="日本語のログ", description="東京リージョン")
    assert found(call("search_issues", query="über")) == ["Überlast im Rechenzentrum"]
    assert found(call("search_issues", query="Überlast")) == ["Überlast im Rechenzentrum"]
    assert found(call("search_issues", query="日本")) == ["日本語のログ"]


HOSTILE = [
    '"', '""', '"unterminated', "*", "resolver*", "**", "NEAR(", "NEAR(a b", "-", "-resolver",
    "OR", "AND", "NOT", "resolver OR", "OR OR OR", "title:resolver", "{title}: x", "^", "(",
    ")", "!@#$%^&*()", "...", "'; DROP TABLE issues; --", "a" * 500, "resolver " * 55,
    "日本", "über", "\u200b", "\ue000\ue001", "%", "_", "\\", "x' OR '1'='1",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(call, corpus, query):
    result = call("search_issues", query=query)
    assert isinstance(result["items"], list)
    assert result["total"] >= len(result["items"])
    assert call("list_issues")["total"] == 3


def test_query_operators_are_treated_as_words(call, corpus):
    # "OR" must not turn into an FTS operator that widens the match.
    assert found(call("search_issues", query="printer OR resolver")) == []
    assert found(call("search_issues", query="-printer")) == ["Printer jam"]
    assert found(call("search_issues", query='"resolver outage"')) == [
        "Resolver outage in eu-west"]


@pytest.mark.parametrize("query", ["", "   ", "a" * 501])
def test_empty_or_oversize_query_is_rejected(call, query):
    from tftsr.errors import TftsrError

    with pytest.raises(TftsrError) as info:
        call("search_issues", query=query)
    assert info.value.code == "invalid_argument"
    assert "query" in info.value.message


# -- search over everything an incident holds ----------------------------------------------
def places(item) -> dict[str, str]:
    return {m["field"]: m["snippet"] for m in item["matches"]}


@pytest.fixture
def recorded(call, make_issue):
    """An incident whose words live in every place but its title and description."""
    issue = make_issue(title="Checkout slow", description="Customers waited", tags=["hikari"])
    iid = issue["id"]
    why = call("add_five_why", issue_id=iid, why_question="Why were requests queued?",
               answer="Connections leaked from the zookeeper client")
    call("add_five_why", issue_id=iid, why_question="Why did nothing alert?",
         answer="No saturation dashboard")
    call("set_root_cause", step_id=why["id"])
    call("create_action_item", issue_id=iid, title="Add a flamegraph to the runbook",
         kind="preventive", notes="ask the quokka team")
    call("add_timeline_event", issue_id=iid, event_type="mitigation_applied",
         description="Bounced the walrus proxy")
    doc = call("generate_rca", issue_id=iid)
    call("update_document", document_id=doc["id"],
         content_md=doc["content_md"] + "\nThe narwhal exporter lagged.\n")
    make_issue(title="Unrelated printer", description="nothing in common")
    return issue


@pytest.mark.parametrize("query, place", [
    ("hikari", "tags"), ("zookeeper", "root_cause"), ("saturation", "whys"),
    ("flamegraph", "actions"), ("quokka", "actions"), ("walrus", "timeline"),
    ("narwhal", "documents"),
])
def test_every_place_is_searched_and_named(call, recorded, query, place):
    [item] = call("search_issues", query=query)["items"]
    assert item["issue"]["id"] == recorded["id"]
    found = places(item)
    assert place in found, found
    assert f"{START}" in found[place] and query in found[place].lower()
    assert item["title_snippet"] == "Checkout slow"


def test_words_from_different_places_must_all_match(call, recorded):
    [item] = call("search_issues", query="hikari walrus")["items"]
    assert {"tags", "timeline"} <= set(places(item))
    assert call("search_issues", query="hikari printer")["items"] == []


def test_the_index_follows_every_place(call, recorded):
    iid = recorded["id"]
    # The generated document repeats the whys, actions and timeline: remove it first.
    [doc] = call("list_documents", issue_id=iid)
    call("delete_document", document_id=doc["id"])
    assert call("search_issues", query="narwhal")["items"] == []
    steps = call("list_five_whys", issue_id=iid)
    call("delete_five_why", step_id=steps[1]["id"])
    assert call("search_issues", query="saturation")["items"] == []
    call("update_issue", issue_id=iid, tags=["pool"])
    assert call("search_issues", query="hikari")["items"] == []
    assert found(call("search_issues", query="pool")) == ["Checkout slow"]
    [event] = [e for e in call("get_timeline_events", issue_id=iid) if e["manual"]]
    call("update_timeline_event", event_id=event["id"], description="Bounced the otter proxy")
    assert call("search_issues", query="walrus")["items"] == []
    assert found(call("search_issues", query="otter")) == ["Checkout slow"]
    call("delete_timeline_event", event_id=event["id"])
    assert call("search_issues", query="otter")["items"] == []
    [item] = call("list_action_items", issue_id=iid)
    call("delete_action_item", action_item_id=item["id"])
    assert call("search_issues", query="flamegraph")["items"] == []
    call("set_root_cause", step_id=steps[0]["id"], is_root_cause=False)
    assert "root_cause" not in places(call("search_issues", query="zookeeper")["items"][0])
    call("delete_issue", issue_id=iid)
    assert call("search_issues", query="zookeeper")["items"] == []


def test_recorded_bookkeeping_is_not_searched(call, make_issue):
    issue = make_issue(title="Disk full")
    call("set_issue_status", issue_id=issue["id"], status="investigating", note="kraken note")
    assert call("search_issues", query="kraken")["items"] == []


# -- related incidents ------------------------------------------------------------------------
def test_related_incidents_rank_the_similar_ones_with_their_outcome(call, make_issue):
    past = make_issue(title="HikariCP pool exhausted on checkout", tags=["hikari", "checkout"],
                      description="Connection pool exhausted after deploy", category="databases")
    why = call("add_five_why", issue_id=past["id"], why_question="Why was the pool exhausted?",
               answer="A connection leak in the payments client")
    call("set_root_cause", step_id=why["id"])
    call("set_issue_status", issue_id=past["id"], status="resolved",
         note="Rolled back payments client 2.3")
    weaker = make_issue(title="Checkout button misaligned", description="CSS regression", tags=[])
    make_issue(title="Printer jam", description="Tray 2", tags=[])
    current = make_issue(title="Checkout errors: connection pool exhausted", tags=["hikari"],
                         description="HikariCP timeouts again")
    result = call("get_related_incidents", issue_id=current["id"])
    ids = [i["issue"]["id"] for i in result["items"]]
    assert ids[0] == past["id"] and current["id"] not in ids
    assert weaker["id"] in ids and len(ids) == 2
    top = result["items"][0]
    assert top["root_cause"] == "A connection leak in the payments client"
    assert top["resolution"] == {"source": "resolution note", "text": "Rolled back payments client 2.3"}
    assert {"hikari", "pool", "exhausted"} <= set(top["shared_terms"])
    assert "hikari" in result["terms"]
    lonely = make_issue(title="a an the", description="", tags=[])
    assert call("get_related_incidents", issue_id=lonely["id"])["items"] == []


def test_related_incidents_are_past_ones_only(app, call, make_issue):
    """Incidents opened after this one are not its related incidents; within one second
    the one recorded first counts as the earlier one."""
    first = make_issue(title="Kafka consumer lag on billing", tags=["kafka", "billing"])
    second = make_issue(title="Kafka consumer lag on billing again", tags=["kafka", "billing"])
    third = make_issue(title="Kafka consumer lag on billing, third time", tags=["kafka"])
    with app.db.transaction() as conn:  # the first two opened in the same second
        conn.execute("UPDATE issues SET created_at = ? WHERE id IN (?, ?)",
                     ("2026-03-01 10:00:00", first["id"], second["id"]))
        conn.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                     ("2026-03-02 10:00:00", third["id"]))

    def related(issue):
        return [i["issue"]["id"] for i in call("get_related_incidents", issue_id=issue["id"])["items"]]

    assert related(first) == []
    assert related(second) == [first["id"]]
    assert set(related(third)) == {first["id"], second["id"]}
    # Recorded last but opened first (entered afterwards): a past incident of the others.
    with app.db.transaction() as conn:
        conn.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                     ("2026-02-01 10:00:00", third["id"]))
    assert related(first) == [third["id"]]
    assert set(related(second)) == {first["id"], third["id"]}
    assert related(third) == []
