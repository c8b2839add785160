"""Semantic version parsing and precedence (semver.org §11), with property tests."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kerops.system import semver
from kerops.system.semver import Version, compare, parse

numbers = st.integers(min_value=0, max_value=10**6)
numeric_ids = st.integers(min_value=0, max_value=10**6).map(str)
alnum_ids = st.from_regex(r"\A[0-9a-zA-Z-]*[a-zA-Z-][0-9a-zA-Z-]*\Z").filter(lambda s: len(s) <= 8)
prerelease_ids = st.one_of(numeric_ids, alnum_ids)
build_ids = st.from_regex(r"\A[0-9a-zA-Z-]{1,6}\Z")
# Small pools of parts make equal majors, minors, patches and identifiers likely, so the deeper
# comparison rules are actually exercised.
versions = st.builds(
    Version,
    st.sampled_from([0, 1, 2, 10]),
    st.sampled_from([0, 1, 9, 10]),
    st.sampled_from([0, 1, 2]),
    st.lists(st.sampled_from(["alpha", "beta", "rc", "1", "2", "11", "a-1"]), max_size=3).map(
        tuple
    ),
    st.lists(build_ids, max_size=2).map(tuple),
)
any_versions = st.builds(
    Version,
    numbers,
    numbers,
    numbers,
    st.lists(prerelease_ids, max_size=4).map(tuple),
    st.lists(build_ids, max_size=3).map(tuple),
)


def test_spec_example_ordering() -> None:
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.9.0",
        "1.10.0",
        "1.11.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ]
    for lower, higher in itertools.pairwise(chain):
        assert compare(lower, higher) == -1, (lower, higher)
        assert compare(higher, lower) == 1, (higher, lower)
    assert [str(v) for v in sorted(parse(v) for v in reversed(chain))] == chain


def test_numeric_parts_compare_as_numbers_not_strings() -> None:
    assert parse("1.10.0") > parse("1.9.0")
    assert parse("10.0.0") > parse("9.99.99")
    assert parse("1.0.0-rc.10") > parse("1.0.0-rc.9")


def test_numeric_identifiers_rank_below_alphanumeric_ones() -> None:
    assert parse("1.0.0-999") < parse("1.0.0-a")
    assert parse("1.0.0-alpha.99") < parse("1.0.0-alpha.a")


def test_build_metadata_is_ignored() -> None:
    assert compare("1.0.0+001", "1.0.0+20130313144700") == 0
    assert parse("1.0.0-beta+exp.sha.5114f85") == parse("1.0.0-beta")
    assert hash(parse("1.0.0+a")) == hash(parse("1.0.0+b"))


@pytest.mark.parametrize(
    "text",
    [
        "1",
        "1.0",
        "1.0.0.0",
        "01.0.0",
        "1.02.0",
        "1.0.0-",
        "1.0.0-01",
        "1.0.0-alpha..1",
        "1.0.0+",
        "1.0.0+a..b",
        "v1.0.0",
        " 1.0.0",
        "1.0.0 ",
        "1.0.0-ß",
        "1.0.0-\u0661",  # a non-ASCII digit
        "",
    ],
)
def test_invalid_versions_are_refused(text: str) -> None:
    assert not semver.is_valid(text)
    with pytest.raises(ValueError):
        parse(text)


@pytest.mark.parametrize(
    "text", ["0.0.0", "1.2.3-0", "1.0.0-0A.is.legal", "1.0.0-x-y-z.--", "1.0.0+0.build.1-rc"]
)
def test_valid_versions_round_trip(text: str) -> None:
    assert str(parse(text)) == text


@given(any_versions)
def test_text_round_trips(version: Version) -> None:
    again = parse(str(version))
    assert str(again) == str(version)
    assert again == version


@given(versions, versions)
def test_ordering_is_total_and_antisymmetric(a: Version, b: Version) -> None:
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a < b) == (b > a)
    assert compare(str(a), str(b)) == -compare(str(b), str(a))
    if a == b:
        assert hash(a) == hash(b)


def _reference_compare(a: Version, b: Version) -> int:
    """Semver §11 spelled out step by step, independent of the sort key used by the code."""
    for x, y in ((a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease or not b.prerelease:
        return (not a.prerelease) - (not b.prerelease)
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return (len(a.prerelease) > len(b.prerelease)) - (len(a.prerelease) < len(b.prerelease))


@given(versions, versions)
def test_precedence_matches_the_spec_step_by_step(a: Version, b: Version) -> None:
    assert compare(str(a), str(b)) == _reference_compare(a, b)


@given(any_versions, any_versions)
def test_precedence_matches_the_spec_on_any_versions(a: Version, b: Version) -> None:
    assert compare(str(a), str(b)) == _reference_compare(a, b)


@given(versions, versions, versions)
def test_ordering_is_transitive(a: Version, b: Version, c: Version) -> None:
    if a <= b and b <= c:
        assert a <= c
    if a < b and b < c:
        assert a < c


@given(st.lists(versions, min_size=1, max_size=12))
def test_sorting_agrees_with_pairwise_comparison(items: list[Version]) -> None:
    ordered = sorted(items)
    for lower, higher in itertools.pairwise(ordered):
        assert not higher < lower
    assert max(items) == ordered[-1]


@given(versions, st.lists(build_ids, min_size=1, max_size=2).map(tuple))
def test_build_metadata_never_changes_precedence(a: Version, build: tuple[str, ...]) -> None:
    with_build = Version(a.major, a.minor, a.patch, a.prerelease, build)
    assert with_build == a


@given(versions)
def test_a_prerelease_ranks_below_its_release(a: Version) -> None:
    release = Version(a.major, a.minor, a.patch)
    if a.prerelease:
        assert a < release
    else:
        assert a == release


@given(any_versions, any_versions)
def test_core_numbers_decide_first(a: Version, b: Version) -> None:
    if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch):
        assert (a < b) == ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch))
