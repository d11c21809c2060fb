"""Budget allocation on attributed response curves (field notes 7.3): geometric adstock, Hill saturation fitted
on daily spend, a greedy allocator on marginal return within bounds, and forecasts with a residual band.

Values are attributed (correlational), not experimentally measured incremental: every result says so.
Used by the dbt project's budget models (``models/marts/budget``) and by ``adlake budget plan``.
"""

VALUE_BASIS = "attributed, not experimentally measured incremental"
