{#- Journeys for attribution (field notes 5.1): each attributed conversion's path (its person's touches at
    or before it, within var `attribution_lookback_days`) and each person's non-converting path (their
    touches after their last attributed conversion, or all of them when they never converted, within the
    lookback window ending at their last such touch). Only touches and conversions with journey consent,
    of a known person. A touch may sit in several conversions' paths (fractribution's and Snowplow's
    choice). The lookback is in exact hours (24 per day), whatever the session's time zone. -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set names = var('attribution_conversion_names') if execute else ['purchase', 'lead'] -%}
{%- set lookback_hours = 24 * (var('attribution_lookback_days') if execute else 30) -%}

with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

ad_performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

-- the campaign of each ad the platforms report (a touch names its ad in utm_content)
ad_campaigns as (

    select
        platform,
        ad_id,
        min(campaign_id) as campaign_id
    from ad_performance
    group by platform, ad_id

),

journey_touches as (

    select
        touchpoints.touchpoint_id,
        touchpoints.person_key,
        touchpoints.channel,
        touchpoints.platform,
        coalesce(touchpoints.campaign_id, ad_campaigns.campaign_id) as campaign_id,
        touchpoints.touched_at
    from touchpoints
    left join ad_campaigns
        on
            touchpoints.platform = ad_campaigns.platform
            and touchpoints.ad_id = ad_campaigns.ad_id
    where
        touchpoints.has_journey_consent
        and touchpoints.person_key is not null

),

-- every conversion of an attributed name, whatever its consent: a denied one is not attributed, but its
-- person's touches before it are not a non-converting path either
named_conversions as (

    select
        conversion_id,
        person_key,
        lead_conversion_id,
        occurred_at,
        value_reporting,
        has_journey_consent
    from conversions
    where
        conversion_name in ('{{ names | join("', '") }}')
        and person_key is not null

),

attributed_conversions as (

    select
        named_conversions.conversion_id,
        named_conversions.person_key,
        named_conversions.occurred_at,
        named_conversions.value_reporting,
        leads.occurred_at as lead_converted_at
    from named_conversions
    left join conversions as leads
        on named_conversions.lead_conversion_id = leads.conversion_id
    where named_conversions.has_journey_consent

),

converting_touches as (

    select
        attributed_conversions.conversion_id as path_id,
        attributed_conversions.conversion_id,
        journey_touches.touchpoint_id,
        journey_touches.person_key,
        journey_touches.channel,
        journey_touches.platform,
        journey_touches.campaign_id,
        journey_touches.touched_at,
        attributed_conversions.occurred_at as converted_at,
        coalesce(attributed_conversions.value_reporting, 0) as conversion_value,
        attributed_conversions.lead_converted_at
    from attributed_conversions
    inner join journey_touches
        on
            attributed_conversions.person_key = journey_touches.person_key
            and attributed_conversions.occurred_at >= journey_touches.touched_at
            and attributed_conversions.occurred_at - to_hours({{ lookback_hours }}) <= journey_touches.touched_at

),

person_last_conversions as (

    select
        person_key,
        max(occurred_at) as last_converted_at
    from named_conversions
    group by person_key

),

touches_after_last_conversion as (

    select
        journey_touches.*,
        max(journey_touches.touched_at) over (partition by journey_touches.person_key) as last_touched_at
    from journey_touches
    left join person_last_conversions
        on journey_touches.person_key = person_last_conversions.person_key
    where
        person_last_conversions.last_converted_at is null
        or journey_touches.touched_at > person_last_conversions.last_converted_at

),

non_converting_touches as (

    select
        'person:' || person_key as path_id,
        cast(null as varchar) as conversion_id,
        touchpoint_id,
        person_key,
        channel,
        platform,
        campaign_id,
        touched_at,
        cast(null as timestamp with time zone) as converted_at,
        cast(null as decimal(18, 6)) as conversion_value,
        cast(null as timestamp with time zone) as lead_converted_at
    from touches_after_last_conversion
    where touched_at >= last_touched_at - to_hours({{ lookback_hours }})

),

path_touches as (

    select * from converting_touches
    union all
    select * from non_converting_touches

),

ordered as (

    select
        *,
        row_number() over (partition by path_id order by touched_at, touchpoint_id) - 1 as touch_index,
        -- a deal's lead-creating touch: the last one of its path at or before the lead's conversion
        case
            when
                lead_converted_at is not null
                and touched_at <= lead_converted_at
                and row_number() over (
                    partition by path_id, touched_at <= lead_converted_at
                    order by touched_at desc, touchpoint_id desc
                ) = 1
                then 'lead_creation'
        end as touch_role
    from path_touches

),

final as (

    select
        -- ids
        cast(path_id as varchar) as path_id,
        cast(conversion_id as varchar) as conversion_id,
        cast(touchpoint_id as varchar) as touchpoint_id,
        cast(person_key as varchar) as person_key,
        cast(campaign_id as varchar) as campaign_id,

        -- strings
        cast(channel as varchar) as channel,
        cast(platform as varchar) as platform,
        cast(channel || coalesce(':' || platform, '') as varchar) as attribution_channel,
        cast(touch_role as varchar) as touch_role,

        -- numerics
        cast(touch_index as integer) as touch_index,
        cast(conversion_value as double) as conversion_value,

        -- booleans
        cast(conversion_id is not null as boolean) as is_converting,

        -- timestamps
        cast(touched_at as timestamp with time zone) as touched_at,
        cast(converted_at as timestamp with time zone) as converted_at

    from ordered

)

select * from final
