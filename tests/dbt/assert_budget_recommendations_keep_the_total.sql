-- In max_value mode the recommended daily spends sum to the current total (the allocator moves budget, it does not
-- add or remove any); in the target modes they never exceed it.
with

recommendations as (

    select * from {{ ref('rpt_budget_recommendations') }}

),

totals as (

    select
        max(budget_mode) as budget_mode,
        sum(current_spend_reporting) as current_total,
        sum(recommended_spend_reporting) as recommended_total
    from recommendations

),

final as (

    select
        budget_mode,
        current_total,
        recommended_total
    from totals
    where
        (budget_mode = 'max_value' and abs(recommended_total - current_total) > 1e-6 * greatest(1, current_total))
        or recommended_total > current_total * (1 + 1e-9) + 1e-6

)

select * from final
