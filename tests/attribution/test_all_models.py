"""Every model on one hand-computed fixture: single touch, two touches, repeated channel, direct only,
lookback edge, touch after conversion ignored (field notes 5.6).

Markov by hand (after windowing): start -> search 1, social 3, email 1, direct 1, display 1 (of 7);
social -> search 1, conv 1, null 1; email -> email 1, search 1; direct -> direct 1, conv 1; display -> search 1;
search -> conv 4. P(conv) = (1 + 3 * 2/3 + 1 + 1 + 1) / 7 = 6/7. Removing search: 2/7, so RE 2/3; social:
4/7, RE 1/3; email, direct, display: 5/7 each, RE 1/6.

Shapley by hand: p({search}) = p({social, search}) = p({email, search}) = p({display, search}) = p({direct}) = 1,
p({social}) = 1/2 (late converts, lost does not), {email} and {display} unseen (0). For {social, search}:
phi_social = (1/2 + 0) / 2 = 1/4, phi_search = (1 + 1/2) / 2 = 3/4; for {email, search}: phi_email = 0,
phi_search = 1; likewise {display, search}.
"""

from __future__ import annotations

import pytest

from attribution.engine import MODELS, model_credits
from tests.attribution.helpers import credits_by_journey, paths_of

SPEC = {
    "single": ([(0, "search")], 1, 10.0),
    "two": ([(0, "social"), (1, "search")], 2, 20.0),
    "repeat": ([(0, "email"), (1, "email"), (2, "search")], 3, 30.0),
    "direct_only": ([(0, "direct"), (1, "direct")], 2, 5.0),
    "late": ([(0, "social"), (5, "search")], 2, 8.0),  # the search touch is after the conversion: ignored
    "edge": ([(-0.5, "email"), (0, "display"), (30, "search")], 30, 6.0),  # day 0 is exactly 30 days before
    "lost": ([(0, "social")], None, None),
}


def _decay(*days_before: float, h: float = 7.0) -> list[float]:
    weights = [2 ** (-d / h) for d in days_before]
    return [w / sum(weights) for w in weights]


EXPECTED = {
    "first_touch": {"two": [1, 0], "repeat": [1, 0, 0], "direct_only": [1, 0], "edge": [1, 0]},
    "last_touch": {"two": [0, 1], "repeat": [0, 0, 1], "direct_only": [0, 1], "edge": [0, 1]},
    "last_non_direct": {"two": [0, 1], "repeat": [0, 0, 1], "direct_only": [0, 1], "edge": [0, 1]},
    "linear": {"two": [0.5, 0.5], "repeat": [1 / 3] * 3, "direct_only": [0.5, 0.5], "edge": [0.5, 0.5]},
    "time_decay": {"two": _decay(2, 1), "repeat": _decay(3, 2, 1), "direct_only": _decay(2, 1),
                   "edge": _decay(30, 0)},
    "position_based": {"two": [0.5, 0.5], "repeat": [0.4, 0.2, 0.4], "direct_only": [0.5, 0.5],
                       "edge": [0.5, 0.5]},
    "custom": {"two": [0.5, 0.5], "repeat": [3 / 7, 1 / 7, 3 / 7], "direct_only": [0.5, 0.5], "edge": [0.5, 0.5]},
    "markov": {"two": [1 / 3, 2 / 3], "repeat": [0.1, 0.1, 0.8], "direct_only": [0.5, 0.5], "edge": [0.2, 0.8]},
    "shapley": {"two": [0.25, 0.75], "repeat": [0, 0, 1], "direct_only": [0.5, 0.5], "edge": [0, 1]},
}


@pytest.mark.parametrize("model", MODELS)
def test_hand_computed_credits(model):
    paths = paths_of(SPEC, lookback_days=30)
    assert paths.skipped == {"touches_after_conversion": 1, "outside_lookback": 1}
    credit = credits_by_journey(paths, model_credits(paths, model))
    expected = {"single": [1.0], "late": [1.0], "lost": [0.0], **EXPECTED[model]}
    assert credit == {jid: pytest.approx(values, abs=1e-12) for jid, values in expected.items()}
