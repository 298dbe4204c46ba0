"""kb.urls: the one definition of document pages, their parts and passage permalinks."""

from kb import urls


def test_first_part_is_the_plain_document_page():
    assert urls.doc_page("004_x") == "doc/004_x.html"
    assert urls.doc_page("004_x", 1) == "doc/004_x.html"
    assert urls.passage_url("004_x", "004_x-1a2b3c4d") == "doc/004_x.html#004_x-1a2b3c4d"


def test_later_parts_live_in_a_folder_that_no_document_id_can_collide_with():
    # "a-2" is a valid document id, so part 2 of "a" must not be "doc/a-2.html"
    assert urls.doc_page("a", 2) == "doc/a/2.html"
    assert urls.doc_page("a-2") == "doc/a-2.html"
    assert urls.passage_url("a", "a-9", 3) == "doc/a/3.html#a-9"


def test_segments_are_quoted():
    assert urls.segment("报告 1") == "%E6%8A%A5%E5%91%8A%201"
    assert urls.segment("ok_id-1.2~x") == "ok_id-1.2~x"


def _passages(doc, sizes):
    return [{"id": f"{doc}-{k:08x}", "doc": doc, "position": k, "text": "字" * n}
            for k, n in enumerate(sizes)]


def test_parts_follow_the_size_budget_in_reading_order():
    small = urls.part_numbers(["短文"] * 100)
    assert set(small) == {1}                       # an ordinary report is one page
    # 100,000 characters are 300 KB of UTF-8: two fit a part, a third does not
    parts = urls.part_numbers(["字" * 100_000, "字" * 50_000, "字" * 100_000, "字" * 10])
    assert parts == [1, 1, 2, 2]
    # a passage larger than the budget gets a part of its own
    assert urls.part_numbers(["字" * 300_000, "字" * 10]) == [1, 2]
    assert parts == sorted(parts)                  # parts never go back
    per_part = urls.PART_BUDGET // ("字" * 1000 + "x").encode().__len__()
    many = urls.part_numbers(["字" * 1000] * (5 * per_part))
    assert max(many) >= 5 and all(many.count(n) <= per_part for n in set(many))


def test_assign_urls_sets_permalinks_and_ignores_input_order():
    ps = _passages("d", [100_000, 100_000, 100_000, 10])
    parts = urls.assign_urls(list(reversed(ps)))
    assert [parts[p["id"]] for p in ps] == [1, 2, 3, 3]
    assert ps[0]["url"] == f"doc/d.html#{ps[0]['id']}"
    assert ps[3]["url"] == f"doc/d/3.html#{ps[3]['id']}"


def test_permalinks_depend_only_on_their_own_document():
    a = _passages("a", [150_000, 150_000, 5])
    urls.assign_urls(a)
    before = {p["id"]: p["url"] for p in a}
    assert len(set(before.values()) - {u for u in before.values() if u.startswith("doc/a.html#")}) == 2
    urls.assign_urls(_passages("b", [900_000] * 4))  # another document changes
    urls.assign_urls(a)
    assert {p["id"]: p["url"] for p in a} == before
