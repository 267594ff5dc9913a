"""MusDr's H and GS (mirctl.evaluation.symbolic) against values worked out by hand, and
the homework CSV byte for byte."""

from __future__ import annotations

import math

import pytest

from mirctl.evaluation import symbolic as sym


def test_bars_from_tokens_reads_positions_and_pitches_and_drops_a_trailing_marker():
    tokens = ["Pitch_50", "Bar_None", "Position_0", "Tempo_120.0", "Pitch_60", "Velocity_90", "Duration_1.0.4",
              "Position_4", "Pitch_64", "Pitch_67", "Bar_None", "Bar_None", "Position_15", "Pitch_61", "Bar_None"]
    bars = sym.bars_from_tokens(tokens)
    # the note before the first bar is left out; the empty second bar stays; the trailing marker goes
    assert bars == [[(0, 60), (4, 64), (4, 67)], [], [(15, 61)]]
    assert sym.bars_from_tokens(["Bar_None", "Position_2", "Pitch_70", "Bar_None", "Position_0"]) == [[(2, 70)], []]


def test_histogram_entropy_in_bits():
    assert sym.histogram_entropy([1, 1]) == pytest.approx(1.0)
    assert sym.histogram_entropy([2, 0, 2, 2, 2]) == pytest.approx(2.0)
    assert sym.histogram_entropy([5]) == 0.0
    assert sym.histogram_entropy([1, 3]) == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))


def test_pitch_class_entropy_over_sliding_windows():
    # bar 0: C, E (two classes: 1 bit); bar 1: C, C12 (one class: 0); bar 2: no notes; bar 3: C, D, E, F#
    bars = [[(0, 60), (8, 64)], [(0, 48), (4, 72)], [], [(0, 60), (4, 62), (8, 64), (12, 66)]]
    # H1: windows with notes 1, 0, 2 bits (the empty bar is left out) -> mean 1
    assert sym.pitch_class_entropy(bars, 1) == pytest.approx(1.0)
    # H4: one window of all 8 notes: C x4, E x2, D, F# -> entropy of (4, 2, 1, 1)/8
    p = [0.5, 0.25, 0.125, 0.125]
    assert sym.pitch_class_entropy(bars, 4) == pytest.approx(-sum(q * math.log2(q) for q in p))
    # H2: windows (0,1): C x3, E -> (3,1); (1,2): C x2 -> 0; (2,3): (1,1,1,1) -> 2
    h31 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert sym.pitch_class_entropy(bars, 2) == pytest.approx((h31 + 0 + 2) / 3)
    # a window longer than the piece shrinks to the piece (MusDr falls back the same way)
    assert sym.pitch_class_entropy(bars[:2], 4) == pytest.approx(h31)
    assert sym.pitch_class_entropy([[], []], 1) is None


def test_grooving_similarity_is_one_minus_xor_over_all_pairs():
    a = [(0, 60), (4, 60), (8, 60), (12, 60)]
    b = [(0, 60), (8, 62), (8, 64)]            # onsets at 0, 8 (a chord counts once)
    c = [(2, 60)]
    bars = [a, b, c]
    # pairs: a-b differ at 4, 12 -> 1 - 2/16; a-c differ at 0,4,8,12,2 -> 1 - 5/16; b-c differ at 0,8,2 -> 1 - 3/16
    expected = ((1 - 2 / 16) + (1 - 5 / 16) + (1 - 3 / 16)) / 3
    assert sym.grooving_similarity(bars, 16) == pytest.approx(expected)
    assert sym.grooving_similarity([a, a], 16) == 1.0
    assert sym.grooving_similarity([a, []], 16) == pytest.approx(1 - 4 / 16)
    assert sym.grooving_similarity([a], 16) is None
    # another grid size divides by its own length
    assert sym.grooving_similarity([[(0, 1)], [(1, 1)]], 4) == pytest.approx(0.5)


def test_piece_metrics_and_the_homework_table():
    bars = [[(0, 60), (8, 64)], [(0, 60), (8, 64)]]
    m = sym.piece_metrics(bars)
    assert m == {"H1": pytest.approx(1.0), "H4": pytest.approx(1.0), "GS": 1.0, "bars": 2, "notes": 4}
    one = sym.piece_metrics([[(0, 60)]])
    assert one["GS"] is None and one["H1"] == 0.0
    text = sym.homework_csv([("b", m), ("a", {"H1": 2.0, "H4": 3.0, "GS": 0.5}), ("c", one)])
    assert text == ("piece_name,H1,H4,GS\n"
                    "a,2.0000,3.0000,0.5000\n"
                    "b,1.0000,1.0000,1.0000\n"
                    "c,0.0000,0.0000,\n"
                    "mean,1.0000,1.3333,0.7500\n")


