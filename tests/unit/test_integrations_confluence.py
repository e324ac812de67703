"""Publishing to Confluence, and Markdown → Confluence storage format.

Against the loopback Confluence in both of its forms (Cloud REST v2 with Basic email:token,
Data Center REST v1 with a Bearer personal access token): publishing twice leaves one page
at version 2 whose id is kept on the document; a page edited in Confluence meanwhile is
reported, not overwritten; the timeline chart arrives as a PNG attachment.
"""

from __future__ import annotations

import json

import pytest
from tftsr.errors import TftsrError
from tftsr.integrations import storage_format
from tftsr.integrations.common import Timing

from tests.fakes.fake_confluence import FakeConfluence, well_formed

FAST = Timing(connect=2.0, read=3.0, attempts=2, max_retry_wait=2.0)

RCA_EXTRA = """
## Commands we ran

```bash
kubectl rollout undo deploy/checkout && echo "]]> done"
```

See [the runbook](https://runbooks.example.com/checkout?step=2&x=1) and <script>alert(1)</script>.
"""


@pytest.fixture(params=["cloud", "datacenter"])
def confluence(request):
    with FakeConfluence(mode=request.param) as fake:
        yield fake


@pytest.fixture
def fast(app):
    app.extras["integration_timing"] = FAST
    return app


def make_rca(call, title="Checkout API returns 502") -> tuple[dict, dict]:
    issue = call("create_issue", title=title, severity="high", category="application",
                 description="Spikes of 502 from the gateway")["issue"]
    call("add_timeline_event", issue_id=issue["id"], event_type="mitigation_applied",
         description="Rolled back the deploy")
    step = call("add_five_why", issue_id=issue["id"], why_question="Why did the pool run dry?",
                answer="Retries without backoff")
    call("set_root_cause", step_id=step["id"])
    doc = call("generate_rca", issue_id=issue["id"])
    call("update_document", document_id=doc["id"], content_md=doc["content_md"] + RCA_EXTRA)
    return issue, doc


def test_publishing_twice_leaves_one_page_at_version_2(fast, call, confluence):
    call("save_integration", **confluence.settings())
    issue, doc = make_rca(call)
    first = call("publish_document", document_id=doc["id"])
    assert first["created"] is True and first["version"] == 1
    assert "as a new page in space OPS" in first["message"]
    assert first["url"] == f"{confluence.base_url}/spaces/OPS/pages/{first['page_id']}"
    second = call("publish_document", document_id=doc["id"])
    assert second["created"] is False and second["version"] == 2
    assert second["page_id"] == first["page_id"]
    assert "now version 2" in second["message"]

    pages = confluence.page_list()
    assert len(pages) == 1 and pages[0]["version"] == 2
    assert pages[0]["title"] == doc["title"]
    assert confluence.violations == []

    links = call("get_integration_links", issue_id=issue["id"])
    link = links["documents"][doc["id"]]["confluence"]
    assert link["remote_id"] == first["page_id"] and link["version"] == 2
    assert link["url"] == first["url"]

    published = [json.loads(e["details"]) for e in audit(fast, "document_published")]
    assert [p["version"] for p in published] == [1, 2]
    assert all(p["service"] == "confluence" and p["page_id"] == first["page_id"] for p in published)
    expected_api = "v2" if confluence.mode == "cloud" else "v1"
    assert {p["api"] for p in published} == {expected_api}
    creates = confluence.calls("POST")
    assert [c.path for c in creates] == [
        "/wiki/api/v2/pages" if confluence.mode == "cloud" else "/rest/api/content"]


def test_the_page_is_storage_format_with_code_macro_tables_links_and_the_chart(fast, call, confluence):
    call("save_integration", **confluence.settings())
    _, doc = make_rca(call)
    result = call("publish_document", document_id=doc["id"])
    body = confluence.pages[result["page_id"]]["body"]
    assert well_formed(body)
    assert '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>' in body
    assert "<![CDATA[kubectl rollout undo deploy/checkout && echo \"]]]]><![CDATA[> done\"]]>" in body
    assert "<table><tbody><tr><th>" in body
    # The link's host name was redacted, so the link stays text rather than lead anywhere.
    assert "[the runbook](https://[Hostname-1]/checkout?step=2&amp;x=1)" in body
    assert "runbooks.example.com" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert '<ri:attachment ri:filename="tftsr-timeline.png" />' in body
    png = confluence.attachments[result["page_id"]]["tftsr-timeline.png"][0]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert result["chart_attached"] is True
    upload = [r for r in confluence.requests if r.path.endswith("/child/attachment")][0]
    assert upload.headers["x-atlassian-token"] == "no-check"
    sends = [json.loads(e["details"]) for e in audit(fast, "egress_send")]
    binary = [s for s in sends if s.get("rendered_from")]
    assert len(binary) == 1 and binary[0]["rendered_from"] == "timeline_chart"
    import hashlib
    assert binary[0]["request_sha256"] == hashlib.sha256(upload.body).hexdigest()


