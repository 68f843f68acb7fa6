-- Groups (the `groups` scope and claim; imported from Django's auth_group
-- and auth_user_groups). name_lower is Go's strings.ToLower(name), unique,
-- as users.username_lower. No foreign keys (00001's convention): the store
-- removes a user's or a group's memberships when it deletes either.

-- +goose Up
CREATE TABLE groups (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX groups_name_lower_uq ON groups (name_lower);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

-- +goose Down
DROP TABLE group_members;
DROP TABLE groups;
