-- Groups (the `groups` scope and claim; imported from Django's auth_group
-- and auth_user_groups). A name is unique case-insensitively. Like every id
-- in 00001 there are no foreign keys: the store removes a user's or a
-- group's memberships when it deletes either.

-- +goose Up
CREATE TABLE groups (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX groups_name_lower_uq ON groups ((lower(name) COLLATE "C"));

CREATE TABLE group_members (
    group_id   text NOT NULL,
    user_id    text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

-- +goose Down
DROP TABLE group_members;
DROP TABLE groups;
