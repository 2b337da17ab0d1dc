"""The real frames' strong-turn slope."""

from pilotnet_factory.realframes import strong_turn_gain


def test_strong_turns_answered_at_two_thirds_give_a_gain_of_two_thirds():
    # Only |w_expert| >= 2 counts; the expert's -6 is limited to -4.5 first.
    pairs = [(0.3, 0.1), (1.0, 1.5), (2.0, 3.0), (-2.0, -3.0), (-3.0, -6.0)]
    assert abs(strong_turn_gain(pairs, -4.5, 4.5) - (6 + 6 + 13.5) / (9 + 9 + 20.25)) < 1e-12


def test_no_strong_turn_gives_no_gain():
    assert strong_turn_gain([(0.3, 0.1), (1.0, 1.9)], -4.5, 4.5) is None
