-- The device heartbeat writes devices.last_seen (and hostname/metadata, unchanged) every tick of
-- every agent: with 10,000 agents that is the most frequent write of the fleet. Until now each of
-- those UPDATEs ran two PL/pgSQL trigger functions (rbackup2_touch_updated_at, and
-- rbackup2_config_changed, which then found "nothing of the config changed"). A WHEN clause is
-- evaluated by the executor itself, before any function call: a heartbeat now fires no trigger.
-- Same rules as migration 004: the config marker ignores updated_at, last_seen, platform, hostname
-- and created_at (any other column, also one added later, is config); updated_at moves on every
-- real change but not on a heartbeat that only moves last_seen.

DROP TRIGGER devices_config_changed ON devices;
CREATE TRIGGER devices_config_changed AFTER UPDATE ON devices FOR EACH ROW
    WHEN ((to_jsonb(OLD) - ARRAY['updated_at', 'last_seen', 'platform', 'hostname', 'created_at'])
          IS DISTINCT FROM (to_jsonb(NEW) - ARRAY['updated_at', 'last_seen', 'platform', 'hostname', 'created_at']))
    EXECUTE FUNCTION rbackup2_config_changed();

DROP TRIGGER devices_touch ON devices;
CREATE TRIGGER devices_touch BEFORE UPDATE ON devices FOR EACH ROW
    WHEN ((to_jsonb(OLD) - ARRAY['updated_at', 'last_seen']) IS DISTINCT FROM (to_jsonb(NEW) - ARRAY['updated_at', 'last_seen']))
    EXECUTE FUNCTION rbackup2_touch_updated_at();
