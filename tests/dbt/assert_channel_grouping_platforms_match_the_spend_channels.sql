-- Every rule that names an ad platform gives it the channel its spend is reported under
-- (ad_platform_channels), so attribution divides a channel's spend by the same channel's touches.
with

rules as (

    select * from {{ ref('channel_grouping_rules') }}

),

platform_channels as (

    select * from {{ ref('ad_platform_channels') }}

),

final as (

    select
        rules.priority,
        rules.platform,
        rules.channel,
        platform_channels.channel as spend_channel
    from rules
    left join platform_channels
        on rules.platform = platform_channels.platform
    where
        rules.platform is not null
        and rules.channel is distinct from platform_channels.channel

)

select * from final
