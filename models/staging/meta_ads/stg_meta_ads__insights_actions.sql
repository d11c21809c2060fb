{#- Meta's `actions` / `action_values` arrays, one row per ad, day, action type and attribution
    window (`default` = the ad's own attribution setting, Meta's `value`). Reads the latest
    version of each insights row, so a restated day replaces all of its actions. -#}
{%- set windows = ['default', '1d_click', '7d_click', '28d_click', '1d_view'] -%}

with

insights as (

    select
        account_id,
        ad_id,
        date_day,
        actions,
        action_values
    from {{ ref('stg_meta_ads__insights') }}

),

{% for kind in ['actions', 'action_values'] %}
{{ kind }}_unnested as (

    select
        insights.account_id,
        insights.ad_id,
        insights.date_day,
        unnest(cast(insights.{{ kind }} as json[])) as entry
    from insights
    where insights.{{ kind }} is not null

),

{{ kind }}_long as (

    {% for window in windows %}
    select
        account_id,
        ad_id,
        date_day,
        entry ->> 'action_type' as action_type,
        '{{ window }}' as attribution_window,
        cast(entry ->> '{{ "value" if window == "default" else window }}' as decimal(18, 6)) as amount
    from {{ kind }}_unnested
    where entry ->> '{{ "value" if window == "default" else window }}' is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

{% endfor %}

final as (

    select
        coalesce(actions_long.account_id, action_values_long.account_id) as account_id,
        coalesce(actions_long.ad_id, action_values_long.ad_id) as ad_id,
        coalesce(actions_long.date_day, action_values_long.date_day) as date_day,
        coalesce(actions_long.action_type, action_values_long.action_type) as action_type,
        coalesce(actions_long.attribution_window, action_values_long.attribution_window) as attribution_window,
        coalesce(actions_long.amount, 0) as action_count,
        coalesce(action_values_long.amount, 0) as action_value
    from actions_long
    full outer join action_values_long
        on
            actions_long.account_id = action_values_long.account_id
            and actions_long.ad_id = action_values_long.ad_id
            and actions_long.date_day = action_values_long.date_day
            and actions_long.action_type = action_values_long.action_type
            and actions_long.attribution_window = action_values_long.attribution_window

)

select * from final
