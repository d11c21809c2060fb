{#- The marketing channel of a touch, from the ordered rules of the seed `channel_grouping_rules`: the
    first rule (lowest priority) whose every filled pattern matches wins; a blank pattern matches
    anything, `^$` requires the input to be blank. Patterns are regular expressions matched against
    the whole trimmed input, case-insensitively (`CPC` = `cpc`, `Paid-Social` matches
    `paid[-_ ]?social`); a NULL or blank input is matched as ''. The click id is matched by its
    parameter name. Pass the inputs qualified by their relation (`tagged.utm_source`): inside the
    subquery over the seed, a bare name the seed also has would mean the seed's column. Returns a
    struct {channel, platform, rule_priority}; when no rule matches (a seed without its catch-all
    row) the channel is `other`. Adding or reordering rules needs no SQL. -#}
{% macro channel_grouping(touch_source, click_id_type, utm_source, utm_medium, referrer_host) -%}
    {{ return(adapter.dispatch('channel_grouping', 'adlake')(
        touch_source, click_id_type, utm_source, utm_medium, referrer_host)) }}
{%- endmacro %}

{#- DuckDB's regexp_full_match with the `i` option; other engines need their own override. -#}
{% macro default__channel_grouping(touch_source, click_id_type, utm_source, utm_medium, referrer_host) -%}
    {%- set inputs = [
        ('touch_source_pattern', touch_source),
        ('click_id_pattern', click_id_type),
        ('utm_source_pattern', utm_source),
        ('utm_medium_pattern', utm_medium),
        ('referrer_host_pattern', referrer_host),
    ] -%}
    coalesce(
        (
            select
                arg_min(
                    struct_pack(
                        channel := channel_grouping_rules.channel,
                        platform := nullif(trim(channel_grouping_rules.platform), ''),
                        rule_priority := cast(channel_grouping_rules.priority as integer)
                    ),
                    channel_grouping_rules.priority
                )
            from {{ ref('channel_grouping_rules') }} as channel_grouping_rules
            where
                {%- for rule_column, input in inputs %}
                {{ 'and ' if not loop.first }}(
                    coalesce(channel_grouping_rules.{{ rule_column }}, '') = ''
                    or regexp_full_match(
                        trim(coalesce(cast({{ input }} as varchar), '')), channel_grouping_rules.{{ rule_column }}, 'i'
                    )
                )
                {%- endfor %}
        ),
        struct_pack(
            channel := 'other', platform := cast(null as varchar), rule_priority := cast(null as integer)
        )
    )
{%- endmacro %}
