"""Multi-touch attribution over journeys: rule-based models, exact first-order Markov removal effects
and Shapley values, vectorised with NumPy over paths in a compressed (offsets + flat arrays) layout.

Used by the dbt project's attribution models and by ``adlake attribute`` for any journeys file.
"""
