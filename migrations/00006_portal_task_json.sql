-- +goose Up

-- A task's stored detail and progress become the portal's own versioned
-- JSON ({"version":1,"task":{...}}, {"version":1,"progress":{...}}), no
-- longer the SDK model's serialisation, so an SDK upgrade cannot change what
-- is stored or what the portal reads back. The answer as read from the
-- cloud is kept apart, as bytes, for display.
ALTER TABLE dr_tasks ADD COLUMN detail_raw bytea;

-- +goose StatementBegin
CREATE FUNCTION pg_temp.dr_side(x jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'id', COALESCE(x->>'id', ''), 'name', COALESCE(x->>'name', ''), 'az', COALESCE(x->>'cluster_az', ''),
        'role', COALESCE(x->>'role', ''), 'region', COALESCE(x->>'region', ''), 'status', COALESCE(x->>'status', ''),
        'progress', COALESCE(x->>'progress', ''), 'last_success_time', COALESCE(x->>'last_success_time', ''),
        'obs_bucket', COALESCE(x->>'obs_bucket_name', ''), 'datastore_type', COALESCE(x->>'datastore_type', ''),
        'datastore_version', COALESCE(x->>'datastore_version', ''), 'disk_capacity', COALESCE(x->>'disk_capacity', ''),
        'disk_used', COALESCE(x->>'disk_used', ''))
$$;
-- +goose StatementEnd

UPDATE dr_tasks SET
    detail_raw = convert_to(detail::text, 'UTF8'),
    detail = jsonb_build_object('version', 1, 'task', jsonb_build_object(
        'id', COALESCE(detail->>'id', id), 'name', COALESCE(detail->>'name', ''), 'status', COALESCE(detail->>'status', ''),
        'dr_type', COALESCE(detail->>'dr_type', ''), 'sync_period', COALESCE(detail->>'dr_sync_period', ''),
        'start_time', COALESCE(detail->>'start_time', ''), 'create_time', COALESCE(detail->>'create_time', ''),
        'primary', pg_temp.dr_side(COALESCE(detail->'primary_cluster', '{}')),
        'standby', pg_temp.dr_side(COALESCE(detail->'standby_cluster', '{}'))))
WHERE detail IS NOT NULL;

UPDATE dr_tasks SET progress = jsonb_build_object('version', 1, 'progress', jsonb_build_object(
        'rpo_seconds', COALESCE((progress->>'recovery_point_object')::bigint, 0),
        'rto_seconds', COALESCE((progress->>'recovery_time_object')::bigint, 0),
        'last_recovery_spend', COALESCE((progress->>'last_recovery_spend')::bigint, 0),
        'latest_barrier_time', COALESCE(progress->>'latest_barrier_time', ''),
        'primary_action', COALESCE(progress->'primary_cluster'->>'action_type', ''),
        'standby_action', COALESCE(progress->'standby_cluster'->>'action_type', ''),
        'unrestored_keys', COALESCE(progress->'standby_cluster'->>'unrestore_keys', '')))
WHERE progress IS NOT NULL;

-- +goose Down
-- The old format is the SDK's; the poller writes it again on its next read.
UPDATE dr_tasks SET detail = NULL, progress = NULL, detail_fetched_at = NULL, progress_fetched_at = NULL;
ALTER TABLE dr_tasks DROP COLUMN detail_raw;
