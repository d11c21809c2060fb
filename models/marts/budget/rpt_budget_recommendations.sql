{#- The recommended daily spend per paid attribution channel for the next period (int_budget__recommendations):
    current and recommended spend, their bounds, the expected daily change in attributed conversions and value
    at steady state, the marginal ROAS / CPA at the recommended spend, what bound it, and why in words. -#}

with

recommendations as (

    select * from {{ ref('int_budget__recommendations') }}

),

final as (

    select
        -- ids
        cast(recommendations.attribution_channel as varchar) as attribution_channel,

        -- strings
        cast('{{ var("budget_attribution_model") }}' as varchar) as attribution_model,
        cast(split_part(recommendations.attribution_channel, ':', 1) as varchar) as channel,
        cast(nullif(split_part(recommendations.attribution_channel, ':', 2), '') as varchar) as platform,
        cast(recommendations.mode as varchar) as budget_mode,
        cast(recommendations.binding_constraint as varchar) as binding_constraint,
        cast(recommendations.reason as varchar) as reason,
        cast(recommendations.value_basis as varchar) as value_basis,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: daily, money in the reporting currency
        cast(recommendations.target as double) as budget_target,
        cast(recommendations.current_spend as double) as current_spend_reporting,
        cast(recommendations.recommended_spend as double) as recommended_spend_reporting,
        cast(recommendations.recommended_spend - recommendations.current_spend as double) as spend_change_reporting,
        cast(recommendations.lower_bound as double) as lower_bound_spend_reporting,
        cast(recommendations.upper_bound as double) as upper_bound_spend_reporting,
        cast(recommendations.current_value as double) as current_value_reporting,
        cast(recommendations.recommended_value as double) as recommended_value_reporting,
        cast(recommendations.expected_value_change as double) as expected_value_change_reporting,
        cast(recommendations.current_conversions as double) as current_conversions,
        cast(recommendations.recommended_conversions as double) as recommended_conversions,
        cast(recommendations.expected_conversions_change as double) as expected_conversions_change,
        cast(recommendations.marginal_roas as double) as marginal_roas,
        cast(recommendations.marginal_cpa as double) as marginal_cpa_reporting,

        -- booleans
        recommendations.binding_constraint != 'not_fitted' as is_fitted

    from recommendations

)

select * from final
