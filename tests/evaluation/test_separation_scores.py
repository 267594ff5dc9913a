"""``mirctl.evaluation.separation``: every score against mir_eval and the nSDR formula
computed here, through resampling, channel and length mismatches and silent stems."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mirctl.dsp import resample
from mirctl.evaluation import separation as sep

SR = 8000


def signals(seed: int, channels: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A reference and an imperfect estimate of it."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    ref = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 900) * t) + 0.1 * rng.standard_normal((channels, n))
    est = 0.8 * ref + 0.05 * rng.standard_normal((channels, n))
    return ref.astype(np.float32), est.astype(np.float32)


def nsdr(r: np.ndarray, e: np.ndarray) -> float:
    r, e = r.astype(np.float64), e.astype(np.float64)
    return float(10 * np.log10((np.sum(r ** 2) + 1e-8) / (np.sum((r - e) ** 2) + 1e-8)))


def bss_sdr(refs: list[np.ndarray], ests: list[np.ndarray]) -> list[float]:
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return list(mir_eval.separation.bss_eval_sources(np.stack(refs), np.stack(ests), compute_permutation=False)[0])


def test_scores_equal_mir_eval_and_the_nsdr_formula_for_several_stems():
    (va, ve), (da, de), (ba, be) = signals(0, 2, 3 * SR), signals(1, 2, 3 * SR), signals(2, 2, 3 * SR)
    refs = {"vocals": (va, SR), "drums": (da, SR), "bass": (ba, SR)}
    res = sep.evaluate(refs, {"vocals": ve, "drums": de, "bass": be, "other": de}, SR)
    assert res["evaluated"] == ["bass", "drums", "vocals"] and res["missing"] == ["other"]
    assert set(res["stems"]) == {"bass", "drums", "vocals"}
    want = bss_sdr([ba.mean(0), da.mean(0), va.mean(0)], [be.mean(0), de.mean(0), ve.mean(0)])
    for stem, (r, e), sdr in zip(("bass", "drums", "vocals"), ((ba, be), (da, de), (va, ve)), want):
        assert res["stems"][stem]["nsdr_db"] == pytest.approx(nsdr(r, e), abs=1e-9)
        assert res["stems"][stem]["sdr_db"] == pytest.approx(sdr, abs=1e-6)
        assert isinstance(res["stems"][stem]["sdr_db"], float) and isinstance(res["stems"][stem]["nsdr_db"], float)
        assert 5 < res["stems"][stem]["sdr_db"] < 40


def test_the_reference_is_resampled_to_the_estimates_rate_and_both_cut_to_the_shorter():
    ref, _ = signals(3, 1, 4 * SR)
    ref_hi = resample(ref, SR, 2 * SR)  # the reference file is at twice the rate
    est = (0.9 * ref[:, : 3 * SR] + 0.01).astype(np.float32)  # a shorter estimate
    res = sep.evaluate({"vocals": (ref_hi, 2 * SR), "drums": (ref, SR)}, {"vocals": est, "drums": est}, SR)
    back = resample(ref_hi, 2 * SR, SR)[:, : 3 * SR]
    assert res["stems"]["vocals"]["nsdr_db"] == pytest.approx(nsdr(back, est), abs=1e-9)
    assert res["stems"]["drums"]["nsdr_db"] == pytest.approx(nsdr(ref[:, : 3 * SR], est), abs=1e-9)
    # a longer estimate is cut to the reference instead
    longer = np.concatenate([est, np.ones((1, SR), np.float32)], axis=1)
    cut = sep.evaluate({"drums": (ref[:, : 3 * SR], SR)}, {"drums": longer}, SR)
    assert cut["stems"]["drums"]["nsdr_db"] == pytest.approx(nsdr(ref[:, : 3 * SR], est), abs=1e-9)


def test_stems_of_different_lengths_are_scored_jointly_over_the_shortest():
    (a, ae), (b, be) = signals(4, 1, 3 * SR), signals(5, 1, 2 * SR)
    res = sep.evaluate({"a": (a, SR), "b": (b, SR)}, {"a": ae, "b": be}, SR)
    m = 2 * SR
    assert [res["stems"][k]["sdr_db"] for k in "ab"] == pytest.approx(bss_sdr([a[0, :m], b[0]], [ae[0, :m], be[0]]),
                                                                       abs=1e-6)
    assert res["stems"]["a"]["nsdr_db"] == pytest.approx(nsdr(a, ae), abs=1e-9)  # its own full length


def test_a_mono_estimate_of_a_stereo_reference_is_scored_on_downmixes():
    ref, est = signals(6, 2, 2 * SR)
    mono = est.mean(axis=0, keepdims=True)
    res = sep.evaluate({"vocals": (ref, SR), "x": (ref, SR)}, {"vocals": mono, "x": est}, SR)
    assert res["stems"]["vocals"]["nsdr_db"] == pytest.approx(nsdr(ref.mean(0, keepdims=True), mono), abs=1e-9)
    assert res["stems"]["x"]["nsdr_db"] == pytest.approx(nsdr(ref, est), abs=1e-9)  # both stereo: all channels
    assert res["stems"]["x"]["nsdr_db"] != pytest.approx(res["stems"]["vocals"]["nsdr_db"], abs=1e-3)


def test_nsdr_of_exact_and_silent_stems_is_the_formulas_with_its_small_constants():
    ref, _ = signals(7, 1, SR)
    zero = np.zeros((1, SR), np.float32)
    res = sep.evaluate({"same": (ref, SR), "quiet": (zero, SR)}, {"same": ref.copy(), "quiet": zero}, SR)
    energy = float(np.sum(ref.astype(np.float64) ** 2))
    assert res["stems"]["same"]["nsdr_db"] == pytest.approx(10 * np.log10((energy + 1e-8) / 1e-8), abs=1e-9)
    assert res["stems"]["quiet"]["nsdr_db"] == 0.0
    assert res["stems"]["quiet"]["sdr_db"] is None  # BSS Eval is undefined for a silent reference
    assert res["stems"]["same"]["sdr_db"] > 100


def test_a_silent_reference_gets_no_sdr_and_the_others_are_scored_without_it():
    (a, ae), (b, be) = signals(8, 1, 2 * SR), signals(9, 1, 2 * SR)
    zero = np.zeros_like(a)
    res = sep.evaluate({"a": (a, SR), "silent": (zero, SR), "b": (b, SR)}, {"a": ae, "silent": be, "b": be}, SR)
    assert res["stems"]["silent"]["sdr_db"] is None
    assert res["stems"]["silent"]["nsdr_db"] == pytest.approx(nsdr(zero, be), abs=1e-9)
    assert [res["stems"][k]["sdr_db"] for k in "ab"] == pytest.approx(bss_sdr([a[0], b[0]], [ae[0], be[0]]), abs=1e-6)
    only = sep.evaluate({"silent": (zero, SR)}, {"silent": be}, SR)
    assert only == {"evaluated": ["silent"], "missing": [], "stems": {"silent": {"nsdr_db": nsdr(zero, be),
                                                                                 "sdr_db": None}}}


def test_score_leaves_out_stems_without_a_reference_file():
    ref, est = signals(10, 1, SR)
    res = sep.score(({"vocals": est, "drums": est}, SR), {"vocals": (ref, SR), "drums": None})
    assert res["evaluated"] == ["vocals"] and res["missing"] == ["drums"]
    assert res["stems"]["vocals"] == sep.evaluate({"vocals": (ref, SR)}, {"vocals": est}, SR)["stems"]["vocals"]
    assert sep.score(({"drums": est}, SR), {"drums": None}) == {"evaluated": [], "missing": ["drums"]}


def test_summary_is_the_median_sdr_per_stem_rounded_to_centibels():
    def rec(**sdr):
        return {"status": "ok", "result": {"eval": {"stems": {k: {"sdr_db": v, "nsdr_db": 0.0} for k, v in sdr.items()}}}}

    records = [rec(vocals=1.004, drums=None), rec(vocals=3.0, drums=2.0), rec(vocals=7.5, bass=-1.2345),
               {"status": "failed", "result": {}}, {"status": "ok"}, {"result": {"eval": {"stems": None}}},
               {"result": {"eval": {"evaluated": [], "missing": ["x"]}}}]
    assert sep.summarize(records) == {"median_sdr_db": {"bass": -1.23, "drums": 2.0, "vocals": 3.0}}
    assert list(sep.summarize(records)["median_sdr_db"]) == ["bass", "drums", "vocals"]
    assert sep.summarize([rec(vocals=1.0), rec(vocals=2.0)]) == {"median_sdr_db": {"vocals": 1.5}}
    assert sep.summarize([rec(vocals=None)]) == {} and sep.summarize([]) == {}


def test_validation_names_the_side_and_accepts_good_stems():
    good = np.zeros((2, 10))
    sep.validate({"a": (good, SR)}, {"a": good})  # no error
    with pytest.raises(sep.ValidationError) as err:
        sep.validate({"a": (good, SR)}, {"b": np.zeros((1, 2, 3))})
    assert err.value.message == "estimate stem 'b' has shape (1, 2, 3); expected (channels, samples)"
    inf = good.copy()
    inf[1, 9] = np.inf
    with pytest.raises(sep.ValidationError) as err:
        sep.validate({"r": (inf, SR)}, {})
    assert err.value.message == "reference stem 'r' holds NaN or infinite samples"
