{#- The time zone of AppsFlyer's report times: the `appsflyer_report_timezone` var, else the time zone the
    connector requested (`SOURCES__APPSFLYER__TIMEZONE`), else UTC. Checked, because it lands in SQL text.
    Only read when dbt executes: parsing and the linter's templater get UTC. -#}
{% macro appsflyer_report_timezone() -%}
    {%- if execute -%}
        {%- set zone = var('appsflyer_report_timezone', env_var('SOURCES__APPSFLYER__TIMEZONE', 'UTC')) | trim -%}
        {%- if not modules.re.match('^[A-Za-z][A-Za-z0-9_+/-]*$', zone) -%}
            {{ exceptions.raise_compiler_error("appsflyer_report_timezone must be an IANA time zone name, not "
                ~ zone) }}
        {%- endif -%}
        {{- zone -}}
    {%- else -%}
        UTC
    {%- endif -%}
{%- endmacro %}