def test_a_page_edited_in_confluence_is_reported_not_overwritten(fast, call, confluence):
    call("save_integration", **confluence.settings())
    _, doc = make_rca(call)
    first = call("publish_document", document_id=doc["id"])
    confluence.edit_page(first["page_id"], "<p>Edited by a colleague</p>")
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert err.value.code == "integration_conflict"
    assert "edited in Confluence after TFTSR published version 1" in err.value.message
    assert "version 2 now" in err.value.message and "Nothing was overwritten" in err.value.message
    page = confluence.pages[first["page_id"]]
    assert page["body"] == "<p>Edited by a colleague</p>" and page["version"] == 2
    # TFTSR sent version 2 (the one after its own); the site refused it, as it should.
    [put] = [r for r in confluence.calls("PUT") if r.path.endswith("/" + first["page_id"])]
    assert put.json["version"]["number"] == 2

    replaced = call("publish_document", document_id=doc["id"], overwrite=True)
    assert replaced["version"] == 3 and replaced["page_id"] == first["page_id"]
    assert "Edited by a colleague" not in confluence.pages[first["page_id"]]["body"]


def test_a_version_conflict_at_update_time_is_reported(fast, call):
    with FakeConfluence(mode="cloud") as confluence:
        call("save_integration", **confluence.settings())
        _, doc = make_rca(call)
        first = call("publish_document", document_id=doc["id"])
        # Someone saves between TFTSR's read and its write: the PUT meets a 409.
        original = confluence.update_v2

        def racing(h, req, page_id):
            confluence.edit_page(page_id)
            return original(h, req, page_id)

        confluence.update_v2 = racing
        with pytest.raises(TftsrError) as err:
            call("publish_document", document_id=doc["id"])
        assert err.value.code == "integration_conflict" and "HTTP 409" in err.value.message
        assert "Version must be incremented" in err.value.message
        assert confluence.pages[first["page_id"]]["version"] == 2


def test_a_deleted_page_is_published_anew_and_the_user_is_told(fast, call, confluence):
    call("save_integration", **confluence.settings())
    _, doc = make_rca(call)
    first = call("publish_document", document_id=doc["id"])
    confluence.delete_page(first["page_id"])
    again = call("publish_document", document_id=doc["id"])
    assert again["created"] is True and again["page_id"] != first["page_id"]
    assert "no longer in Confluence" in again["message"]


def test_a_title_already_taken_in_the_space_is_explained(fast, call, confluence):
    call("save_integration", **confluence.settings())
    _, doc = make_rca(call)
    space_id = confluence.spaces["OPS"]["id"]
    confluence._new_page(space_id, doc["title"], "<p>Older copy</p>")
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert err.value.code == "integration_conflict"
    assert "already has a page titled" in err.value.message and "Rename the document" in err.value.message
    assert len(confluence.page_list()) == 1


def test_a_failed_chart_upload_is_said_and_the_page_stays(fast, call, confluence):
    call("save_integration", **confluence.settings())
    _, doc = make_rca(call)
    confluence.fail_attachments = True
    result = call("publish_document", document_id=doc["id"])
    assert result["chart_attached"] is False
    assert "timeline chart could not be attached" in result["message"]
    assert "HTTP 500" in result["message"]
    assert len(confluence.page_list()) == 1


def test_publishing_needs_a_space_and_a_reachable_space(fast, call, confluence):
    _, doc = make_rca(call)
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert err.value.code == "integration_not_configured" and "Settings → Integrations" in err.value.message
    call("save_integration", **confluence.settings(space_key=None))
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert "Set the Confluence space" in err.value.message
    call("save_integration", **confluence.settings(space_key="GONE"))
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert err.value.code == "integration_not_found" and "no space with the key GONE" in err.value.message
    assert confluence.page_list() == []


def test_a_wrong_token_publishes_nothing_and_says_so(fast, call, confluence):
    call("save_integration", **confluence.settings(token="not-the-right-token-000"))
    _, doc = make_rca(call)
    with pytest.raises(TftsrError) as err:
        call("publish_document", document_id=doc["id"])
    assert err.value.code == "integration_auth" and "HTTP 401" in err.value.message
    assert confluence.page_list() == []


def audit(app, action):
    with app.db.connection() as conn:
        return [dict(r) for r in conn.execute(
            "SELECT action, entity_id, details FROM audit_log WHERE action = ? ORDER BY seq", (action,))]


