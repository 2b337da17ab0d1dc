"""The generalization table's bar: fp32 against the expert, each variant against fp32."""

from pilotnet_factory.generalize import LOOKS, cell, judge_fp32, judge_variant


def lap(mae, completed=True, distance=100.0):
    return {"lap_completed": completed, "position_deviation_mae_m": mae,
            "completed_distance_m": distance}


def test_fp32_bar_is_the_larger_of_1_5x_and_one_centimetre_over_the_expert():
    expert = lap(0.008)
    assert judge_fp32(expert, lap(0.018))  # expert + 1 cm beats 1.5x at 8 mm
    assert not judge_fp32(expert, lap(0.0181))
    expert = lap(0.030)
    assert judge_fp32(expert, lap(0.045))
    assert not judge_fp32(expert, lap(0.0451))
    assert not judge_fp32(expert, lap(0.001, completed=False))


def test_variants_are_held_to_1_5x_fp32_and_must_finish():
    fp32 = lap(0.02)
    assert judge_variant(fp32, lap(0.03))
    assert not judge_variant(fp32, lap(0.0301))
    assert not judge_variant(lap(0.02, completed=False), lap(0.01))


def test_cells_say_what_happened():
    assert cell(lap(0.01234)) == "0.0123"
    assert cell(lap(0.5, completed=False, distance=42.4)) == "off after 42 m"
    assert cell({"error": "boom"}) == "error: boom"


def test_held_out_looks_are_ones_the_recorder_never_draws():
    # The recorder's held-out pair (LookRange::gazebo): salmon line beside teal walls.
    flags = LOOKS["held-out colours"]
    assert flags[flags.index("--line-rgb") + 1] == "255,102,102"
    assert flags[flags.index("--wall") + 1] == "teal"
