-- Accounts, the instance enterprise, Power-Ups and workspace extras. This file and its
-- PostgreSQL twin hold the same DDL. Uploaded bytes and export files live in the data
-- directory, never in the database.

-- Instance-wide settings, one row per name. The instance is one Trello enterprise: its
-- record (id, name, creation date) is kept under id 'enterprise', written on first use.
CREATE TABLE settings (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

-- A member's standing in the instance enterprise, keyed by member id. A member without a
-- row is a licensed, active, non-admin member. `admin` marks Cork administrators.
CREATE TABLE enterprise_members (
    id TEXT PRIMARY KEY,
    admin BIGINT NOT NULL DEFAULT 0,
    deactivated BIGINT NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX enterprise_members_admin ON enterprise_members (admin);

-- Power-Ups: board add-on records created by Cork administrators (Cork runs no
-- third-party Power-Up code), their per-locale listings, and where they are enabled.
CREATE TABLE plugins (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE plugin_listings (
    id TEXT PRIMARY KEY,
    plugin_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (plugin_id, locale)
);

-- A Power-Up enabled on a board (Trello's boardPlugin); once per board and plugin.
CREATE TABLE board_plugins (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (board_id, plugin_id)
);
CREATE INDEX board_plugins_plugin ON board_plugins (plugin_id);

-- Workspace exports: the job record; the JSON file sits in the data directory.
CREATE TABLE org_exports (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX org_exports_org ON org_exports (org_id, id);

-- Workspace tags (Trello's board collections); a name is used once per workspace.
CREATE TABLE org_tags (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Small per-member account state that is not part of the Member object (the one-time
-- messages a member dismissed); a row exists once something was stored.
CREATE TABLE member_settings (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