# -- storage format ----------------------------------------------------------------------------
def test_headings_lists_quotes_and_inline_marks():
    out = storage_format.convert("# One\n\n## Two\n\n- a *b* **c** ~~d~~ `e`\n- f\n\n1. g\n2. h\n\n"
                                 "> quoted\n\n---\n")
    assert out == ("<h1>One</h1><h2>Two</h2><ul><li>a <em>b</em> <strong>c</strong> <s>d</s> "
                   "<code>e</code></li><li>f</li></ul><ol><li>g</li><li>h</li></ol>"
                   "<blockquote><p>quoted</p></blockquote><hr />")


def test_every_text_is_escaped_and_unsafe_links_stay_text():
    out = storage_format.convert('A <b onclick="x">&amp; "q"</b> [x](javascript:alert(1)) '
                                 '[ok](mailto:a@b.example) ![pic](http://t.example/p.png)')
    assert "<b " not in out and "&lt;b onclick=\"x\"&gt;&amp; \"q\"&lt;/b&gt;" in out
    assert "javascript:" not in out.split("[x]")[0] and '<a href="javascript' not in out
    assert '<a href="mailto:a@b.example">ok</a>' in out
    assert "[image: pic]" in out and "<img" not in out and "ri:url" not in out
    assert well_formed(out)


def test_tables_code_blocks_and_characters_xml_cannot_hold():
    out = storage_format.convert("| h1 | h2 |\n|---|---|\n| <x> | y\x01 |\n\n```weird-lang\nraw ]]> end\n```\n")
    assert out.startswith("<table><tbody><tr><th>h1</th><th>h2</th></tr><tr><td>&lt;x&gt;</td>")
    assert "\x01" not in out
    assert '<ac:structured-macro ac:name="code"><ac:plain-text-body>' in out  # unknown language: none
    assert "<![CDATA[raw ]]]]><![CDATA[> end]]>" in out
    assert well_formed(out)


def test_a_link_to_a_redacted_address_stays_text():
    out = storage_format.convert("[runbook](https://[Hostname-1]/x) and [ok](https://example.org/a?b=1&c=2)")
    assert out == ('<p>[runbook](https://[Hostname-1]/x) and '
                   '<a href="https://example.org/a?b=1&amp;c=2">ok</a></p>')


def test_chart_markup_goes_after_the_timeline_heading_only():
    out = storage_format.convert("## 3. Timeline\n\ntext\n\n## 4. Other\n",
                                 lambda h: "<p>CHART</p>" if h.endswith("Timeline") else None)
    assert out == "<h2>3. Timeline</h2><p>CHART</p><p>text</p><h2>4. Other</h2>"


def test_the_configured_space_is_picked_even_from_a_list_of_all_spaces(fast, call):
    with FakeConfluence(mode="cloud", spaces={"DEV": "Development", "OPS": "Operations"}) as confluence:
        confluence.get_spaces_v2 = lambda h, req: confluence.reply(
            h, 200, {"results": list(confluence.spaces.values()), "_links": {}})  # keys= ignored
        call("save_integration", **confluence.settings())
        _, doc = make_rca(call)
        call("publish_document", document_id=doc["id"])
        [page] = confluence.page_list()
        assert page["spaceId"] == confluence.spaces["OPS"]["id"]


def test_the_configured_space_is_found_where_keys_is_ignored_but_a_limit_is_kept(fast, call):
    spaces = {f"S{i:02d}": f"Space {i}" for i in range(5)} | {"OPS": "Operations"}
    with FakeConfluence(mode="cloud", spaces=spaces) as confluence:
        original = confluence.get_spaces_v2

        def keys_ignored(h, req):
            req.query.pop("keys", None)  # every space, cut at the limit asked for (25 by default)
            return original(h, req)

        confluence.get_spaces_v2 = keys_ignored
        call("save_integration", **confluence.settings())
        assert "space OPS (Operations) is there" in call("test_integration", service="confluence")["message"]
        _, doc = make_rca(call)
        call("publish_document", document_id=doc["id"])
        [page] = confluence.page_list()
        assert page["spaceId"] == confluence.spaces["OPS"]["id"]


def test_a_site_without_put_for_attachments_gets_the_chart_by_post(fast, call):
    with FakeConfluence(mode="datacenter") as confluence:
        original = confluence.route

        def route(h, req):
            if req.method == "PUT" and req.path.endswith("/child/attachment"):
                return confluence.reply_text(h, 405, "Method Not Allowed", "text/plain")
            return original(h, req)

        confluence.route = route
        call("save_integration", **confluence.settings())
        _, doc = make_rca(call)
        result = call("publish_document", document_id=doc["id"])
        assert result["chart_attached"] is True and result["warnings"] == []
        png = confluence.attachments[result["page_id"]]["tftsr-timeline.png"][0]
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        uploads = [r.method for r in confluence.requests if r.path.endswith("/child/attachment")]
        assert uploads == ["PUT", "POST"]
