"""The creator workflow: applied → approved → active → completed, or declined."""

from __future__ import annotations

from loupe.campaigns.creators.models import Stage

# Moves a team makes in practice: forward one step, back one step before work starts, decline any time
# before completion, reconsider a declined creator, reopen a completed one.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.applied: frozenset({Stage.approved, Stage.declined}),
    Stage.approved: frozenset({Stage.applied, Stage.active, Stage.declined}),
    Stage.active: frozenset({Stage.completed, Stage.declined}),
    Stage.completed: frozenset({Stage.active}),
    Stage.declined: frozenset({Stage.applied}),
}

# Creators at these stages get their own copy of every campaign-level tracking link.
PAST_APPLIED: frozenset[Stage] = frozenset({Stage.approved, Stage.active, Stage.completed})


def allowed(current: Stage, target: Stage) -> bool:
    return target in TRANSITIONS[current]


def describe(current: Stage) -> str:
    return ", ".join(sorted(s.value for s in TRANSITIONS[current]))
