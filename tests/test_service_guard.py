"""The service's gate: per-key token buckets and the route table refusals are audited by."""

from __future__ import annotations

import pytest

from identmatch._service.guard import RateLimiter, bearer_token, route_of
from identmatch._service.shown import Shown


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_a_full_bucket_spends_then_refuses_with_the_wait(self) -> None:
        """Capacity 3 per 60 s: three lookups pass, the fourth waits 20 s for one to refill."""
        clock = Clock()
        limiter = RateLimiter([(3, 60.0)], clock=clock)
        assert [limiter.take("k1") for _ in range(3)] == [None, None, None]
        assert limiter.take("k1") == pytest.approx(20.0)
        clock.now = 20.0
        assert limiter.take("k1") is None

    def test_keys_have_their_own_buckets(self) -> None:
        """One key's spending leaves another's budget whole."""
        limiter = RateLimiter([(1, 60.0)], clock=Clock())
        assert limiter.take("k1") is None
        assert limiter.take("k1") is not None
        assert limiter.take("k2") is None

    def test_a_refused_take_spends_nothing_in_any_bucket(self) -> None:
        """With a minute and a day bucket, a take one of them refuses leaves both as they were."""
        clock = Clock()
        limiter = RateLimiter([(5, 60.0), (6, 86_400.0)], clock=clock)
        assert limiter.take("k1", 5) is None
        assert limiter.take("k1", 2) is not None  # the minute bucket is empty
        clock.now = 60.0  # the minute bucket is full again; the day bucket holds 1
        assert limiter.take("k1", 2) is not None
        assert limiter.take("k1", 1) is None

    def test_more_than_the_capacity_never_fits(self) -> None:
        """Asking for more than a bucket holds is refused with an infinite wait."""
        limiter = RateLimiter([(4, 60.0)], clock=Clock())
        assert limiter.take("k1", 5) == float("inf")
        assert limiter.take("k1", 4) is None

    def test_a_key_of_its_own_budget_is_read_at_each_take(self) -> None:
        """``per_key`` sizes each key's buckets; a changed budget applies at the next take."""
        own = {"k1": 2}
        limiter = RateLimiter([(5, 60.0)], clock=Clock(), per_key=lambda k: [(own.get(k, 5), 60.0)])
        assert [limiter.take("k1") for _ in range(3)] == [None, None, pytest.approx(30.0)]
        assert [limiter.take("k2") for _ in range(5)] == [None] * 5
        own["k1"] = 1  # a reload lowers it: what is left is capped at the new capacity
        assert limiter.take("k1") is not None

    def test_refund_gives_back_up_to_the_capacity(self) -> None:
        """A refund restores what was spent, never more than the bucket holds."""
        limiter = RateLimiter([(2, 60.0)], clock=Clock())
        assert limiter.take("k1", 2) is None
        limiter.refund("k1")
        assert limiter.take("k1") is None
        limiter.refund("k1", 10)
        assert limiter.take("k1", 2) is None
        assert limiter.take("k1") is not None


@pytest.mark.parametrize(
    ("method", "path", "template", "role"),
    [
        ("POST", "/v1/search", "/v1/search", "search"),
        ("GET", "/v1/entities/E000001", "/v1/entities/{entity_id}", "search"),
        ("GET", "/v1/entities/Zebulon Quatermain", "/v1/entities/{entity_id}", "search"),
        ("POST", "/v1/records", "/v1/records", "write"),
        ("DELETE", "/v1/records/R1", "/v1/records/{record_id}", "write"),
        ("GET", "/v1/export", "/v1/export", "write"),
        ("GET", "/v1/audit", "/v1/audit", "audit"),
        ("GET", "/v1/records/R1", "other", None),
        ("POST", "/v1/search/Quatermain", "other", None),
        ("GET", "/v1/model", "/v1/model", "search"),
        ("GET", "/v1/charts/match-weights", "/v1/charts/match-weights", "search"),
        ("GET", "/v1/charts/parameters", "/v1/charts/parameters", "search"),
        ("POST", "/v1/charts/waterfall", "/v1/charts/waterfall", "search"),
        ("GET", "/v1/session", "/v1/session", "any"),
        ("GET", "/v1/review/queue", "/v1/review/queue", "review"),
        ("GET", "/v1/export\n", "other", None),  # the whole path, not up to a line break
    ],
)
def test_routes_are_named_by_template(
    method: str, path: str, template: str, role: str | None
) -> None:
    """Every route maps to its template and role; no raw path (which may hold a name) is kept."""
    assert route_of(method, path) == (template, role)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    """Only an ``Authorization: Bearer TOKEN`` header gives a token (the scheme in any case)."""
    assert bearer_token(header) == token


class TestShown:
    def test_only_a_keys_own_hits_are_readable_and_only_for_a_while(self) -> None:
        clock = Clock()
        shown = Shown(3_600.0, clock=clock)
        shown.searched("k1", hits=["E000001"], records=["R1", "R2", "R9"])
        assert shown.may_read("k1", "E000001")
        assert not shown.may_read("k1", "E000009")  # a weak candidate's: records only
        assert not shown.may_read("k2", "E000001")
        assert shown.may_decide("k1", ("R1", "R9"))
        assert not shown.may_decide("k1", ("R1", "R3"))
        assert not shown.may_decide("k2", ("R1", "R2"))
        shown.queued("k2", ["R1", "R3"])
        assert shown.may_decide("k2", ("R1", "R3"))
        assert not shown.may_read("k2", "E000001")  # the queue opens no entity
        clock.now = 3_601.0
        assert not shown.may_read("k1", "E000001")
        assert not shown.may_decide("k1", ("R1", "R2"))
        shown.searched("k1", hits=["E000002"], records=[])  # a sweep drops what lapsed
        assert shown._keys["k1"].entities.keys() == {"E000002"}
        assert not shown._keys["k1"].records

    def test_mostly_empty_searches_raise_one_alert_per_hour(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        clock = Clock()
        shown = Shown(3_600.0, clock=clock)
        with caplog.at_level("WARNING", logger="identmatch.server"):
            for i in range(40):
                shown.searched("k1", hits=["E000001"] if i % 10 == 0 else [], records=[])
                shown.searched("k2", hits=["E000002"], records=[])
        alerts = [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]
        assert alerts == [
            "ALERT key k1: 18 of its last 20 searches found nobody; it may be "
            "guessing at people (see its audit entries)"
        ]
        clock.now = 3_600.0
        shown.searched("k1", hits=[], records=[])
        assert sum("ALERT" in r.getMessage() for r in caplog.records) == 2
