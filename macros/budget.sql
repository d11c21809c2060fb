{#- budget_marginal_columns: marginal ROAS (value curves) and marginal CPA (conversions curves) at current
    spend, from a curves relation's `response_metric` and `marginal_return_at_current`. -#}
{% macro budget_marginal_columns(curves) -%}
    cast(
        case when {{ curves }}.response_metric = 'value' then {{ curves }}.marginal_return_at_current end
        as double
    ) as marginal_roas,
    cast(
        case
            when {{ curves }}.response_metric = 'conversions' and {{ curves }}.marginal_return_at_current > 0
                then 1 / {{ curves }}.marginal_return_at_current
        end as double
    ) as marginal_cpa_reporting
{%- endmacro %}
