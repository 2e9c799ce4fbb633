#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
sql <<'SQL'
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'agents' AND column_name = 'name') THEN
    ALTER TABLE agents RENAME COLUMN name TO display_name;
  END IF;
END $$;
SQL
note "agents.name renamed to agents.display_name"
