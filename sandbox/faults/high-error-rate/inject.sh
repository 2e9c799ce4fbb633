#!/usr/bin/env bash
# A schema change run by hand, outside the migrations: agents.name becomes display_name. A plain
# ALTER TABLE (not inside a DO block), so PostgreSQL's DDL log shows it as it would in production.
source "$(dirname "$0")/../lib.sh"
has_name=$(echo "select count(*) from information_schema.columns where table_name = 'agents' and column_name = 'name'" | sql)
if [ "$has_name" = 1 ]; then
  echo "ALTER TABLE agents RENAME COLUMN name TO display_name;" | sql
fi
note "agents.name renamed to agents.display_name"
