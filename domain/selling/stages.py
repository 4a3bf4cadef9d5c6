"""The stages of a sale, why a deal closed, and the forecast categories stages default to.

A leaf of selling: it imports nothing of the concept, so every module that speaks of stages (opportunities,
pipelines, stage gates, team stage rules, forecasts) and every other concept can build on it without a cycle.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """A sales stage, in canonical order; the last two are closed."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    SOLUTION = "solution"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"

    @property
    def is_closed(self) -> bool:
        return self in (Stage.CLOSED_WON, Stage.CLOSED_LOST)


class CloseReason(StrEnum):
    """Why a deal was won or lost."""

    PRICE = "price"
    PRODUCT_FIT = "product_fit"
    RELATIONSHIP = "relationship"
    PARTNER = "partner"
    COMPETITOR = "competitor"
    NO_DECISION = "no_decision"
    BUDGET = "budget"
    TIMING = "timing"
    OTHER = "other"


class ForecastCategory(StrEnum):
    """The forecast bucket a deal counts in."""

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


# Probability and forecast category of each stage for a deal that follows no pipeline (and a pipeline's defaults).
STAGE_DEFAULTS: dict[Stage, tuple[int, ForecastCategory]] = {
    Stage.PROSPECTING: (10, ForecastCategory.PIPELINE),
    Stage.QUALIFICATION: (20, ForecastCategory.PIPELINE),
    Stage.SOLUTION: (40, ForecastCategory.BEST_CASE),
    Stage.PROPOSAL: (60, ForecastCategory.BEST_CASE),
    Stage.NEGOTIATION: (80, ForecastCategory.COMMIT),
    Stage.CLOSED_WON: (100, ForecastCategory.CLOSED),
    Stage.CLOSED_LOST: (0, ForecastCategory.OMITTED),
}
# Open stages in their canonical order.
OPEN_ORDER: list[Stage] = [s for s in Stage if not s.is_closed]