def test_edges_and_the_run_summary():
    # a pitch straight after a Bar sits at position 0
    assert sym.bars_from_tokens(["Bar_None", "Pitch_60", "Position_3", "Pitch_62", "Bar_None", "Pitch_64"]) == \
        [[(0, 60), (3, 62)], [(0, 64)]]
    with pytest.raises(ValueError) as err:
        sym.pitch_class_entropy([[(0, 60)]], 0)
    assert str(err.value) == "window must be at least 1 bar"
    assert sym.grooving_similarity([[], []], 16) == 1.0  # two empty bars groove alike
    assert sym.mean_row([{"H1": None, "H4": 2.0, "GS": float("nan")}, {"H1": None, "H4": 3.0, "GS": 0.5}]) == \
        {"H1": None, "H4": 2.5, "GS": 0.5}
    records = [{"status": "ok", "result": {"H1": 1.0, "H4": 2.0, "GS": 0.5}},
               {"status": "ok", "result": {"H1": 2.0, "H4": None, "GS": 0.25}},
               {"status": "failed", "result": {}}]
    assert sym.summarize(records) == {"mean": {"H1": 1.5, "H4": 2.0, "GS": 0.375}}
    assert sym.summarize([{"status": "failed", "result": {}}]) == {}
    assert sym.table_columns(["GS", "notes", "H1", "other", "bars", "H4"]) == \
        [("H1", "H1"), ("H4", "H4"), ("GS", "GS"), ("bars", "bars"), ("notes", "notes")]


def test_no_bar_no_piece_and_the_default_grid_is_16_positions():
    assert sym.bars_from_tokens([]) == [] and sym.bars_from_tokens(["Pitch_60", "Position_2"]) == []
    assert sym.bars_from_tokens(["Bar_None"]) == []  # only a trailing marker
    assert sym.bars_from_tokens(iter(["Bar_None", "Pitch_60", "Bar_None"])) == [[(0, 60)]]  # any iterable
    assert sym.grooving_similarity([[(0, 60)], [(1, 60)]]) == 1 - 2 / 16
    assert sym.histogram_entropy([3, 0, 1]) == sym.histogram_entropy([0.75, 0.25])


def test_piece_metrics_use_windows_of_1_and_4_bars_and_the_pieces_grid():
    # five bars of 1, 2, 1, 4, 1 pitch classes: H1, H2, H4 and H5 all differ
    bars = [[(0, 60)], [(0, 60), (4, 62)], [(0, 64)], [(0, 60), (2, 62), (4, 64), (6, 65)], [(3, 67)]]
    m = sym.piece_metrics(bars)
    assert m["H1"] == sym.pitch_class_entropy(bars, 1) != sym.pitch_class_entropy(bars, 2)
    assert m["H4"] == sym.pitch_class_entropy(bars, 4) != sym.pitch_class_entropy(bars, 5)
    assert m["GS"] == sym.grooving_similarity(bars, 16) and (m["bars"], m["notes"]) == (5, 9)
    assert sym.piece_metrics(bars, 8)["GS"] == sym.grooving_similarity(bars, 8) != m["GS"]
    assert sym.piece_metrics([]) == {"H1": None, "H4": None, "GS": None, "bars": 0, "notes": 0}
    # two pieces of one name (from different folders) keep their order in the table
    a, b = {"H1": 1.0, "H4": 1.0, "GS": 0.5}, {"H1": 2.0, "H4": None, "GS": None}
    assert sym.homework_csv([("x", a), ("x", b)]).splitlines()[1:3] == ["x,1.0000,1.0000,0.5000", "x,2.0000,,"]


def test_the_run_summary_rounds_to_4_places_and_counts_finished_pieces_only():
    records = [{"status": "ok", "result": {"H1": 1 / 3, "H4": None, "GS": 0.123456}},
               {"status": "skipped", "result": {"H1": 9.0, "H4": 9.0, "GS": 9.0}},  # an existing output
               {"status": "ok", "result": {}}]
    assert sym.summarize(records) == {"mean": {"H1": 0.3333, "H4": None, "GS": 0.1235}}
