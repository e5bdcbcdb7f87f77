"""The runtime operations in-process, on the known-answer world of ``world.py``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from openpersonalize.errors import InvalidInputException, ResourceNotFoundException
from openpersonalize.serving import recommend
from openpersonalize.serving.cache import (
    DATA_TTL_SECONDS,
    ROW_TTL_SECONDS,
    ServingCache,
    serving_cache,
)
from openpersonalize.store.event_log import LogConfig
from openpersonalize.wire import models
from openpersonalize.wire.serialize import Shaped, serialize
from tests.unit.serving.world import GENRES, N_WARM, T0, World


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("serving"))
    yield w
    w.ctx.event_log.close()


@pytest.fixture(scope="module")
def up(world: World) -> str:
    return world.campaign(world.version("aws-user-personalization"), "up")


@pytest.fixture(scope="module")
def sims(world: World) -> str:
    return world.campaign(world.version("aws-sims"), "sims")


@pytest.fixture(scope="module")
def ranking(world: World) -> str:
    return world.campaign(world.version("aws-personalized-ranking"), "pr")


OUTPUT = models.operation(models.RUNTIME, "GetRecommendations").output_shape


def recs(world: World, **params: Any) -> list[dict[str, Any]]:
    out = recommend.get_recommendations(world.ctx, params)
    assert out["recommendationId"].startswith("RID-")
    # Sent as it is (Shaped): it must be what the botocore output shape makes of it.
    assert isinstance(out, Shaped) and serialize(OUTPUT, dict(out)) == out
    items: list[dict[str, Any]] = out["itemList"]
    return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["itemId"] for i in items]


def put_events(world: World, user: str, *events: tuple[str, str]) -> None:
    log = world.ctx.event_log.open(world.datasets["Interactions"], LogConfig())
    now = T0 + 10_000
    log.append(
        [
            {"USER_ID": user, "ITEM_ID": item, "EVENT_TYPE": kind, "TIMESTAMP": now + k}
            for k, (kind, item) in enumerate(events)
        ]
    )


def test_user_personalization_returns_scored_items(world: World, up: str) -> None:
    items = recs(world, campaignArn=up, userId="u3")
    assert len(items) == 25 and len(set(ids(items))) == 25
    scores = [i["score"] for i in items]
    assert all(0 < s <= 1 for s in scores)
    assert len(recs(world, campaignArn=up, userId="u3", numResults=7)) == 7


def test_real_time_events_change_the_next_answer(world: World, up: str) -> None:
    before = ids(recs(world, campaignArn=up, userId="u7", numResults=10))
    put_events(world, "u7", *[("click", f"i{i}") for i in (30, 31, 32, 33, 34, 30, 31, 32)])
    after = ids(recs(world, campaignArn=up, userId="u7", numResults=10))
    assert before != after


def test_interactions_filter_sees_events_at_once(world: World, up: str) -> None:
    flt = world.filter(
        "no-purchase", 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")'
    )
    first = ids(recs(world, campaignArn=up, userId="u11", filterArn=flt))
    put_events(world, "u11", ("purchase", first[0]))
    second = ids(recs(world, campaignArn=up, userId="u11", filterArn=flt))
    assert first[0] not in second and len(second) == 25


def test_attribute_filters_and_back_fill(world: World, up: str) -> None:
    flt = world.filter("genre", "INCLUDE ItemID WHERE Items.GENRE IN ($G) AND Items.YEAR >= 2000")
    items = recs(world, campaignArn=up, userId="u2", filterArn=flt, filterValues={"G": '"comedy"'})
    comedies = {f"i{i}" for i in range(10, 40) if i % 4 == 0}
    assert set(ids(items)) <= comedies and len(items) == len(comedies)
    assert sum(i["score"] for i in items) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(InvalidInputException, match="needs filterValues"):
        recs(world, campaignArn=up, userId="u2", filterArn=flt)


def test_unknown_user_gets_popular_and_exploration(world: World, up: str) -> None:
    items = ids(recs(world, campaignArn=up, userId="nobody", numResults=20))
    assert len(items) == 20
    assert {f"i{i}" for i in range(N_WARM, 40)} & set(items)  # cold items explored
    config = {"itemExplorationConfig": {"explorationWeight": "0"}}
    quiet = world.campaign(
        world.version("aws-user-personalization", "up-quiet"), "q", campaignConfig=config
    )
    assert not {f"i{i}" for i in range(N_WARM, 40)} & set(
        ids(recs(world, campaignArn=quiet, userId="x"))
    )


def test_related_items(world: World, sims: str) -> None:
    items = ids(recs(world, campaignArn=sims, itemId="i4"))
    assert "i4" not in items and items
    assert all("score" not in i for i in recs(world, campaignArn=sims, itemId="i4"))
    assert len(recs(world, campaignArn=sims, itemId="never-seen")) == 25  # popular instead
    flt = world.filter("same-genre", "INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.GENRE")
    same = ids(recs(world, campaignArn=sims, itemId="i5", filterArn=flt))
    assert same and all(int(i[1:]) % 4 == 1 or int(i[1:]) % 10 == 0 for i in same)


def test_personalized_ranking_returns_every_item(world: World, ranking: str) -> None:
    inputs = ["i1", "i2", "unknown-a", "i3", "i30", "unknown-b"]
    out = recommend.get_personalized_ranking(
        world.ctx, {"campaignArn": ranking, "userId": "u1", "inputList": inputs}
    )["personalizedRanking"]
    assert sorted(i["itemId"] for i in out) == sorted(inputs)
    assert [i["itemId"] for i in out[-2:]] == ["unknown-a", "unknown-b"]
    assert all("score" not in i for i in out[-2:])
    assert sum(i["score"] for i in out[:-2]) == pytest.approx(1.0, abs=1e-5)


def test_wrong_arguments(world: World, up: str, sims: str, ranking: str) -> None:
    with pytest.raises(InvalidInputException, match="userId is required"):
        recs(world, campaignArn=up)
    with pytest.raises(InvalidInputException, match="itemId is required"):
        recs(world, campaignArn=sims, userId="u1")
    with pytest.raises(InvalidInputException, match="GetPersonalizedRanking"):
        recs(world, campaignArn=ranking, userId="u1")
    with pytest.raises(InvalidInputException, match="PERSONALIZED_RANKING"):
        recommend.get_personalized_ranking(
            world.ctx, {"campaignArn": up, "userId": "u1", "inputList": ["i1"]}
        )
    with pytest.raises(InvalidInputException, match="next-best-action"):
        recommend.get_action_recommendations(world.ctx, {"campaignArn": up, "userId": "u1"})
    with pytest.raises(InvalidInputException, match="at most 500"):
        recs(world, campaignArn=up, userId="u1", numResults=501)
    with pytest.raises(InvalidInputException, match="enableMetadataWithRecommendations"):
        recs(world, campaignArn=up, userId="u1", metadataColumns={"ITEMS": ["GENRE"]})
    missing = up.replace("campaign/up", "campaign/missing")
    with pytest.raises(ResourceNotFoundException):
        recs(world, campaignArn=missing, userId="u1")


def test_metadata_columns(world: World) -> None:
    arn = world.campaign(
        world.version("aws-user-personalization", "up-meta"),
        "meta",
        campaignConfig={"enableMetadataWithRecommendations": True},
    )
    items = recs(
        world, campaignArn=arn, userId="u1", numResults=5, metadataColumns={"ITEMS": ["GENRE"]}
    )
    for item in items:
        assert item["metadata"]["GENRE"].split("|")[0] == GENRES[int(item["itemId"][1:]) % 4]
    with pytest.raises(InvalidInputException, match="at most 50"):
        recs(
            world, campaignArn=arn, userId="u1", numResults=51, metadataColumns={"ITEMS": ["GENRE"]}
        )


def test_promotions(world: World, up: str) -> None:
    promo = world.filter("horror", 'INCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    plain = world.filter("not-horror", 'EXCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    items = recs(
        world,
        campaignArn=up,
        userId="u5",
        numResults=10,
        filterArn=plain,
        promotions=[{"name": "scary", "percentPromotedItems": 30, "filterArn": promo}],
    )
    promoted = [i for i in items if "promotionName" in i]
    assert len(items) == 10 and len(promoted) == 3
    assert all(i["promotionName"] == "scary" for i in promoted)
    assert all(int(i["itemId"][1:]) % 4 == 2 for i in promoted)  # GENRE horror
    assert all(int(i["itemId"][1:]) % 4 != 2 for i in items if "promotionName" not in i)


def test_v2_reasons_metadata_and_promotions_in_wire_form(world: World) -> None:
    """Every kind of entry a response can hold (score, promotionName, reason, metadata) is
    sent as built: :func:`recs` checks it against the output shape."""
    arn = world.campaign(
        world.version("aws-user-personalization-v2", "v2-wire"),
        "v2-wire",
        campaignConfig={
            "enableMetadataWithRecommendations": True,
            "itemExplorationConfig": {"explorationWeight": "1.0"},
        },
    )
    promo = world.filter("wire-horror", 'INCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    items = recs(
        world,
        campaignArn=arn,
        userId="u3",
        numResults=20,
        metadataColumns={"ITEMS": ["GENRE", "YEAR"]},
        promotions=[{"name": "scary", "percentPromotedItems": 20, "filterArn": promo}],
    )
    reasons = {r for i in items for r in i.get("reason", [])}
    assert {"Promoted item", "Exploration"} <= reasons
    assert all(set(i["metadata"]) == {"GENRE", "YEAR"} for i in items)


def test_promotion_errors(world: World, up: str) -> None:
    promo = world.filter("horror-only", 'INCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    one = {"name": "p", "percentPromotedItems": 30, "filterArn": promo}
    cases = [
        ([one, one], "At most one promotion"),
        ([{"name": "p", "percentPromotedItems": 30}], "needs a filterArn"),
        ([{**one, "percentPromotedItems": 0}], "between 1 and 100"),
        ([{**one, "percentPromotedItems": 101}], "between 1 and 100"),
    ]
    for promotions, message in cases:
        with pytest.raises(InvalidInputException, match=message):
            recs(world, campaignArn=up, userId="u5", promotions=promotions)


def test_update_switches_only_when_active(world: World) -> None:
    first = world.version("aws-popularity-count", "pop")
    arn = world.campaign(first, "switch")
    before = ids(recs(world, campaignArn=arn))
    second = world.version("aws-trending-now", "trend")
    world.op("UpdateCampaign", campaignArn=arn, solutionVersionArn=second)
    cache = serving_cache(world.ctx)
    cache._deployments.clear()
    assert ids(recs(world, campaignArn=arn)) == before  # not switched until the job ran
    world.run_jobs("campaign-update")
    described = world.op("DescribeCampaign", campaignArn=arn)["campaign"]
    assert described["latestCampaignUpdate"]["status"] == "ACTIVE"
    cache._deployments.clear()
    recs(world, campaignArn=arn)  # the new model loads in the background meanwhile
    for _ in range(100):
        if cache.deployment(arn).recipe_name == "aws-trending-now":
            break
        cache._deployments.clear()
        time.sleep(0.02)
    assert cache.deployment(arn).recipe_name == "aws-trending-now"
    assert np.all([len(recs(world, campaignArn=arn)) == 25])


def test_a_batch_answers_each_request_as_it_would_alone(world: World, up: str) -> None:
    """rank_batch over requests with different users, filters, promotions and list lengths
    gives each one what it gets alone (exploration off: no random draws). Scores agree to float32
    rounding: BLAS sums a batch's products in another order than one user's."""
    from openpersonalize.serving import ranking

    config = {"itemExplorationConfig": {"explorationWeight": "0"}}
    quiet = world.campaign(
        world.version("aws-user-personalization", "up-batch"), "batch", campaignConfig=config
    )
    genre_filter = world.filter("batch-genre", "INCLUDE ItemID WHERE Items.GENRE IN ($G)")
    promo = world.filter("batch-horror", 'INCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    params: list[dict[str, Any]] = [
        {"campaignArn": quiet, "userId": "u1"},
        {"campaignArn": quiet, "userId": "u2", "numResults": 3},
        {"campaignArn": quiet, "userId": "nobody"},
        {
            "campaignArn": quiet,
            "userId": "u3",
            "filterArn": genre_filter,
            "filterValues": {"G": '"comedy"'},
        },
        {
            "campaignArn": quiet,
            "userId": "u4",
            "numResults": 8,
            "promotions": [{"name": "p", "percentPromotedItems": 25, "filterArn": promo}],
        },
    ]
    plans = [recommend.recommendation_plan(world.ctx, p) for p in params]
    together = ranking.rank_batch(plans, np.random.default_rng(0))
    for plan, got in zip(plans, together, strict=True):
        alone = ranking.rank_batch([plan], np.random.default_rng(0))[0]
        assert not isinstance(got, Exception) and not isinstance(alone, Exception)
        if plan.promotion is None:  # promoted positions are drawn at random
            assert ids(got) == ids(alone)
            assert [i["score"] for i in got] == pytest.approx([i["score"] for i in alone], 1e-5)
        else:
            assert sorted(ids(got)) == sorted(ids(alone))
    assert [len(g) for g in together if isinstance(g, list)][1::3] == [3, 8]
    promoted = [i for i in together[4] if isinstance(i, dict) and "promotionName" in i]
    assert len(promoted) == 2


def test_ready_revalidates_in_the_background(world: World, up: str) -> None:
    """Requests keep resolving from memory across the TTLs: a background thread re-reads the
    deployment, the data and the filter before they expire."""
    now = [0.0]
    cache = ServingCache(world.ctx, clock=lambda: now[0])
    flt = world.filter("revalidate", 'EXCLUDE ItemID WHERE Items.GENRE IN ("horror")')
    params = {"campaignArn": up, "userId": "u1", "filterArn": flt}
    assert not cache.ready(params)  # nothing read yet: a worker thread resolves it

    def resolve() -> None:
        dep = cache.deployment(up)
        cache.group(dep.dataset_group).view(dep.model)
        cache.filter(flt, dep.dataset_group, related_items=False)

    def settle() -> None:
        for _ in range(500):
            if not cache._revalidating:
                return
            time.sleep(0.01)
        raise AssertionError("the re-read did not finish")

    resolve()
    assert cache.ready(params)
    now[0] = 0.5 * ROW_TTL_SECONDS  # fresh: nothing to do
    assert cache.ready(params) and not cache._revalidating
    now[0] = 0.7 * ROW_TTL_SECONDS  # getting old: re-read in the background
    assert cache.ready(params)
    settle()
    assert cache._deployments[up].checked == now[0]
    now[0] = 1.5 * ROW_TTL_SECONDS  # past the first read's TTL, within the re-read's
    assert cache.ready(params)
    settle()
    now[0] = 10 * DATA_TTL_SECONDS  # nobody asked meanwhile: everything is too old
    assert not cache.ready(params)
    resolve()
    world.op("DeleteFilter", filterArn=flt)
    now[0] += 0.7 * ROW_TTL_SECONDS
    assert cache.ready(params)  # the re-read meets the deletion and leaves it to the requests
    settle()
    now[0] += 0.35 * ROW_TTL_SECONDS
    assert not cache.ready(params)  # past its TTL: the request's own read reports the deletion
    with pytest.raises((ResourceNotFoundException, InvalidInputException)):
        cache.filter(flt, world.group, related_items=False)
