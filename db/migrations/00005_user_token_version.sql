-- The version of a user's access tokens. Every access token carries the version current when it
-- was issued, and the api refuses a token whose version is no longer the user's: a change of
-- role or password increments it, which revokes every token issued before, without storing
-- tokens. Tokens issued before this column existed carry no version, which reads as 0.

-- +goose Up
ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN token_version;
